#!/usr/bin/env bash
# Benchmarks the whole ship step against the chain of peer tools a user would script for it,
# with the same key, to the same local registry (`crane registry serve` on 127.0.0.1), in the
# same run, interleaved (each run starts with another side):
#   wasipack: `wasipack push dist REF --key cosign.key`, the `build` output as it is: the
#             artifact, its two SBOM referrers, a signature, and SPDX and SLSA provenance
#             attestations;
#   peers:    `oras push` of the module (with the wasm config) + `cosign sign` + `cosign attest
#             --type spdxjson` (the same SPDX document) + `cosign attest --type slsaprovenance1`
#             (the provenance predicate wasipack wrote, read back once before the runs), by the
#             digest oras printed. They store less: no SBOM referrers.
# The key is cosign's key file with the empty password (COSIGN_PASSWORD=""); both tools derive
# its scrypt key on every run. For information, wasipack also pushes with the same key
# unencrypted (PKCS#8, which cosign does not read).
#
# Inputs: the bundled example as `wasipack build` leaves it in dist/ (2.6 MB module), and the
# ~20 MB net/http test binary packaged by examples/post_build.rs (the post-build half of
# `build`). Every run pushes its own outputs (distinct modules), so nothing is found already in
# the registry.
#
#   cargo build --release && cargo build --release --example post_build && bench/ship.sh
#   env: BENCH_RUNS (default 7), BENCH_INPUTS (default "hello nethttp"),
#        WASIPACK (default target/release/wasipack), WASIPACK_B (optional: another wasipack
#        binary timed beside it, for an A/B comparison of two builds), BENCH_RTT_MS (default
#        0: the registry as it answers on loopback; else a round trip of this many ms added by
#        bench/latency-proxy.py, as across a network)
#
# Issue 12 measured wasipack at about 0.36x the peers; it must not get worse.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
RUNS=${BENCH_RUNS:-7}
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

# push_with BIN SIDE KEY WHAT N: one `push dist --key` of run N's outputs, to its own repository.
push_with() {
	"$1" push "$dir/$2/$5" "$HOST/$input/$2$5:1" --key "$3" >/dev/null 2>&1 || die "$4 failed"
}
wp() { push_with "$WASIPACK" wp "$KEY" "wasipack push --key" "$1"; }
wp_plain() { push_with "$WASIPACK" plain "$PLAIN_KEY" "wasipack push --key (PKCS#8)" "$1"; }
wp_b() { push_with "$WASIPACK_B" b "$KEY" "WASIPACK_B push --key" "$1"; }
wp_b_plain() { push_with "$WASIPACK_B" bplain "$PLAIN_KEY" "WASIPACK_B push --key (PKCS#8)" "$1"; }
peers() {
	local dist=$dir/peer/$1 ref=$HOST/$input/peer$1 digest
	digest=$(cd "$dist" && "$ORAS" push --plain-http --disable-path-validation \
		--config "$WORK/config.json:application/vnd.wasm.config.v0+json" \
		--format go-template='{{.digest}}' "$ref:1" "$module.wasm:application/wasm" 2>/dev/null) ||
		die "oras push failed"
	"$COSIGN" sign --key "$KEY" --tlog-upload=false -y "$ref@$digest" >/dev/null 2>&1 ||
		die "cosign sign failed"
	"$COSIGN" attest --key "$KEY" --tlog-upload=false -y --type spdxjson \
		--predicate "$dist/$module.spdx.json" "$ref@$digest" >/dev/null 2>&1 ||
		die "cosign attest (SPDX) failed"
	"$COSIGN" attest --key "$KEY" --tlog-upload=false -y --type slsaprovenance1 \
		--predicate "$dir/slsa.json" "$ref@$digest" >/dev/null 2>&1 ||
		die "cosign attest (SLSA) failed"
}

sides=(wp peers wp_plain)
[[ -n ${WASIPACK_B:-} ]] && sides+=(wp_b wp_b_plain)
for input in ${BENCH_INPUTS:-hello nethttp}; do
	dir=$WORK/$input
	TIMES=()
	echo "$input: packaging $((RUNS + 1)) outputs per side..." >&2
	module=$(dists "$input" "$dir/setup" 1)
	for side in wp peer plain b bplain; do
		[[ $side == b* && -z ${WASIPACK_B:-} ]] || dists "$input" "$dir/$side" $((RUNS + 1)) >/dev/null
	done
	# The provenance predicate for `cosign attest`: the one wasipack writes, read back.
	"$WASIPACK" push "$dir/setup/0" "$HOST/$input/setup:1" --key "$KEY" >/dev/null 2>&1 || die "setup push failed"
	"$COSIGN" download attestation --predicate-type https://slsa.dev/provenance/v1 "$HOST/$input/setup:1" 2>/dev/null |
		python3 -c 'import base64, json, sys
envelope = json.loads(sys.stdin.readline())
print(json.dumps(json.loads(base64.b64decode(envelope["payload"]))["predicate"]))' >"$dir/slsa.json" ||
		die "reading back the SLSA predicate failed"
	sync
	size=$(stat -c %s "$dir/wp/0/$module.wasm")
	before=$(load)
	for i in $(seq 0 "$RUNS"); do
		interleave "$i" "${sides[@]}"
	done
	# Every side left a signature and attestations: the last run's tags say so.
	for repo in wp peer plain b bplain; do
		[[ $repo == b* && -z ${WASIPACK_B:-} ]] && continue
		tags=$("$CRANE" ls "$HOST/$input/$repo$RUNS")
		[[ $tags == *.sig* && $tags == *.att* ]] || die "$repo$RUNS has no .sig or .att tag: $tags"
	done
	labels=("wp:wasipack push dist --key" "peers:oras push + cosign sign + 2x cosign attest"
		"wp_plain:wasipack push dist --key, same key as PKCS#8")
	[[ -n ${WASIPACK_B:-} ]] && labels+=("wp_b:WASIPACK_B push dist --key"
		"wp_b_plain:WASIPACK_B push dist --key, PKCS#8")
	summary "$input: $module.wasm ($size bytes), $RUNS runs, registry round trip ${RTT_MS} ms; load before $before, after $(load)" peers "${labels[@]}"
done
