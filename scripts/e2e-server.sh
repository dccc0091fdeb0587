#!/usr/bin/env bash
# Started by Playwright (end2end/playwright.config.ts): runs the built `upcount serve`
# against a fresh database on the test server.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

server_url="${UPCOUNT_TEST_DATABASE_URL:-$("$ROOT/scripts/db.sh")}"
# Databases left by earlier runs.
for old in $(psql "$server_url" -qtAc "SELECT datname FROM pg_database WHERE datname LIKE 'upcount\_e2e\_%'"); do
  psql "$server_url" -qc "DROP DATABASE IF EXISTS \"$old\" WITH (FORCE)" >/dev/null
done
name="upcount_e2e_$(date +%s)_$$"
psql "$server_url" -qc "CREATE DATABASE \"$name\"" >/dev/null

DATABASE_URL="$("$ROOT/scripts/url.sh" "$server_url" "$name")"
export DATABASE_URL
export LEPTOS_SITE_ADDR="127.0.0.1:${E2E_PORT:-3999}"
export UPCOUNT_PUBLIC_URL="http://$LEPTOS_SITE_ADDR"
export UPCOUNT_SITE_ROOT="$ROOT/target/site"
# Upstream APIs: the stand-in Playwright starts (end2end/standin.mjs), on loopback.
standin="http://127.0.0.1:${E2E_STANDIN_PORT:-3998}"
export UPCOUNT_GITHUB_API_URL="$standin/github"
export UPCOUNT_HACKERNEWS_API_URL="$standin/hn"
export UPCOUNT_NPM_API_URL="$standin/npm"
export UPCOUNT_YOUTUBE_API_URL="$standin/youtube"
export UPCOUNT_YOUTUBE_API_KEY=e2e-youtube-key
export UPCOUNT_TWITCH_API_URL="$standin/twitch"
export UPCOUNT_TWITCH_AUTH_API_URL="$standin/twitch_auth"
export UPCOUNT_TWITCH_CLIENT_ID=e2e-twitch-client
export UPCOUNT_TWITCH_CLIENT_SECRET=e2e-twitch-secret
# Email goes to the stand-in's SMTP mailbox (end2end/mailbox.mjs); tests read it back.
export UPCOUNT_SMTP_URL="smtp://127.0.0.1:${E2E_SMTP_PORT:-3997}"
export UPCOUNT_EMAIL_FROM="Upcount <alerts@upcount.test>"
# Payments through the built-in Stripe stand-in.
export UPCOUNT_STRIPE_STANDIN=true
# JSON APIs in the browser tests are the stand-in's own, on loopback.
export UPCOUNT_ALLOW_PRIVATE_TARGETS=true
# The stand-in has no request budget; the live previews would use up GitHub's 60 an hour.
export UPCOUNT_GITHUB_RATE_PER_MIN=100000
export UPCOUNT_HACKERNEWS_RATE_PER_MIN=100000
export UPCOUNT_NPM_RATE_PER_MIN=100000
export UPCOUNT_YOUTUBE_RATE_PER_MIN=100000
export UPCOUNT_TWITCH_RATE_PER_MIN=100000
export UPCOUNT_JSON_RATE_PER_MIN=100000
# The add form previews as one types; the throttle is tested in the Rust suite.
export UPCOUNT_PREVIEWS_PER_MIN=100000
bin="${UPCOUNT_BIN:-$CARGO_TARGET_DIR/debug/upcount}"
# Where the tests find the database and the binary, to seed history with
# `upcount admin import-samples` (end2end/tests/helpers.ts).
printf '{"database_url":"%s","bin":"%s"}\n' "$DATABASE_URL" "$bin" >"$ROOT/end2end/.e2e-state.json"
exec "$bin" serve
