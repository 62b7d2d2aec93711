#!/usr/bin/env bash
# Benchmarks `wasipack push` against `oras push` of the same large Go wasip1 module to the
# same local registry (`crane registry serve` on 127.0.0.1), in the same run, interleaved:
#   1. `wasipack push FILE.wasm` (the module hashed, packaged and pushed) vs `oras push` of the
#      file;
#   2. `wasipack push` of the artifact as `build` leaves it, an OCI layout whose blobs are named
#      by their digests (the blobs' digests checked while they upload) vs the same `oras push`:
#      the push step of each pipeline, after `wasipack build` and after `go build`;
#   3. a re-push of the same artifact.
#
#   bench/push.sh
#   env: BENCH_RUNS (default 7), WASIPACK (default target/release/wasipack)
#
# Target: a re-push of the same artifact <= 0.2 s. The ratios to `oras push` are for information:
# the ship step as a whole (bench/ship.sh) is what is held to a target now (issue 12).
# Each run pushes fresh copies of the module (a unique custom section appended), so neither
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

wp_times=() oras_times=() re_times=() layout_times=()
size=$(stat -c %s "$INPUT")
echo "input: $INPUT ($size bytes); registry: crane registry serve on $HOST; runs: $RUNS" >&2
# Every copy is written before the first timed push, and flushed, so that no push competes
# with the disk writing back the copies.
for i in $(seq 0 "$RUNS"); do
	mkdir -p "$WORK/a$i" "$WORK/b$i" "$WORK/c$i"
	variant "wp$i" "$WORK/a$i/module.wasm"
	variant "oras$i" "$WORK/b$i/module.wasm"
	variant "layout$i" "$WORK/c$i/module.wasm"
	"$WASIPACK" push "$WORK/c$i/module.wasm" "oci-layout:$WORK/c$i/oci:1" >/dev/null 2>&1 || die "packaging a layout failed"
done
sync
for i in $(seq 0 "$RUNS"); do
	a=$WORK/a$i/module.wasm b=$WORK/b$i/module.wasm
	t0=$(now)
	"$WASIPACK" push "$a" "$HOST/bench/wp$i:1" >/dev/null 2>&1 || die "wasipack push failed"
	tl=$(now)
	"$WASIPACK" push "oci-layout:$WORK/c$i/oci:1" "$HOST/bench/layout$i:1" >/dev/null 2>&1 || die "wasipack push of a layout failed"
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
	wp_times+=("$(python3 -c "print($tl-$t0)")")
	layout_times+=("$(python3 -c "print($t1-$tl)")")
	oras_times+=("$(python3 -c "print($t2-$t1)")")
	re_times+=("$(python3 -c "print($t3-$t2)")")
done
python3 - "${wp_times[*]}" "${oras_times[*]}" "${re_times[*]}" "${layout_times[*]}" <<'PY'
import statistics, sys
wp, oras, re_, lay = ([float(x) for x in s.split()] for s in sys.argv[1:5])
m = statistics.median
m_wp, m_or, m_re, m_lay = m(wp), m(oras), m(re_), m(lay)
print(f"wasipack push FILE.wasm     median {m_wp:.3f} s  (min {min(wp):.3f})")
print(f"wasipack push of a layout   median {m_lay:.3f} s  (min {min(lay):.3f})")
print(f"oras push FILE.wasm         median {m_or:.3f} s  (min {min(oras):.3f})")
print(f"ratio wasipack/oras, the file:   {m_wp/m_or:.2f}")
print(f"ratio wasipack/oras, the layout: {m_lay/m_or:.2f}")
print(f"re-push                     median {m_re:.3f} s  (target <= 0.20)")
PY
