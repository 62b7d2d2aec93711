#!/usr/bin/env bash
# Coverage-guided fuzzing of inspect + check on a stable toolchain (cargo-fuzz needs nightly
# only for its sanitizers). Seeds the corpus with the CLI fixtures and a Go-built module.
#   fuzz/run.sh [SECONDS]   (default 300)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
seconds=${1:-300}
corpus=corpus/inspect_check
mkdir -p "$corpus" artifacts
wasm_tools=../.tools/bin/wasm-tools
[[ -x $wasm_tools ]] || bash ../scripts/install-tools.sh
for wat in ../tests/cli/*.wat; do
	"$wasm_tools" parse "$wat" -o "$corpus/$(basename "$wat" .wat).wasm"
done
bash ../testdata/gen-go-fixtures.sh >/dev/null
cp ../testdata/go/out/hello.wasm "$corpus/"
target=$(rustc -vV | awk '/^host:/ { print $2 }')
# Set for the target only (--target), so that build scripts are not instrumented.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
cargo build --release --target "$target" --target-dir target/cov
exec "target/cov/$target/release/inspect_check" "$corpus" -max_total_time="$seconds" \
	-max_len=65536 -artifact_prefix=artifacts/ -print_final_stats=1
