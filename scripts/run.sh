#!/usr/bin/env bash
# `make run`: set up what is missing, build, and start Upcount (web and workers).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# Settings from .env, if there is one (see .env.example); the environment wins.
if [ -f .env ]; then
  while IFS='=' read -r key value; do
    case "$key" in ''|\#*) continue ;; esac
    if [ -z "${!key+x}" ]; then export "$key=$value"; fi
  done < .env
  ok "settings read from .env"
fi

"$ROOT/scripts/setup.sh" run

if [ -z "${DATABASE_URL:-}" ]; then
  server_url="$("$ROOT/scripts/db.sh" --create upcount)"
  DATABASE_URL="$("$ROOT/scripts/url.sh" "$server_url" upcount)"
  export DATABASE_URL
else
  ok "using DATABASE_URL"
fi

doing "building Upcount (cargo leptos build)"
cargo leptos build

export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export UPCOUNT_SITE_ROOT="${UPCOUNT_SITE_ROOT:-$ROOT/target/site}"
say ""
say "Upcount is starting on http://$LEPTOS_SITE_ADDR (Ctrl-C stops it)"
exec "$CARGO_TARGET_DIR/debug/upcount" serve
