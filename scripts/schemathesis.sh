#!/usr/bin/env bash
# `scripts/schemathesis.sh [short|long]`: schemathesis (from PyPI, pinned, in a venv under
# ~/.cache/upcount/) tests every operation of /api/v1/openapi.json against a real
# `upcount serve` on loopback with a fresh database: no 5xx, and every answer's status,
# content type and body as the document says. `short` (in `make test`) tries a few
# examples per operation; `long` (`make schemathesis`) many more.
#
# Every upstream base URL points at 127.0.0.1:9 (nothing listens there) and private
# targets stay refused, so nothing the generated requests name is reached.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

mode="${1:-short}"
case "$mode" in
  short) examples=5 ;;
  long) examples=50 ;;
  *) die "usage: scripts/schemathesis.sh [short|long]" ;;
esac

version="4.32.5"
venv="$HOME/.cache/upcount/schemathesis-$version"
if [ -x "$venv/bin/st" ]; then
  ok "schemathesis $version already installed"
else
  doing "installing schemathesis $version (PyPI) into ${venv/#$HOME/~}"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

if [ "$mode" = long ] && [ -z "${UPCOUNT_BIN:-}" ]; then
  doing "building upcount"
  cargo build --locked -p upcount
fi
bin="${UPCOUNT_BIN:-$CARGO_TARGET_DIR/debug/upcount}"
[ -x "$bin" ] || die "no $bin: build it first (cargo build -p upcount)"

server_url="${UPCOUNT_TEST_DATABASE_URL:-$("$ROOT/scripts/db.sh")}"
name="upcount_st_$(date +%s)_$$"
psql "$server_url" -qc "CREATE DATABASE \"$name\"" >/dev/null
DATABASE_URL="$("$ROOT/scripts/url.sh" "$server_url" "$name")"
export DATABASE_URL
port="${UPCOUNT_SCHEMATHESIS_PORT:-3995}"
export LEPTOS_SITE_ADDR="127.0.0.1:$port"
export UPCOUNT_PUBLIC_URL="http://$LEPTOS_SITE_ADDR"
export UPCOUNT_SITE_ROOT="$ROOT/target/site"
for service in COINGECKO DOCKERHUB GITHUB HACKERNEWS HUGGINGFACE KAGGLE NPM PYPISTATS REDDIT \
  REDDIT_AUTH FINNHUB TWITCH TWITCH_AUTH WIKIMEDIA YOUTUBE; do
  export "UPCOUNT_${service}_API_URL=http://127.0.0.1:9"
done
export UPCOUNT_ALLOW_PRIVATE_TARGETS=false
# Whatever URL the generated requests name (a tracker's, a channel's, a sink's), the
# server's HTTP client sends it through this proxy, where nothing listens: no request
# leaves loopback. Only the server gets it (curl and schemathesis talk to the server).
proxy=http://127.0.0.1:9
unset NO_PROXY no_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
export UPCOUNT_PREVIEWS_PER_MIN=100000
unset UPCOUNT_SMTP_URL UPCOUNT_STRIPE_STANDIN STRIPE_SECRET_KEY

work="$(mktemp -d)"
log="$work/server.log"
HTTP_PROXY=$proxy HTTPS_PROXY=$proxy ALL_PROXY=$proxy "$bin" serve >"$log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  psql "$server_url" -qc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

base="http://$LEPTOS_SITE_ADDR"
for _ in $(seq 1 120); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; die "upcount serve stopped"; }
  sleep 0.5
done
curl -fsS "$base/readyz" >/dev/null || { cat "$log" >&2; die "upcount serve did not get ready"; }

