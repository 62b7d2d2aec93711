#!/usr/bin/env bash
# Benchmarks signing and verifying against a local registry (`crane registry serve` on
# 127.0.0.1), each against its peer in the same run, interleaved, on two modules: the bundled
# example (examples/hello, 2.6 MB, what the quick start builds) and a large one (net/http's test
# binary for wasip1, ~20 MB):
#   1. `wasipack push --key` (artifact + signature + SPDX and SLSA attestations) vs plain
#      `wasipack push`, for information (bench/ship.sh times the whole ship step against its
#      peers, and replaces the former 1.2x target). Run with an unencrypted PKCS#8 key (what a
#      KMS export or a CI secret without a password gives) and with cosign's encrypted key
#      (scrypt N=2^16: its key derivation alone takes ~0.1-0.2 s here, as it does in cosign).
#   2. `wasipack verify` (signature + attestation + pull + full validation and policy) vs
#      `cosign verify` + `cosign verify-attestation` on the same artifact, for information
#      (bench/verify.sh times verify against all of its peers and replaces the former 0.5x
#      target).
#
#   bench/trust.sh
#   env: BENCH_RUNS (default 7), WASIPACK (default target/release/wasipack),
#        BENCH_INPUTS (default: the two modules above, space-separated paths)
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
# shellcheck source=bench/registry-lib.sh
source "$REPO/bench/registry-lib.sh"
HELLO=$REPO/bench/out/hello/hello.wasm
if [[ ! -s $HELLO ]]; then
	"$WASIPACK" build examples/hello -o "$REPO/bench/out/hello" --force >/dev/null 2>&1 || die "building examples/hello failed"
fi
INPUTS=${BENCH_INPUTS:-"$HELLO $INPUT"}
export DOCKER_CONFIG=$WORK/docker COSIGN_PASSWORD=bench
(cd "$WORK" && "$WASIPACK" generate-key-pair --output-key-prefix enc >/dev/null)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/plain.key" 2>/dev/null
openssl pkey -in "$WORK/plain.key" -pubout -out "$WORK/plain.pub" 2>/dev/null

n=0
for input in $INPUTS; do
	n=$((n + 1))
	plain=() enc=() pk=() wv=() cv=()
	echo "input: $input ($(stat -c %s "$input") bytes); registry: crane registry serve on $HOST; runs: $RUNS" >&2
	for i in $(seq 0 "$RUNS"); do
		for k in p e k; do
			mkdir -p "$WORK/$n$k$i"
			INPUT=$input variant "$n$k$i" "$WORK/$n$k$i/module.wasm"
		done
	done
	sync
	for i in $(seq 0 "$RUNS"); do
		r=$HOST/b$n
		t0=$(now)
		"$WASIPACK" push "$WORK/${n}p$i/module.wasm" "$r/p$i:1" >/dev/null 2>&1 || die "push failed"
		t1=$(now)
		"$WASIPACK" push "$WORK/${n}e$i/module.wasm" "$r/e$i:1" --key "$WORK/enc.key" >/dev/null 2>&1 || die "push --key (encrypted) failed"
		t2=$(now)
		"$WASIPACK" push "$WORK/${n}k$i/module.wasm" "$r/k$i:1" --key "$WORK/plain.key" >/dev/null 2>&1 || die "push --key (plain) failed"
		t3=$(now)
		"$WASIPACK" verify "$r/e$i:1" --key "$WORK/enc.pub" --require-attestation spdx --policy permissive >/dev/null 2>&1 || die "wasipack verify failed"
		t4=$(now)
		"$COSIGN" verify --key "$WORK/enc.pub" --insecure-ignore-tlog=true "$r/e$i:1" >/dev/null 2>&1 || die "cosign verify failed"
		"$COSIGN" verify-attestation --key "$WORK/enc.pub" --type spdxjson --insecure-ignore-tlog=true "$r/e$i:1" >/dev/null 2>&1 || die "cosign verify-attestation failed"
		t5=$(now)
		((i == 0)) && continue # warm-up
		plain+=("$(python3 -c "print($t1-$t0)")")
		enc+=("$(python3 -c "print($t2-$t1)")")
		pk+=("$(python3 -c "print($t3-$t2)")")
		wv+=("$(python3 -c "print($t4-$t3)")")
		cv+=("$(python3 -c "print($t5-$t4)")")
	done
	python3 - "$(basename "$input") ($(stat -c %s "$input") bytes)" "${plain[*]}" "${enc[*]}" "${pk[*]}" "${wv[*]}" "${cv[*]}" <<'PY'
import statistics, sys
name = sys.argv[1]
plain, enc, pk, wv, cv = ([float(x) for x in s.split()] for s in sys.argv[2:7])
m = statistics.median
print(f"== {name}")
print(f"push (plain)                       median {m(plain):.3f} s")
print(f"push --key, unencrypted key        median {m(pk):.3f} s  ratio {m(pk)/m(plain):.2f}")
print(f"push --key, cosign encrypted key   median {m(enc):.3f} s  ratio {m(enc)/m(plain):.2f}")
print(f"wasipack verify                    median {m(wv):.3f} s")
print(f"cosign verify + verify-attestation median {m(cv):.3f} s  ratio {m(wv)/m(cv):.2f}")
PY
done
