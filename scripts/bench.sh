#!/usr/bin/env bash
# `make bench`: the benchmarks, in a release build; each writes its section of
# docs/benchmarks.md with the machine and the date. Not part of `make test`: figures on a
# shared machine are noisy, so they are medians of several runs, never pass/fail checks.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

UPCOUNT_TEST_DATABASE_URL="$("$ROOT/scripts/db.sh")"
export UPCOUNT_TEST_DATABASE_URL

doing "tracking engine: polling 100,000 sources and the sample writer (release build)"
cargo bench --locked -p upcount --bench tracking

ok "docs/benchmarks.md updated"
