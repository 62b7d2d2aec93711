#!/usr/bin/env bash
# Benchmarks signing and verifying on a large Go wasip1 module, against a local registry
# (`crane registry serve` on 127.0.0.1), in the same run, interleaved:
#   1. `wasipack push --key` (artifact + signature + SPDX and SLSA attestations) vs plain
#      `wasipack push` — target <= 1.2x. Run with cosign's encrypted key (scrypt N=2^16, whose
#      key derivation alone takes ~0.2 s here, as it does in cosign) and with an unencrypted
#      PKCS#8 key (what a KMS or CI secret without a password gives).
#   2. `wasipack verify` (signature + attestation + pull + policy) vs `cosign verify` +
#      `cosign verify-attestation` on the same artifact — target <= 0.5x.
#
#   bench/trust.sh
#   env: BENCH_RUNS (default 7), WASIPACK (default target/release/wasipack),
#        BENCH_INPUT (default bench/out/net_http.test.wasm, ~20 MB)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
RUNS=${BENCH_RUNS:-7}
WASIPACK=${WASIPACK:-$REPO/target/release/wasipack}
CRANE=$REPO/.tools/bin/crane
COSIGN=$REPO/.tools/bin/cosign2
die() {
	echo "bench: $*" >&2
	exit 1
}
[[ -x $WASIPACK ]] || die "$WASIPACK not found: cargo build --release first"
[[ -x $COSIGN && -x $CRANE ]] || die "cosign2/crane missing: bash scripts/install-tools.sh"
INPUT=${BENCH_INPUT:-}
# shellcheck source=bench/registry-lib.sh
source "$REPO/bench/registry-lib.sh"
export DOCKER_CONFIG=$WORK/docker COSIGN_PASSWORD=bench
(cd "$WORK" && "$WASIPACK" generate-key-pair --output-key-prefix enc >/dev/null)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/plain.key" 2>/dev/null
openssl pkey -in "$WORK/plain.key" -pubout -out "$WORK/plain.pub" 2>/dev/null

plain=() enc=() pk=() wv=() cv=()
echo "input: $INPUT ($(stat -c %s "$INPUT") bytes); registry: crane registry serve on $HOST; runs: $RUNS" >&2
for i in $(seq 0 "$RUNS"); do
	for k in p e k; do
		mkdir -p "$WORK/$k$i"
		variant "$k$i" "$WORK/$k$i/module.wasm"
	done
	t0=$(now)
	"$WASIPACK" push "$WORK/p$i/module.wasm" "$HOST/b/p$i:1" >/dev/null 2>&1 || die "push failed"
	t1=$(now)
	"$WASIPACK" push "$WORK/e$i/module.wasm" "$HOST/b/e$i:1" --key "$WORK/enc.key" >/dev/null 2>&1 || die "push --key (encrypted) failed"
	t2=$(now)
	"$WASIPACK" push "$WORK/k$i/module.wasm" "$HOST/b/k$i:1" --key "$WORK/plain.key" >/dev/null 2>&1 || die "push --key (plain) failed"
	t3=$(now)
	"$WASIPACK" verify "$HOST/b/e$i:1" --key "$WORK/enc.pub" --require-attestation spdx --policy permissive >/dev/null 2>&1 || die "wasipack verify failed"
	t4=$(now)
	"$COSIGN" verify --key "$WORK/enc.pub" --insecure-ignore-tlog=true "$HOST/b/e$i:1" >/dev/null 2>&1 || die "cosign verify failed"
	"$COSIGN" verify-attestation --key "$WORK/enc.pub" --type spdxjson --insecure-ignore-tlog=true "$HOST/b/e$i:1" >/dev/null 2>&1 || die "cosign verify-attestation failed"
	t5=$(now)
	((i == 0)) && continue # warm-up
	plain+=("$(python3 -c "print($t1-$t0)")")
	enc+=("$(python3 -c "print($t2-$t1)")")
	pk+=("$(python3 -c "print($t3-$t2)")")
	wv+=("$(python3 -c "print($t4-$t3)")")
	cv+=("$(python3 -c "print($t5-$t4)")")
done
python3 - "${plain[*]}" "${enc[*]}" "${pk[*]}" "${wv[*]}" "${cv[*]}" <<'PY'
import statistics, sys
plain, enc, pk, wv, cv = ([float(x) for x in s.split()] for s in sys.argv[1:6])
m = statistics.median
print(f"push (plain)                     median {m(plain):.3f} s")
print(f"push --key, cosign encrypted key median {m(enc):.3f} s  ratio {m(enc)/m(plain):.2f}  (target <= 1.20)")
print(f"push --key, unencrypted key      median {m(pk):.3f} s  ratio {m(pk)/m(plain):.2f}  (target <= 1.20)")
print(f"wasipack verify                  median {m(wv):.3f} s")
print(f"cosign verify + verify-attestation median {m(cv):.3f} s  ratio {m(wv)/m(cv):.2f}  (target <= 0.50)")
PY
