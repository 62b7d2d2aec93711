# shellcheck shell=bash
# Shared by bench/ship.sh and bench/verify.sh (sourced after bench/registry-lib.sh, not run):
# the peer tools, one signing key in both forms, `build` outputs to push, interleaved timing of
# several sides and their medians.
# Expects REPO, WASIPACK, WORK, INPUT (from registry-lib.sh); sets COSIGN, ORAS, WASM_TOOLS.

COSIGN=$REPO/.tools/bin/cosign2
ORAS=$REPO/.tools/bin/oras
WASM_TOOLS=$REPO/.tools/bin/wasm-tools
for tool in "$COSIGN" "$ORAS" "$WASM_TOOLS"; do
	[[ -x $tool ]] || die "$tool missing: bash scripts/install-tools.sh"
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$RUNS'"
# Each side's binary, checked once; WASIPACK_B (another build, for an A/B comparison) is
# optional.
# shellcheck disable=SC2153 # WASIPACK is set by the script that sources this
[[ -x $WASIPACK ]] || die "$WASIPACK not found: cargo build --release first"
[[ -z ${WASIPACK_B:-} || -x ${WASIPACK_B:-} ]] || die "WASIPACK_B=$WASIPACK_B is not an executable"

# One P-256 key in the two forms the tools take: cosign's key file (scrypt-encrypted, here
# with the empty password: COSIGN_PASSWORD=""), which both wasipack and cosign read, and the
# same key unencrypted (PKCS#8), which cosign does not read.
export COSIGN_PASSWORD=""
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/plain.key" 2>/dev/null
"$COSIGN" import-key-pair --key "$WORK/plain.key" --output-key-prefix "$WORK/cosign" >/dev/null 2>&1 ||
	die "cosign import-key-pair failed"
# shellcheck disable=SC2034 # used by the scripts that source this
KEY=$WORK/cosign.key PUB=$WORK/cosign.pub PLAIN_KEY=$WORK/plain.key
echo '{"architecture":"wasm","os":"wasip1"}' >"$WORK/config.json"

load() { cut -d' ' -f1-3 /proc/loadavg; }

# hello_dists DIR N: N `wasipack build` outputs of the bundled example (examples/hello), in
# DIR/0 ... DIR/N-1, each holding its own module (a string set with -ldflags -X) so that no
# push finds its blobs already in the registry. Each is a `dist/` as the quick start leaves it:
# the module, its SBOMs, report.json and the OCI layout (unsigned).
hello_dists() {
	local dir=$1 n=$2 src=$WORK/hello-src i
	if [[ ! -d $src ]]; then
		cp -r "$REPO/examples/hello" "$src"
		rm -rf "$src/dist"
		cat >"$src/bench_run.go" <<'GO'
package main

// benchRun is set by the benchmark (-ldflags -X) so that each build is a distinct module.
var benchRun string

func init() {
	if benchRun == "-" {
		println(benchRun)
	}
}
GO
	fi
	for ((i = 0; i < n; i++)); do
		(cd "$src" && WASIPACK_CACHE=$WORK/cache "$WASIPACK" build . -o "$dir/$i" \
			--ldflags "-X main.benchRun=${dir##*/}-$i" >/dev/null 2>&1) ||
			die "wasipack build of examples/hello failed"
	done
}

# nethttp_dists DIR N: N outputs of the post-build pipeline (what `wasipack build` does after
# the compiler: strip, check, SBOMs, OCI layout; examples/post_build.rs) for copies of the
# large module, each with its own custom section (registry-lib.sh's `variant`).
nethttp_dists() {
	local dir=$1 n=$2 i
	local post_build=$REPO/target/release/examples/post_build list=$REPO/bench/out/net_http.go-list.json
	[[ -x $post_build ]] || die "$post_build not found: cargo build --release --example post_build"
	if [[ ! -s $list ]]; then
		GOOS=wasip1 GOARCH=wasm go list -deps -json=ImportPath,Standard,Module net/http >"$list.tmp"
		mv -f "$list.tmp" "$list"
	fi
	for ((i = 0; i < n; i++)); do
		variant "${dir##*/}-$i" "$WORK/module.wasm"
		"$post_build" "$WORK/module.wasm" "$list" "$dir/$i" >/dev/null 2>&1 || die "post_build failed"
	done
	rm -f "$WORK/module.wasm"
}

# dists NAME DIR N: N outputs for the input NAME (hello or nethttp). Prints the module's name in
# them (its file is DIR/I/MODULE.wasm, its SPDX SBOM DIR/I/MODULE.spdx.json).
dists() {
	case $1 in
	hello) hello_dists "$2" "$3" ;;
	nethttp) nethttp_dists "$2" "$3" ;;
	*) die "unknown input '$1' (known: hello nethttp)" ;;
	esac
	local module
	module=$(cd "$2/0" && ls -- *.spdx.json)
	echo "${module%.spdx.json}"
}

# interleave RUN SIDE...: runs the shell functions SIDE... (each given RUN), starting with a
# different one each run so that machine drift hits every side alike, and appends each one's
# time in seconds to TIMES[SIDE] unless RUN is 0 (the warm-up).
declare -A TIMES=()
interleave() {
	local run=$1 n k side t0 t1
	shift
	n=$#
	local sides=("$@")
	for ((k = 0; k < n; k++)); do
		side=${sides[(run + k) % n]}
		t0=${EPOCHREALTIME//[.,]/}
		"$side" "$run"
		t1=${EPOCHREALTIME//[.,]/}
		((run == 0)) || TIMES[$side]+=" $(((t1 - t0) / 1000))"
	done
}

# summary TITLE PEER SIDE:LABEL...: each side's median and minimum (from TIMES, in ms), and
# the ratio of each median to PEER's.
summary() {
	local title=$1 peer=$2 spec side
	shift 2
	local args=()
	for spec in "$@"; do
		side=${spec%%:*}
		args+=("${spec#*:}" "${TIMES[$side]}" "$([[ $side == "$peer" ]] && echo peer || echo side)")
	done
	python3 - "$title" "${args[@]}" <<'PY'
import statistics, sys
title, rest = sys.argv[1], sys.argv[2:]
sides = [(rest[i], [int(x) / 1000 for x in rest[i + 1].split()], rest[i + 2]) for i in range(0, len(rest), 3)]
peer = statistics.median(next(t for _, t, role in sides if role == "peer"))
print(f"== {title}")
width = max(len(label) for label, _, _ in sides)
for label, times, role in sides:
    m = statistics.median(times)
    ratio = "" if role == "peer" else f"  ratio {m / peer:.2f}"
    print(f"{label:<{width}}  median {m:.3f} s  (min {min(times):.3f}){ratio}")
PY
}
