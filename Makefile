# The two commands of the README. Both set up whatever is missing and are safe to rerun.
.PHONY: run test bench docs schemathesis fuzz help

help:
	@echo "make run   build and start Upcount on http://127.0.0.1:3000"
	@echo "make test  run every check and test (fmt, clippy, Rust, Playwright)"
	@echo "make bench run the benchmarks and write docs/benchmarks.md"
	@echo "make docs  rewrite the README's provider tables from the provider registry"
	@echo "make schemathesis  test the REST API against its OpenAPI document at length"
	@echo "make fuzz  run each cargo fuzz target for FUZZ_SECS seconds (default 60)"

run:
	@scripts/run.sh

test:
	@scripts/test.sh

bench:
	@scripts/bench.sh

docs:
	@scripts/docs.sh

schemathesis:
	@scripts/setup.sh test
	@scripts/schemathesis.sh long

fuzz:
	@scripts/fuzz.sh
