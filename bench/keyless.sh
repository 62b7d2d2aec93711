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
#   env: BENCH_RUNS (default 5), WASIPACK (default target/release/wasipack), WASIPACK_B
#        (optional: another wasipack binary whose push is timed in the same rounds, for an A/B
#        comparison of two builds; A and B take turns going first), INPUT (the module;
#        default bench/out/net_http.test.wasm, built with go when missing), BENCH_REGISTRY
#        (`both`, the default: the whole bench on each, one after the other; `referrers`: the
#        registry has the OCI 1.1 referrers API, every tool stores its bundles as referrers;
#        `crane`: it has none, every tool lists its bundles in the fallback index tag, which
#        wasipack confirms (issue 13's watch, 0.65 s) and cosign writes unconfirmed; see
#        bench/registry-lib.sh), BENCH_PHASES (default
#        0: after the timed rounds, this many more pushes of WASIPACK under strace, untimed,
#        and where their time went, step by step: bench/keyless_phases.py)
#
# Targets (issue 14): push <= 0.4x the cosign pipeline; verify <= 0.3x.
set -euo pipefail
if [[ ${BENCH_REGISTRY:-both} == both ]]; then
	for registry in referrers crane; do
		echo "== registry: $registry" >&2
		BENCH_REGISTRY=$registry bash "${BASH_SOURCE[0]}" "$@"
	done
	exit 0
fi

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
[[ -z ${WASIPACK_B:-} || -x ${WASIPACK_B:-} ]] || die "WASIPACK_B=$WASIPACK_B is not an executable"
PHASES=${BENCH_PHASES:-0}
[[ $PHASES =~ ^[0-9]+$ ]] || die "BENCH_PHASES must be a whole number, got '$PHASES'"
((PHASES == 0)) || command -v strace >/dev/null || die "BENCH_PHASES needs strace (apt-get install strace)"

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

push_wp=() push_b=() push_co=() verify_wp=() verify_co=()
echo "input: $INPUT ($(stat -c %s "$INPUT") bytes); registry $HOST (${BENCH_REGISTRY:-crane}); runs: $RUNS" >&2
# Layouts for wasipack: a0..aRUNS, c0..cRUNS for WASIPACK_B, p1..pPHASES for the traced pushes.
layouts=$(seq -f a%g 0 "$RUNS")
[[ -n ${WASIPACK_B:-} ]] && layouts+=" $(seq -f c%g 0 "$RUNS")"
((PHASES == 0)) || layouts+=" $(seq -f p%g 1 "$PHASES")"
for l in $layouts; do
	mkdir -p "$WORK/$l"
	variant "wp$l" "$WORK/$l/module.wasm"
	"$WASIPACK" push "$WORK/$l/module.wasm" "oci-layout:$WORK/$l/oci:1" >/dev/null 2>&1 || die "packaging a layout failed"
done
for i in $(seq 0 "$RUNS"); do
	mkdir -p "$WORK/b$i"
	variant "co$i" "$WORK/b$i/module.wasm"
done
sync
# A pause of 0-1 s (not timed) before each signing step: Rekor v2 answers at its next 1 s
# checkpoint, and a loop whose rounds last about whole seconds would otherwise meet it at the
# same phase every round, luckily or not, for either tool.
dephase() { sleep "$(printf '0.%03d' $((RANDOM % 1000)))"; }
# wp_push BIN LAYOUT [WRAPPER...]: one timed `push --keyless` of layout LAYOUT to its own
# repository, with a fresh token (fetched, and the dephase slept, before the clock); sets ref
# and took. Like cosign, it gets the trust root to check what it signed against (a build older
# than that flag signs unchecked).
wp_push() {
	local bin=$1 l=$2 tok t root=()
	shift 2
	"$bin" push --help | grep -q -- --trusted-root && root=(--trusted-root "$TR")
	tok=$(token)
	dephase
	t=$(now)
	ref=$("$@" "$bin" push "oci-layout:$WORK/$l/oci:1" "$HOST/bench/wp$l:1" --keyless \
		--signing-config "$SC" "${root[@]}" --identity-token "$tok" 2>/dev/null) || die "$bin push --keyless failed"
	took=$(python3 -c "print($(now)-$t)")
}
for i in $(seq 0 "$RUNS"); do
	if [[ -n ${WASIPACK_B:-} ]] && ((i % 2)); then
		wp_push "$WASIPACK_B" "c$i"
		tb=$took
	fi
	wp_push "$WASIPACK" "a$i"
	tw=$took wref=$ref
	if [[ -n ${WASIPACK_B:-} ]] && ((i % 2 == 0)); then
		wp_push "$WASIPACK_B" "c$i"
		tb=$took
	fi
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
	"$WASIPACK" verify "$wref" --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" \
		--trusted-root "$TR" --insecure-ignore-sct --require-attestation spdx,slsa >/dev/null 2>&1 ||
		die "wasipack verify failed"
	t3=$(now)
	cosign_verify verify "$co" || die "cosign verify failed"
	cosign_verify verify-attestation --type spdxjson "$co" || die "cosign verify-attestation spdxjson failed"
	cosign_verify verify-attestation --type slsaprovenance1 "$co" || die "cosign verify-attestation slsaprovenance1 failed"
	t4=$(now)
	if ((i == 0)); then continue; fi # warm-up
	push_wp+=("$tw")
	[[ -z ${WASIPACK_B:-} ]] || push_b+=("$tb")
	push_co+=("$(python3 -c "print($t2-$t1)")")
	verify_wp+=("$(python3 -c "print($t3-$t2)")")
	verify_co+=("$(python3 -c "print($t4-$t3)")")
done
python3 - "${push_wp[*]}" "${push_co[*]}" "${verify_wp[*]}" "${verify_co[*]}" "${push_b[*]}" <<'PY'
import os, statistics, sys
pw, pc, vw, vc, pb = ([float(x) for x in s.split()] for s in sys.argv[1:6])
m = statistics.median
print(f"wasipack push --keyless (sig + SPDX + SLSA)      median {m(pw):.3f} s  (min {min(pw):.3f})")
print(f"oras push + cosign sign + 2 x cosign attest      median {m(pc):.3f} s  (min {min(pc):.3f})")
note = {"crane": ", tag-only: wasipack confirms the fallback index (0.65 s), cosign does not"}
print(f"ratio push: {m(pw)/m(pc):.2f}  (target <= 0.40{note.get(os.environ.get('BENCH_REGISTRY'), '')})")
if pb:
    print(f"WASIPACK_B push --keyless                        median {m(pb):.3f} s  (min {min(pb):.3f})")
    print(f"ratio push (WASIPACK_B): {m(pb)/m(pc):.2f};  B/A: {m(pb)/m(pw):.3f}")
print(f"wasipack verify (identity, spdx, slsa)           median {m(vw):.3f} s  (min {min(vw):.3f})")
print(f"cosign verify + 2 x cosign verify-attestation    median {m(vc):.3f} s  (min {min(vc):.3f})")
print(f"ratio verify: {m(vw)/m(vc):.2f}  (target <= 0.30)")
PY
if ((PHASES > 0)); then
	for p in $(seq 1 "$PHASES"); do
		wp_push "$WASIPACK" "p$p" strace --seccomp-bpf -f -tt -e trace=connect,write,writev,sendto,sendmsg \
			-e signal=none -s 200 -o "$WORK/trace$p"
	done
	python3 "$REPO/bench/keyless_phases.py" "$WORK"/trace*
fi
