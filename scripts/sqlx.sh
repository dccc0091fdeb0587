#!/usr/bin/env bash
# Checked SQL: the `sqlx::query!` family checks every static query against a database
# migrated to `migrations/` while it compiles; builds read the committed cache in `.sqlx/`
# instead (SQLX_OFFLINE=true in .cargo/config.toml).
#
#   scripts/sqlx.sh prepare   rewrite .sqlx/ after changing a query or a migration
#   scripts/sqlx.sh check     fail when .sqlx/ is out of step (part of `make test`)
#   scripts/sqlx.sh url       print the URL of the migrated database, for editing queries
#                             with SQLX_OFFLINE=false DATABASE_URL=… cargo check
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mode="${1:?usage: scripts/sqlx.sh prepare|check|url}"

# A database of its own, rebuilt from the migrations every time (a second or two), so an
# edited migration never leaves it behind. UPCOUNT_SQLX_DB names another one, for a second
# checkout working at the same time.
name="${UPCOUNT_SQLX_DB:-upcount_sqlx}"
server_url="$("$ROOT/scripts/db.sh")"
psql "$server_url" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
psql "$server_url" -qc "CREATE DATABASE $name" >/dev/null
base="${server_url%%\?*}"; query="${server_url#"$base"}"
export DATABASE_URL="${base%/*}/$name$query"
# apalis-postgres's own migrations first (the job queue's tables, which a few queries
# read), then ours, as the server applies them at start-up.
apalis_manifest="$(cargo metadata --format-version 1 --locked |
  python3 -c 'import json, sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "apalis-postgres"))')"
cargo sqlx migrate run --source "$(dirname "$apalis_manifest")/migrations" >/dev/null
cargo sqlx migrate run --ignore-missing --source migrations >/dev/null

# The queries live in the server build of `app` and in `upcount`.
check_args=(-- --locked -p upcount -p app --features app/ssr --all-targets)
case "$mode" in
  prepare) SQLX_OFFLINE=false cargo sqlx prepare --workspace "${check_args[@]}" ;;
  check)   SQLX_OFFLINE=false cargo sqlx prepare --workspace --check "${check_args[@]}" ;;
  url)     printf '%s\n' "$DATABASE_URL" ;;
  *)       die "unknown mode $mode: use prepare, check or url" ;;
esac
