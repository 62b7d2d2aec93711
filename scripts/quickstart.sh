#!/usr/bin/env bash
# Quick start: builds wasipack (release), then runs the main job on the bundled Go example:
# makes a signing key pair (examples/hello/keys/, cosign's format, password from
# COSIGN_PASSWORD or a generated one saved beside it), `wasipack build examples/hello --sign`
# (go build for wasip1 -> strip -> check -> SBOMs -> OCI layout -> signature and SBOM and
# provenance attestations, all written to examples/hello/dist), then `wasipack verify` on the
# layout and `wasipack inspect` on the module.
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

KEYS=examples/hello/keys
if [[ ! -f $KEYS/cosign.key ]]; then
	mkdir -p "$KEYS"
	if [[ -z ${COSIGN_PASSWORD+set} ]]; then
		# A password for this demo key, kept beside it (both ignored by git).
		COSIGN_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
		(umask 077 && printf '%s\n' "$COSIGN_PASSWORD" >"$KEYS/password")
	fi
	export COSIGN_PASSWORD
	echo
	echo "==> wasipack generate-key-pair --output-key-prefix $KEYS/cosign"
	"$WASIPACK" generate-key-pair --output-key-prefix "$KEYS/cosign"
elif [[ -z ${COSIGN_PASSWORD+set} ]]; then
	[[ -f $KEYS/password ]] || die "$KEYS/cosign.key exists: set COSIGN_PASSWORD for it"
	COSIGN_PASSWORD=$(cat "$KEYS/password")
	export COSIGN_PASSWORD
fi

echo
echo "==> wasipack build examples/hello --sign $KEYS/cosign.key"
"$WASIPACK" build examples/hello --sign "$KEYS/cosign.key"

echo
echo "==> wasipack verify oci-layout:examples/hello/dist/oci:hello --key $KEYS/cosign.pub --require-attestation spdx,slsa --policy wasip1-default"
"$WASIPACK" verify oci-layout:examples/hello/dist/oci:hello --key "$KEYS/cosign.pub" \
	--require-attestation spdx,slsa --policy wasip1-default

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

  target/release/wasipack push examples/hello/dist REGISTRY/REPO:TAG        # signatures travel along
  cosign verify --key examples/hello/keys/cosign.pub REGISTRY/REPO:TAG      # see docs/verify-with-cosign.md
Docs: docs/commands/build.md, docs/commands/push.md, docs/commands/verify.md, docs/config.md,
docs/artifact.md, docs/policy.md.
EOF
