#!/usr/bin/env bash
# Rewrites the README's provider tables from the provider registry (the test that checks
# them, run with UPDATE_DOCS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
UPDATE_DOCS=1 cargo test --locked -p upcount --test api contract::the_readme_lists_every_registered_provider -- --exact
echo "README.md's provider tables are the registry's."
