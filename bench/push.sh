#!/usr/bin/env bash
# Benchmarks `wasipack push` against `oras push` of the same large Go wasip1 module to the
# same local registry (`crane registry serve` on 127.0.0.1), in the same run, interleaved.
#
#   bench/push.sh
#   env: BENCH_RUNS (default 7), WASIPACK (default target/release/wasipack)
#
# Targets: wasipack push median <= 0.8 x oras push; a re-push of the same artifact <= 0.2 s.
# Each run pushes a fresh copy of the module (a unique custom section appended), so neither
# tool finds its blobs already in the registry.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
RUNS=${BENCH_RUNS:-7}
WASIPACK=${WASIPACK:-$REPO/target/release/wasipack}
ORAS=$REPO/.tools/bin/oras
CRANE=$REPO/.tools/bin/crane
die() {
	echo "bench: $*" >&2
	exit 1
}
[[ -x $WASIPACK ]] || die "$WASIPACK not found: cargo build --release first"
[[ -x $ORAS && -x $CRANE ]] || die "oras/crane missing: bash scripts/install-tools.sh"

# shellcheck source=bench/registry-lib.sh
source "$REPO/bench/registry-lib.sh"
echo '{"architecture":"wasm","os":"wasip1"}' >"$WORK/config.json"

wp_times=() oras_times=() re_times=()
size=$(stat -c %s "$INPUT")
echo "input: $INPUT ($size bytes); registry: crane registry serve on $HOST; runs: $RUNS" >&2
# Every copy is written before the first timed push, and flushed, so that no push competes
# with the disk writing back the copies.
for i in $(seq 0 "$RUNS"); do
	mkdir -p "$WORK/a$i" "$WORK/b$i"
	variant "wp$i" "$WORK/a$i/module.wasm"
	variant "oras$i" "$WORK/b$i/module.wasm"
done
sync
for i in $(seq 0 "$RUNS"); do
	a=$WORK/a$i/module.wasm b=$WORK/b$i/module.wasm
	t0=$(now)
	"$WASIPACK" push "$a" "$HOST/bench/wp$i:1" >/dev/null 2>&1 || die "wasipack push failed"
	t1=$(now)
	cd "$(dirname "$b")" # oras names the layer after the path it is given
	"$ORAS" push --plain-http --disable-path-validation \
		--config "$WORK/config.json:application/vnd.wasm.config.v0+json" \
		"$HOST/bench/oras$i:1" "module.wasm:application/wasm" >/dev/null 2>&1 || die "oras push failed"
	t2=$(now)
	cd "$REPO"
	"$WASIPACK" push "$a" "$HOST/bench/wp$i:1" >/dev/null 2>&1 || die "wasipack re-push failed"
	t3=$(now)
	if ((i == 0)); then continue; fi # warm-up
	wp_times+=("$(python3 -c "print($t1-$t0)")")
	oras_times+=("$(python3 -c "print($t2-$t1)")")
	re_times+=("$(python3 -c "print($t3-$t2)")")
done
python3 - "${wp_times[*]}" "${oras_times[*]}" "${re_times[*]}" <<'PY'
import statistics, sys
wp, oras, re_ = ([float(x) for x in s.split()] for s in sys.argv[1:4])
m_wp, m_or, m_re = statistics.median(wp), statistics.median(oras), statistics.median(re_)
print(f"wasipack push   median {m_wp:.3f} s  (min {min(wp):.3f})")
print(f"oras push       median {m_or:.3f} s  (min {min(oras):.3f})")
print(f"ratio wasipack/oras: {m_wp/m_or:.2f}  (target <= 0.80)")
print(f"re-push         median {m_re:.3f} s  (target <= 0.20)")
PY
