#!/usr/bin/env bash
# Quick start: builds wasipack (release), then runs the main job on the bundled Go example:
# `wasipack build examples/hello` (go build for wasip1 -> strip -> check -> SBOMs -> OCI layout,
# all written to examples/hello/dist), then `wasipack inspect` on the module it wrote.
#
#   bash scripts/quickstart.sh
#
# Needs Rust (cargo) 1.88+ and Go 1.21+ on PATH. Writes examples/hello/dist/ (ignored by git).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

die() {
	echo "quickstart: $*" >&2
	exit 1
}

command -v cargo >/dev/null 2>&1 || die "'cargo' not found on PATH (install Rust 1.88+ from https://rustup.rs)"
command -v go >/dev/null 2>&1 || die "'go' not found on PATH (install Go 1.21+ from https://go.dev/dl/)"

echo "==> Building wasipack (release; this can take a few minutes the first time)"
cargo build --release --locked

WASIPACK=$REPO/target/release/wasipack

echo
echo "==> wasipack build examples/hello"
"$WASIPACK" build examples/hello

echo
echo "==> wasipack inspect examples/hello/dist/hello.wasm"
"$WASIPACK" inspect examples/hello/dist/hello.wasm

echo "Next, try:"
echo "  ls examples/hello/dist"
if [[ -x $REPO/.tools/bin/oras ]]; then
	echo "  .tools/bin/oras manifest fetch --oci-layout examples/hello/dist/oci:hello --pretty"
	echo "  .tools/bin/oras discover --oci-layout examples/hello/dist/oci:hello"
elif command -v oras >/dev/null 2>&1; then
	echo "  oras manifest fetch --oci-layout examples/hello/dist/oci:hello --pretty"
	echo "  oras discover --oci-layout examples/hello/dist/oci:hello"
fi
if [[ -x $REPO/.tools/bin/wazero ]]; then
	echo "  .tools/bin/wazero run examples/hello/dist/hello.wasm a b"
else
	echo "  wazero run examples/hello/dist/hello.wasm a b     # or: wasmtime run examples/hello/dist/hello.wasm a b"
fi
cat <<'EOF'
  target/release/wasipack check examples/hello/dist/hello.wasm --policy wasip1-sandboxed
  target/release/wasipack build examples/hello --json
  target/release/wasipack build examples/hello --verify-reproducible

Signing the artifact comes with the trust stage (push, sign, verify), which is not in this release.
Docs: docs/commands/build.md, docs/config.md, docs/artifact.md, docs/policy.md.
EOF
