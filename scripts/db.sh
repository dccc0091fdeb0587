#!/usr/bin/env bash
# Finds (or starts) a PostgreSQL server for `make run` and `make test`, and prints the
# URL of its maintenance database (`.../postgres`) on standard output; progress goes to
# standard error.
#
#   1. DATABASE_URL, when set, names the server to use.
#   2. Otherwise a PostgreSQL on 127.0.0.1:5432 that lets this user in.
#   3. Otherwise a project-local cluster in .data/postgres (git-ignored), on port
#      UPCOUNT_LOCAL_PG_PORT (5433), made with the machine's PostgreSQL binaries;
#      Debian's `postgresql` package is installed when they are missing.
#
# `db.sh --create NAME` also creates database NAME when it is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
exec 3>&1 1>&2 # keep standard output for the URL

create=""
if [ "${1:-}" = "--create" ]; then create="${2:?--create needs a database name}"; fi
user="$(id -un)"
probe_host="${UPCOUNT_PG_PROBE_HOST:-127.0.0.1}"
probe_port="${UPCOUNT_PG_PROBE_PORT:-5432}"
local_port="${UPCOUNT_LOCAL_PG_PORT:-5433}"

answers() { (exec 4<>"/dev/tcp/$1/$2") 2>/dev/null; }

if [ -n "${DATABASE_URL:-}" ]; then
  # Same server, maintenance database (any query string is kept).
  base="${DATABASE_URL%%\?*}"; query="${DATABASE_URL#"$base"}"
  server_url="${base%/*}/postgres$query"
  ok "using the PostgreSQL server of DATABASE_URL"
elif answers "$probe_host" "$probe_port" &&
     psql "postgres://$user@$probe_host:$probe_port/postgres" -qtAc 'select 1' >/dev/null 2>&1; then
  server_url="postgres://$user@$probe_host:$probe_port/postgres"
  ok "using the PostgreSQL server on $probe_host:$probe_port"
else
  data="$ROOT/.data/postgres"
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  if [ -z "$pg_bin" ]; then
    doing "installing Debian's postgresql package for a project-local database"
    apt_install postgresql
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  fi
  # PostgreSQL refuses to run as root: then the cluster belongs to the `postgres` user.
  as_owner=()
  if [ "$(id -u)" -eq 0 ]; then as_owner=(runuser -u postgres --); fi
  if [ ! -f "$data/PG_VERSION" ]; then
    doing "creating a project-local PostgreSQL cluster in .data/postgres"
    mkdir -p "$data"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$ROOT/.data"; fi
    "${as_owner[@]}" "$pg_bin/initdb" -D "$data" --auth=trust --username="$user" --encoding=UTF8 >/dev/null ||
      die "initdb failed; is $data reachable by the postgres user? Set DATABASE_URL to use another server."
  fi
  if answers 127.0.0.1 "$local_port"; then
    ok "project-local PostgreSQL already running on 127.0.0.1:$local_port"
  else
    doing "starting the project-local PostgreSQL on 127.0.0.1:$local_port"
    "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $local_port -c listen_addresses=127.0.0.1 -k $data" start >/dev/null ||
      die "could not start PostgreSQL (see .data/postgres/server.log)"
  fi
  server_url="postgres://$user@127.0.0.1:$local_port/postgres"
fi

if [ -n "$create" ]; then
  exists="$(psql "$server_url" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$create'")" ||
    die "could not connect to the PostgreSQL server"
  if [ "$exists" = 1 ]; then
    ok "database $create already exists"
  else
    doing "creating database $create"
    psql "$server_url" -qc "CREATE DATABASE \"$create\"" >/dev/null
  fi
fi

printf '%s\n' "$server_url" >&3
