#!/usr/bin/env bash
# `make fuzz`: runs every cargo fuzz (libFuzzer) target in fuzz/ for FUZZ_SECS seconds
# (default 60) each, from its committed seed corpus (fuzz/corpus/<target>/), and stops at
# the first crash (its input is kept in fuzz/artifacts/<target>/). FUZZ_TARGETS names a
# subset (space-separated). Needs the nightly toolchain; installs cargo-fuzz from crates.io.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"

secs="${FUZZ_SECS:-60}"
rustup toolchain list | grep -q '^nightly' ||
  die "cargo fuzz needs the nightly toolchain (rustup toolchain install nightly)"
if ! command -v cargo-fuzz >/dev/null; then
  doing "installing cargo-fuzz (crates.io)"
  cargo install --locked cargo-fuzz >/tmp/upcount-cargo-fuzz.log 2>&1 ||
    die "could not install cargo-fuzz (see /tmp/upcount-cargo-fuzz.log)"
fi
# Nightly artifacts apart from the stable ones; the app's checked SQL from the cache.
export CARGO_TARGET_DIR="$HOME/.cache/upcount/fuzz-target"
export SQLX_OFFLINE=true SQLX_OFFLINE_DIR="$ROOT/.sqlx"

targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
for target in $targets; do
  mkdir -p "corpus/$target"
  doing "fuzzing $target for ${secs}s"
  # The corpus grows in a scratch copy: the committed seeds stay small.
  work="$CARGO_TARGET_DIR/corpus/$target"
  mkdir -p "$work"
  cargo +nightly fuzz run --sanitizer none "$target" "$work" "corpus/$target" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    2>&1 | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+== ERROR|SUMMARY|Done)' || true
  # cargo fuzz exits non-zero on a crash: PIPESTATUS keeps it through the filter.
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "$target crashed: see fuzz/artifacts/$target/"
  ok "$target: no crash in ${secs}s"
done
