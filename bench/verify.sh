#!/usr/bin/env bash
# Benchmarks `wasipack verify` against the chain of peer tools a user would script for the same
# checks, on the same artifact in a local registry (`crane registry serve` on 127.0.0.1), in the
# same run, interleaved (each run starts with another side):
#   wasipack: `wasipack verify REF --key cosign.pub --require-attestation spdx,slsa --policy P`:
#             the signature, both attestations, the config and module digests, and the policy
#             on the module (full validation);
#   peers:    `cosign verify` + `cosign verify-attestation --type spdxjson` + `cosign
#             verify-attestation --type slsaprovenance1` + `oras pull` + `wasm-tools validate`
#             of the pulled module.
# The artifact is what bench/ship.sh pushes: `wasipack push dist REF --key cosign.key` of a
# `build` output, signed with cosign's key file (empty password). The policy is the one the
# output was built with: wasip1-default for the example, permissive for the large module.
#
# Inputs: the bundled example as `wasipack build` leaves it in dist/ (2.6 MB module), and the
# ~20 MB net/http test binary packaged by examples/post_build.rs (the post-build half of
# `build`).
#
#   cargo build --release && cargo build --release --example post_build && bench/verify.sh
#   env: BENCH_RUNS (default 15), BENCH_INPUTS (default "hello nethttp"),
#        WASIPACK (default target/release/wasipack), WASIPACK_B (optional: another wasipack
#        binary timed beside it, for an A/B comparison of two builds), BENCH_RTT_MS (default
#        0: the registry as it answers on loopback; else a round trip of this many ms added by
#        bench/latency-proxy.py, as across a network)
#
# Issue 12 measured wasipack at about 0.17x the peers; it must not get worse.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
RUNS=${BENCH_RUNS:-15}
WASIPACK=${WASIPACK:-$REPO/target/release/wasipack}
CRANE=$REPO/.tools/bin/crane
die() {
	echo "bench: $*" >&2
	exit 1
}
[[ -x $CRANE ]] || die "$CRANE missing: bash scripts/install-tools.sh"
# shellcheck source=bench/registry-lib.sh
source "$REPO/bench/registry-lib.sh"
# shellcheck source=bench/ship-lib.sh
source "$REPO/bench/ship-lib.sh"

verify_with() {
	"$1" verify "$ref" --key "$PUB" --require-attestation spdx,slsa --policy "$policy" >/dev/null 2>&1 ||
		die "$1 verify failed"
}
wv() { verify_with "$WASIPACK"; }
wv_b() { verify_with "$WASIPACK_B"; }
peers() {
	local out=$WORK/pull/$input$1
	"$COSIGN" verify --key "$PUB" --insecure-ignore-tlog=true "$ref" >/dev/null 2>&1 ||
		die "cosign verify failed"
	"$COSIGN" verify-attestation --key "$PUB" --insecure-ignore-tlog=true --type spdxjson "$ref" >/dev/null 2>&1 ||
		die "cosign verify-attestation (SPDX) failed"
	"$COSIGN" verify-attestation --key "$PUB" --insecure-ignore-tlog=true --type slsaprovenance1 "$ref" >/dev/null 2>&1 ||
		die "cosign verify-attestation (SLSA) failed"
	"$ORAS" pull --plain-http "$ref" -o "$out" >/dev/null 2>&1 || die "oras pull failed"
	"$WASM_TOOLS" validate "$out/$module.wasm" || die "wasm-tools validate failed"
}

sides=(wv peers)
[[ -n ${WASIPACK_B:-} ]] && sides+=(wv_b)
for input in ${BENCH_INPUTS:-hello nethttp}; do
	dir=$WORK/$input
	TIMES=()
	case $input in
	hello) policy=wasip1-default ;;
	*) policy=permissive ;;
	esac
	echo "$input: packaging and pushing the artifact..." >&2
	module=$(dists "$input" "$dir" 1)
	ref=$HOST/$input/verify:1
	"$WASIPACK" push "$dir/0" "$ref" --key "$KEY" >/dev/null 2>&1 || die "wasipack push --key failed"
	size=$(stat -c %s "$dir/0/$module.wasm")
	before=$(load)
	for i in $(seq 0 "$RUNS"); do
		interleave "$i" "${sides[@]}"
	done
	labels=("wv:wasipack verify (signature, 2 attestations, policy)"
		"peers:cosign verify + 2x verify-attestation + oras pull + wasm-tools validate")
	[[ -n ${WASIPACK_B:-} ]] && labels+=("wv_b:WASIPACK_B verify")
	summary "$input: $module.wasm ($size bytes), policy $policy, $RUNS runs, registry round trip ${RTT_MS} ms; load before $before, after $(load)" peers "${labels[@]}"
done
