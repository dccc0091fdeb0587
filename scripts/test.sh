#!/usr/bin/env bash
# `make test`: every check and test, from formatting to the browser suite.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh" test

UPCOUNT_TEST_DATABASE_URL="$("$ROOT/scripts/db.sh")"
export UPCOUNT_TEST_DATABASE_URL

doing "cargo fmt --check"
cargo fmt --all -- --check
# Provider files are listed by a build script (include!), which rustfmt does not follow.
rustfmt --edition 2024 --check app/src/server/tracking/providers/*.rs

doing "checked SQL: the query cache in .sqlx/ matches the queries and the migrations"
"$ROOT/scripts/sqlx.sh" check

doing "clippy, server build (ssr)"
cargo clippy --locked -p upcount -p app --features app/ssr --all-targets -- -D warnings

doing "clippy, browser build (hydrate, wasm32)"
cargo clippy --locked -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown --all-targets -- -D warnings

doing "building the site (cargo leptos build)"
cargo leptos build

doing "Rust unit and integration tests"
cargo test --locked -p upcount -p app --features app/ssr

export UPCOUNT_BIN="$CARGO_TARGET_DIR/debug/upcount"

doing "the REST API against its OpenAPI document (schemathesis, short)"
"$ROOT/scripts/schemathesis.sh" short

doing "browser tests (Playwright, Chromium)"
(cd end2end && npx playwright test)

ok "all tests passed"
