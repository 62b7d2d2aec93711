#!/usr/bin/env bash
# How the GitHub Action (action.yml) gets wasipack. The action runs this script in two steps, and
# tests/action_install.rs runs it the same way, with the same environment:
#
#   action-install.sh find     step `find`: WASIPACK_BIN; else a wasipack on PATH of the wanted
#                              version; else the release archive for this runner, downloaded,
#                              checked against the SHA-256 committed in this repository
#                              (release/checksums/vVERSION.sha256), unpacked into the tool cache
#                              and put on PATH; else, saying so, the plan to build it from the
#                              action's source (outputs need-install, install-root, cache-key,
#                              for actions/cache).
#   action-install.sh build    step `install`: when `find` planned a build, cargo install into
#                              install-root (unless actions/cache restored it) and PATH; then the
#                              `bin` output, whichever way wasipack came.
#   action-install.sh source-hash
#                              the SHA-256 of wasipack's source in this tree (Cargo.toml,
#                              Cargo.lock, build.rs, src/, policies/): the action installs a
#                              release only when its own source is that release's (or
#                              wasipack-version asks).
#   action-install.sh checksums-file vX.Y.Z SHA256SUMS
#                              prints release/checksums/vX.Y.Z.sha256 as the release workflow
#                              commits it: a comment, `# source HASH` (source-hash of this
#                              tree, the tagged commit), then the release's SHA256SUMS.
#
# Environment (a runner's): GITHUB_ACTION_PATH, GITHUB_OUTPUT, GITHUB_PATH, RUNNER_OS,
# RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP; from the action's inputs: WANT_VERSION
# (wasipack-version), DOWNLOAD_URL (wasipack-download-url); for `build`: BIN, ROOT (find's
# outputs); optional WASIPACK_BIN. docs/action.md describes each outcome.
set -euo pipefail
tmp="" # install_release's scratch directory (RUNNER_TEMP/wasipack-download.*)