email="schemathesis-$$@upcount.test"
"$bin" admin create-user --email "$email" </dev/null >/dev/null 2>&1
write_token="$("$bin" admin create-token --email "$email" --scope write 2>/dev/null | tail -n1)"
# One of each thing the operations take an id of, so that they reach their own logic
# instead of answering 404: a push source (with its tracker, a series and an event), a
# webhook channel, a rule, a share and a sink (their URLs are never reached).
api() {
  local method="$1" path="$2" body="$3" token="${4:-$write_token}"
  curl -fsS -X "$method" "$base$path" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "$body" \
    || die "seeding the test data: $method $path failed"
}
field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
made="$(api POST /api/v1/push-sources '{"name": "schemathesis"}')"
push_token="$(field '["push_source"]["token"]' <<<"$made")"
push_source="$(field '["push_source"]["id"]' <<<"$made")"
tracker="$(field '["push_source"]["tracker_id"]' <<<"$made")"
api POST /api/v1/push '[{"metric": "signups", "value": 3}]' "$push_token" >/dev/null
api POST /api/v1/events '[{"type": "signed_up"}]' "$push_token" >/dev/null
made="$(api POST /api/v1/channels '{"kind": "webhook", "url": "https://hooks.example.com/upcount"}')"
channel="$(field '["channel"]["id"]' <<<"$made")"
made="$(api POST "/api/v1/trackers/$tracker/alerts" \
  "{\"metric\": \"signups\", \"condition\": \"above\", \"value\": 10, \"channels\": [\"$channel\"]}")"
alert="$(field '["alert"]["id"]' <<<"$made")"
api POST "/api/v1/trackers/$tracker/share" '{}' >/dev/null
made="$(api POST /api/v1/sinks '{"kind": "graphite", "address": "carbon.example.com:2003"}')"
sink="$(field '["sink"]["id"]' <<<"$made")"
# The deletes get their own, so the other operations keep theirs.
doomed_tracker="$(api POST /api/v1/push-sources '{"name": "doomed tracker"}' | field '["push_source"]["tracker_id"]')"
doomed_push_source="$(api POST /api/v1/push-sources '{"name": "doomed source"}' | field '["push_source"]["id"]')"
doomed_channel="$(api POST /api/v1/channels '{"kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/x"}' | field '["channel"]["id"]')"
doomed_alert="$(api POST "/api/v1/trackers/$tracker/alerts" \
  '{"metric": "signups", "condition": "below", "value": 1}' | field '["alert"]["id"]')"
doomed_sink="$(api POST /api/v1/sinks '{"kind": "graphite", "address": "doomed.example.com:2003"}' | field '["sink"]["id"]')"

cat >"$work/schemathesis.toml" <<TOML
[auth.openapi.api_token]
bearer = "$write_token"

[auth.openapi.basic_token]
username = "schemathesis"
password = "$write_token"

[auth.openapi.push_token]
bearer = "$push_token"

[auth.openapi.push_basic]
username = "schemathesis"
password = "$push_token"

# "Send a test" answers 502 when the far end does not take it, as the document says (the
# URLs here lead nowhere): that is the answer these two owe, not a server error.
[[operations]]
include-path-regex = '^/api/v1/channels/\{id\}/test$'
parameters = { "path.id" = "$channel" }
checks = { not_a_server_error = { expected-statuses = ["2XX", "4XX", 502] } }

[[operations]]
include-path-regex = '^/api/v1/sinks/\{id\}/test$'
parameters = { "path.id" = "$sink" }
checks = { not_a_server_error = { expected-statuses = ["2XX", "4XX", 502] } }

TOML

# Each kind's operations on `{id}` take the one made above; its delete takes the spare.
# (Schemathesis applies the first `[[operations]]` entry that matches.)
for kind in trackers:tracker push-sources:push_source channels:channel alerts:alert sinks:sink; do
  path="${kind%%:*}" spare="doomed_${kind#*:}"
  cat >>"$work/schemathesis.toml" <<TOML

[[operations]]
include-path-regex = '^/api/v1/$path/\{id\}$'
include-method = "DELETE"
parameters = { "path.id" = "${!spare}" }
TOML
done
for kind in trackers:tracker push-sources:push_source channels:channel alerts:alert sinks:sink; do
  path="${kind%%:*}" var="${kind#*:}"
  cat >>"$work/schemathesis.toml" <<TOML

[[operations]]
include-path-regex = '^/api/v1/$path/\{id\}'
parameters = { "path.id" = "${!var}" }
TOML
done

doing "schemathesis ($mode: $examples examples an operation) against $base/api/v1/openapi.json"
# From the scratch folder, where schemathesis keeps its cache.
(cd "$work" && "$venv/bin/st" --no-color --config-file "$work/schemathesis.toml" run "$base/api/v1/openapi.json" \
  --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$examples" \
  --workers 1 \
  --request-timeout 10 \
  --seed 1 2>&1) || { tail -n 50 "$log" >&2; die "schemathesis found answers that do not match the API document"; }
ok "schemathesis: every answer matched the API document"
