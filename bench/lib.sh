# shellcheck shell=bash
# Shared by the bench scripts (sourced, with REPO set and the working directory at REPO):
#   bench_runs DEFAULT   RUNS from BENCH_RUNS (else DEFAULT), a positive integer
#   bench_wasipack       WASIPACK as given, else the release binary built here
# and PYTHONPATH naming bench/, for bench/pairs.py (no bytecode written into the checkout).

bench_runs() {
	RUNS=${BENCH_RUNS:-$1}
	[[ $RUNS =~ ^[1-9][0-9]*$ ]] || {
		echo "bench: BENCH_RUNS must be a positive integer, got '$RUNS'" >&2
		exit 1
	}
}

bench_wasipack() {
	if [[ -z ${WASIPACK:-} ]]; then
		echo "building the release binary..." >&2
		cargo build --release --locked --quiet --bin wasipack
		WASIPACK=$REPO/target/release/wasipack
	fi
}

export PYTHONPATH="$REPO/bench${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
