#!/usr/bin/env bash
# Quick start: builds wasipack (release), builds the bundled Go example examples/hello for
# GOOS=wasip1, then inspects it and checks it against the default policy.
#
#   bash scripts/quickstart.sh
#
# Needs Rust (cargo) 1.88+ and Go 1.21+ on PATH. Writes dist/hello.wasm.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

die() {
	echo "quickstart: $*" >&2
	exit 1
}

command -v cargo >/dev/null 2>&1 || die "'cargo' not found on PATH (install Rust 1.88+ from https://rustup.rs)"
command -v go >/dev/null 2>&1 || die "'go' not found on PATH (install Go 1.21+ from https://go.dev/dl/)"

echo "==> Building wasipack (release; this may take a few minutes the first time)"
cargo build --release --locked

mkdir -p dist
OUT=$REPO/dist/hello.wasm

echo
echo "==> Building examples/hello for GOOS=wasip1 GOARCH=wasm"
(
	cd examples/hello
	GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$OUT" .
)
echo "    wrote dist/hello.wasm"

WASIPACK=$REPO/target/release/wasipack

echo
echo "==> wasipack inspect dist/hello.wasm"
"$WASIPACK" inspect dist/hello.wasm

echo "==> wasipack check dist/hello.wasm --policy wasip1-default"
"$WASIPACK" check dist/hello.wasm --policy wasip1-default

cat <<'EOF'

Next, try:
  target/release/wasipack check dist/hello.wasm --policy wasip1-sandboxed
  target/release/wasipack check dist/hello.wasm --json
  target/release/wasipack check dist/hello.wasm --sarif dist/hello.sarif
  target/release/wasipack inspect dist/hello.wasm --json
  target/release/wasipack policy list
  target/release/wasipack policy show wasip1-default
  wasmtime run dist/hello.wasm a b      # or: wazero run dist/hello.wasm a b

Policies are described in docs/policy.md.
EOF