fail() {
	local m=${1//%/%25}
	echo "::error title=wasipack action::${m//$'\n'/%0A}"
	exit 1
}
output() { # NAME VALUE, as a NAME<<DELIMITER block no value can end early
	local d
	d=ghadelimiter_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s<<%s\n%s\n%s\n' "$1" "$d" "$2" "$d" >>"$GITHUB_OUTPUT"
}
version_of() { "$1" --version 2>/dev/null | awk 'NR == 1 { print $2 }'; }
sha256() { # stdin or FILE -> 64 hex digits
	if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi | cut -c1-64
}
source_hash() { # the digest of the list "DIGEST  PATH" of every source file, in byte order
	(cd "${GITHUB_ACTION_PATH:?}" && find Cargo.toml Cargo.lock build.rs src policies -type f -print0 |
		LC_ALL=C sort -z | if command -v sha256sum >/dev/null 2>&1; then xargs -0 sha256sum; else
			xargs -0 shasum -a 256
		fi | sha256)
}

find_wasipack() {
	: "${GITHUB_ACTION_PATH:?}" "${GITHUB_OUTPUT:?}" "${GITHUB_PATH:?}" "${RUNNER_TEMP:?}"
	local action_version want bin have
	action_version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$GITHUB_ACTION_PATH/Cargo.toml" | head -n 1)
	want=${WANT_VERSION:-} && want=${want#v} && want=${want:-$action_version}

	if [[ -n ${WASIPACK_BIN:-} ]]; then
		[[ -x $WASIPACK_BIN && -f $WASIPACK_BIN ]] || fail "WASIPACK_BIN=$WASIPACK_BIN is not an executable file"
		have=$(version_of "$WASIPACK_BIN") && [[ -z ${WANT_VERSION:-} || $have == "$want" ]] ||
			fail "WASIPACK_BIN is wasipack $have, but wasipack-version asks for $want"
		bin=$(cd "$(dirname "$WASIPACK_BIN")" && pwd)/$(basename "$WASIPACK_BIN")
		echo "wasipack $have: WASIPACK_BIN ($bin)"
		found "$bin"
		return
	fi
	if command -v wasipack >/dev/null 2>&1 && [[ $(version_of "$(command -v wasipack)") == "$want" ]]; then
		bin=$(command -v wasipack)
		echo "wasipack $want: on PATH ($bin)"
		found "$bin"
		return
	fi

	# A release: its checksums are in this tree, and this action is that release (its source is
	# the one the release was built from) or wasipack-version names it.
	local sums=release/checksums/v$want.sha256 reason="" target="" ext=tar.gz exe="" recorded
	case ${RUNNER_OS:-}/${RUNNER_ARCH:-} in
	Linux/X64) target=x86_64-unknown-linux-musl ;;
	Linux/ARM64) target=aarch64-unknown-linux-musl ;;
	macOS/X64) target=x86_64-apple-darwin ;;
	macOS/ARM64) target=aarch64-apple-darwin ;;
	Windows/X64) target=x86_64-pc-windows-msvc ext=zip exe=.exe ;;
	esac
	if [[ ! -f $GITHUB_ACTION_PATH/$sums ]]; then
		reason="this action has no checksums for a release v$want ($sums)"
	elif recorded=$(awk '$1 == "#" && $2 == "source" { print $3 }' "$GITHUB_ACTION_PATH/$sums") &&
		[[ -z ${WANT_VERSION:-} && $recorded != "$(source_hash)" ]]; then
		reason="this action's source is not release v$want's (a branch or commit ref)"
	elif [[ -z $target ]]; then
		reason="release v$want has no archive for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}"
	else
		install_release "$want" "$target" "$ext" "$exe" "$sums"
		return
	fi

	[[ $want == "$action_version" ]] ||
		fail "wasipack $want is not on PATH and $reason; this action (wasipack $action_version) builds only its own version from source: use the action at that version's tag, or put wasipack $want on PATH or in WASIPACK_BIN"
	local cache_key root
	cache_key=wasipack-$want-$(source_hash | cut -c1-16)-${RUNNER_OS:-os}-${RUNNER_ARCH:-arch}
	root=${HOME:?}/.cache/wasipack-action/$cache_key
	echo "::notice title=wasipack action::No released wasipack to install: $reason. Building wasipack $want from the action's source with cargo install instead (cached with actions/cache, key $cache_key; the first build takes minutes)."
	output bin ""
	output need-install true
	output install-root "$root"
	output cache-key "$cache_key"
}

