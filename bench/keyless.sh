#!/usr/bin/env bash
# Benchmarks keyless signing against cosign v3, keyless, on the same local Sigstore instance
# (scripts/sigstore-stack.sh) and the same registry (`crane registry serve` on 127.0.0.1), in
# the same run, interleaved:
#   1. `wasipack push --keyless` of a built layout (the module, then a signature, an SPDX and a
#      SLSA provenance attestation, each a keyless bundle referrer) vs `oras push` of the module
#      + `cosign sign` + `cosign attest --type spdxjson` + `cosign attest --type slsaprovenance1`;
#   2. `wasipack verify` with the identity and both attestations required vs `cosign verify` +
#      `cosign verify-attestation` x2.
#
#   bench/keyless.sh
#   env: BENCH_RUNS (default 5), WASIPACK (default target/release/wasipack), INPUT (the module;
#        default bench/out/net_http.test.wasm, built with go when missing), BENCH_REGISTRY
#        (crane, the default, has no referrers API: every tool lists its bundles in the
#        fallback index; `referrers` has it, see bench/registry-lib.sh)
#
# Targets (issue 14): push <= 0.4x the cosign pipeline; verify <= 0.3x.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
RUNS=${BENCH_RUNS:-5}
WASIPACK=${WASIPACK:-$REPO/target/release/wasipack}
ORAS=$REPO/.tools/bin/oras
CRANE=$REPO/.tools/bin/crane
COSIGN=$REPO/.tools/bin/cosign3
die() {
	echo "bench: $*" >&2
	exit 1
}
[[ -x $WASIPACK ]] || die "$WASIPACK not found: cargo build --release first"
[[ -x $ORAS && -x $CRANE && -x $COSIGN ]] || die "oras/crane/cosign3 missing: bash scripts/install-tools.sh"

# shellcheck source=bench/registry-lib.sh
source "$REPO/bench/registry-lib.sh"
STACK=$WORK/stack
# The instance stops before registry-lib's cleanup removes its directory.
trap 'bash "$REPO/scripts/sigstore-stack.sh" stop "$STACK"; cleanup' EXIT
bash "$REPO/scripts/sigstore-stack.sh" start "$STACK" >/dev/null ||
	die "scripts/sigstore-stack.sh start failed"
token() { bash "$REPO/scripts/sigstore-stack.sh" token "$STACK"; }
SC=$STACK/signing_config.json TR=$STACK/trusted_root.json
ID=$(cat "$STACK/identity") ISS=$(cat "$STACK/issuer")
export TUF_ROOT=$WORK/tuf # cosign touches no TUF of the public instance
echo '{"architecture":"wasm","os":"wasip1"}' >"$WORK/config.json"
"$WASIPACK" sbom "$INPUT" -o "$WORK/sbom.spdx.json" >/dev/null 2>&1 || die "wasipack sbom failed"
cat >"$WORK/slsa.json" <<'JSON'
{"buildDefinition": {"buildType": "https://wasipack.dev/bench/v1", "externalParameters": {}},
 "runDetails": {"builder": {"id": "https://wasipack.dev/bench"}}}
JSON
# Both tools get their token before the clock starts (one token per round for each).
cosign_sign() { "$COSIGN" "$@" --signing-config "$SC" --trusted-root "$TR" --identity-token "$ctok" --yes >/dev/null 2>&1; }
cosign_verify() {
	"$COSIGN" "$@" --trusted-root "$TR" --certificate-identity "$ID" \
		--certificate-oidc-issuer "$ISS" --insecure-ignore-sct >/dev/null 2>&1
}

