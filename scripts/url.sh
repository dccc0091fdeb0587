#!/usr/bin/env bash
# url.sh SERVER_URL NAME: the URL of database NAME on the server of SERVER_URL.
set -euo pipefail
base="${1%%\?*}"; query="${1#"$base"}"
printf '%s/%s%s\n' "${base%/*}" "$2" "$query"