# The release archive: from the tool cache when an earlier step of this runner checked it,
# else downloaded and checked against the committed digest before anything is unpacked.
install_release() {
	local want=$1 target=$2 ext=$3 exe=$4 sums=$5 archive expected base url arch dir got bin have
	archive=wasipack-v$want-$target.$ext
	expected=$(awk -v f="$archive" '$1 !~ /^#/ && ($2 == f || $2 == "*" f) { print $1; exit }' "$GITHUB_ACTION_PATH/$sums")
	[[ $expected =~ ^[0-9a-f]{64}$ ]] || fail "$sums lists no SHA-256 for $archive"
	arch=$(printf '%s' "$RUNNER_ARCH" | tr '[:upper:]' '[:lower:]')
	dir=${RUNNER_TOOL_CACHE:-$RUNNER_TEMP}/wasipack/$want/$arch
	if [[ -f $dir.complete && $(cat "$dir.complete") == "$expected" && -x $dir/wasipack$exe ]]; then
		echo "wasipack $want: from the tool cache ($dir; $archive, sha256:$expected)"
	else
		base=${DOWNLOAD_URL:-https://github.com/wasipack/wasipack/releases/download}
		url=${base%/}/v$want/$archive
		tmp=$(mktemp -d "$RUNNER_TEMP/wasipack-download.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT # whatever happens, the download goes
		echo "wasipack $want: downloading $url"
		curl -fsSL --retry 3 --connect-timeout 30 -o "$tmp/$archive" "$url" ||
			fail "downloading $url failed (curl exit $?)"
		got=$(sha256 "$tmp/$archive")
		[[ $got == "$expected" ]] ||
			fail "$archive: SHA-256 is $got, but $sums says $expected (downloaded from $url); nothing was installed"
		mkdir "$tmp/unpack"
		if [[ $ext == zip ]]; then
			# Git for Windows' bash has unzip; the Windows runner images also have 7-Zip.
			if command -v unzip >/dev/null 2>&1; then unzip -q "$tmp/$archive" -d "$tmp/unpack"; else
				7z x -bd -y -o"$tmp/unpack" "$tmp/$archive" >/dev/null
			fi
		else
			tar -xzf "$tmp/$archive" -C "$tmp/unpack"
		fi || fail "$archive: unpacking failed"
		[[ -f $tmp/unpack/wasipack-v$want-$target/wasipack$exe ]] ||
			fail "$archive holds no wasipack-v$want-$target/wasipack$exe"
		rm -rf "$dir" "$dir.complete"
		mkdir -p "$(dirname "$dir")"
		mv "$tmp/unpack/wasipack-v$want-$target" "$dir"
		printf '%s\n' "$expected" >"$dir.complete"
		echo "wasipack $want: $archive matches sha256:$expected ($sums); unpacked into $dir"
	fi
	bin=$dir/wasipack$exe
	have=$(version_of "$bin") || true
	[[ $have == "$want" ]] || fail "$bin (from $archive) says it is wasipack '$have', not $want"
	found "$bin"
}

# wasipack is there: on PATH for the later steps of the job, and the `bin` output.
found() {
	output bin "$1"
	output need-install false
	output install-root ""
	output cache-key ""
	dirname "$1" >>"$GITHUB_PATH"
}

build_wasipack() {
	: "${GITHUB_ACTION_PATH:?}" "${GITHUB_OUTPUT:?}" "${GITHUB_PATH:?}"
	local bin=${BIN:-} version
	if [[ -z $bin ]]; then
		: "${ROOT:?ROOT, the install-root output of find, must be set when find found no wasipack}"
		if [[ -x $ROOT/bin/wasipack ]]; then
			echo "wasipack: built before, restored from the cache ($ROOT/bin/wasipack)"
		else
			command -v cargo >/dev/null 2>&1 ||
				fail "cargo is not on PATH: add a Rust toolchain (e.g. dtolnay/rust-toolchain) before this action, or put wasipack on PATH"
			echo "::group::cargo install --locked --path $GITHUB_ACTION_PATH"
			cargo install --locked --path "$GITHUB_ACTION_PATH" --root "$ROOT" --bin wasipack ||
				fail "cargo install of wasipack failed (exit $?); its messages are above"
			echo "::endgroup::"
		fi
		bin=$ROOT/bin/wasipack
		dirname "$bin" >>"$GITHUB_PATH" # later steps of the job can run `wasipack` too
	fi
	version=$("$bin" --version) || fail "$bin does not run"
	echo "using $version ($bin)"
	output bin "$bin"
}

checksums_file() {
	local tag=$1 sums=$2 hash
	[[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "checksums-file: \`$tag\` is not a version tag vX.Y.Z"
	[[ -s $sums ]] || fail "checksums-file: $sums is missing or empty"
	! grep -Evq '^[0-9a-f]{64}  [*]?wasipack-v[^ /]+$' "$sums" ||
		fail "checksums-file: $sums has a line that is not \`SHA256  wasipack-ARCHIVE\`"
	hash=$(source_hash)
	echo "# wasipack $tag: the SHA256SUMS of its GitHub release, from .github/workflows/release.yml."
	echo "# source $hash"
	cat "$sums"
}

GITHUB_ACTION_PATH=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
case ${1:-} in
find) find_wasipack ;;
build) build_wasipack ;;
source-hash) source_hash ;;
checksums-file) checksums_file "${2:-}" "${3:-}" ;;
*)
	echo "usage: action-install.sh find|build|source-hash|checksums-file (see the comment at its top)" >&2
	exit 2
	;;
esac
