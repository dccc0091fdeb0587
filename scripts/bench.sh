#!/usr/bin/env bash
# `make bench`: the benchmarks, in a release build; each writes its section of
# docs/benchmarks.md with the machine and the date. Not part of `make test`: figures on a
# shared machine are noisy, so they are medians of several runs, never pass/fail checks.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

UPCOUNT_TEST_DATABASE_URL="$("$ROOT/scripts/db.sh")"
export UPCOUNT_TEST_DATABASE_URL

# `make bench` runs both; `scripts/bench.sh charts` (or `tracking`) one of them.
only="${1:-all}"

if [ "$only" = all ] || [ "$only" = tracking ]; then
  doing "tracking engine: polling 100,000 sources and the sample writer (release build)"
  cargo bench --locked -p upcount --bench tracking
fi

if [ "$only" = all ] || [ "$only" = charts ]; then
  doing "charts: a year of minutes, time to chart, bundle size (release site)"
  "$ROOT/scripts/setup.sh" test
  cargo leptos build --release
  cargo bench --locked -p upcount --bench charts
fi

ok "docs/benchmarks.md updated"
