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
upcount="$CARGO_TARGET_DIR/debug/upcount"
"$upcount" migrate

# An administrator for this database, made on the first start; its password is kept in
# .data/ (git-ignored) so every start can say how to sign in.
admin_email="${UPCOUNT_DEV_ADMIN_EMAIL:-admin@upcount.local}"
credentials="$ROOT/.data/admin-credentials"
mkdir -p "$ROOT/.data"
saved_for="$(sed -n 's/^database=//p' "$credentials" 2>/dev/null || true)"
if [ "$saved_for" != "$DATABASE_URL" ]; then
  set +e
  password="$("$upcount" admin create-user --email "$admin_email" --admin </dev/null 2>/dev/null)"
  status=$?
  if [ $status -eq 3 ]; then
    # The admin exists but its password was not saved here: set a new one.
    password="$("$upcount" admin set-password --email "$admin_email" </dev/null 2>/dev/null)"
    status=$?
  fi
  set -e
  [ $status -eq 0 ] || die "could not create the administrator $admin_email"
  (umask 077 && printf 'database=%s\nemail=%s\npassword=%s\n' "$DATABASE_URL" "$admin_email" "$password" >"$credentials")
  doing "created the administrator $admin_email"
fi
admin_password="$(sed -n 's/^password=//p' "$credentials")"

# A secret key for json sources' secret headers, made once and kept in .data/.
if [ -z "${UPCOUNT_SECRET_KEY:-}" ]; then
  key_file="$ROOT/.data/secret-key"
  if [ ! -s "$key_file" ]; then
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$key_file")
    doing "made a secret key in .data/secret-key"
  fi
  UPCOUNT_SECRET_KEY="$(cat "$key_file")"
  export UPCOUNT_SECRET_KEY
fi

# Without Stripe keys, payments go to the built-in stand-in (never in production: there,
# without STRIPE_SECRET_KEY, billing is off).
if [ -z "${STRIPE_SECRET_KEY:-}" ]; then
  export UPCOUNT_STRIPE_STANDIN="${UPCOUNT_STRIPE_STANDIN:-true}"
fi

public_url="${UPCOUNT_PUBLIC_URL:-http://$LEPTOS_SITE_ADDR}"
say ""
say "Upcount is starting on $public_url (Ctrl-C stops it)"
say "Sign in at $public_url/sign-in as $admin_email with the password $admin_password"
say "(saved in .data/admin-credentials)"
if [ -n "${UPCOUNT_SMTP_URL:-}" ]; then
  # Never the password: user:***@host.
  say "Email goes to $(printf '%s' "$UPCOUNT_SMTP_URL" | sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:***@#')"
else
  say "Email is not sent (no UPCOUNT_SMTP_URL): it goes to the log and the admin console's outbox at $public_url/admin/outbox"
fi
exec "$upcount" serve