push_wp=() push_co=() verify_wp=() verify_co=()
echo "input: $INPUT ($(stat -c %s "$INPUT") bytes); registry $HOST (${BENCH_REGISTRY:-crane}); runs: $RUNS" >&2
for i in $(seq 0 "$RUNS"); do
	mkdir -p "$WORK/a$i" "$WORK/b$i"
	variant "wp$i" "$WORK/a$i/module.wasm"
	variant "co$i" "$WORK/b$i/module.wasm"
	"$WASIPACK" push "$WORK/a$i/module.wasm" "oci-layout:$WORK/a$i/oci:1" >/dev/null 2>&1 || die "packaging a layout failed"
done
sync
# A pause of 0-1 s (not timed) before each signing step: Rekor v2 answers at its next 1 s
# checkpoint, and a loop whose rounds last about whole seconds would otherwise meet it at the
# same phase every round, luckily or not, for either tool.
dephase() { sleep "$(printf '0.%03d' $((RANDOM % 1000)))"; }
for i in $(seq 0 "$RUNS"); do
	tok=$(token)
	dephase
	t0=$(now)
	ref=$("$WASIPACK" push "oci-layout:$WORK/a$i/oci:1" "$HOST/bench/wp$i:1" --keyless \
		--signing-config "$SC" --identity-token "$tok" 2>/dev/null) || die "wasipack push --keyless failed"
	tw=$(now)
	ctok=$(token)
	dephase
	t1=$(now)
	cd "$WORK/b$i"
	"$ORAS" push --plain-http --disable-path-validation \
		--config "$WORK/config.json:application/vnd.wasm.config.v0+json" \
		"$HOST/bench/co$i:1" "module.wasm:application/wasm" >/dev/null 2>&1 || die "oras push failed"
	cd "$REPO"
	co=$HOST/bench/co$i@$("$CRANE" digest "$HOST/bench/co$i:1")
	cosign_sign sign "$co" || die "cosign sign failed"
	cosign_sign attest --type spdxjson --predicate "$WORK/sbom.spdx.json" "$co" || die "cosign attest spdxjson failed"
	cosign_sign attest --type slsaprovenance1 --predicate "$WORK/slsa.json" "$co" || die "cosign attest slsaprovenance1 failed"
	t2=$(now)
	"$WASIPACK" verify "$ref" --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" \
		--trusted-root "$TR" --insecure-ignore-sct --require-attestation spdx,slsa >/dev/null 2>&1 ||
		die "wasipack verify failed"
	t3=$(now)
	cosign_verify verify "$co" || die "cosign verify failed"
	cosign_verify verify-attestation --type spdxjson "$co" || die "cosign verify-attestation spdxjson failed"
	cosign_verify verify-attestation --type slsaprovenance1 "$co" || die "cosign verify-attestation slsaprovenance1 failed"
	t4=$(now)
	if ((i == 0)); then continue; fi # warm-up
	push_wp+=("$(python3 -c "print($tw-$t0)")")
	push_co+=("$(python3 -c "print($t2-$t1)")")
	verify_wp+=("$(python3 -c "print($t3-$t2)")")
	verify_co+=("$(python3 -c "print($t4-$t3)")")
done
python3 - "${push_wp[*]}" "${push_co[*]}" "${verify_wp[*]}" "${verify_co[*]}" <<'PY'
import statistics, sys
pw, pc, vw, vc = ([float(x) for x in s.split()] for s in sys.argv[1:5])
m = statistics.median
print(f"wasipack push --keyless (sig + SPDX + SLSA)      median {m(pw):.3f} s  (min {min(pw):.3f})")
print(f"oras push + cosign sign + 2 x cosign attest      median {m(pc):.3f} s  (min {min(pc):.3f})")
print(f"ratio push: {m(pw)/m(pc):.2f}  (target <= 0.40)")
print(f"wasipack verify (identity, spdx, slsa)           median {m(vw):.3f} s  (min {min(vw):.3f})")
print(f"cosign verify + 2 x cosign verify-attestation    median {m(vc):.3f} s  (min {min(vc):.3f})")
print(f"ratio verify: {m(vw)/m(vc):.2f}  (target <= 0.30)")
PY
