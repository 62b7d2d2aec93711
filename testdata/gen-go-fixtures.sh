#!/usr/bin/env bash
# Builds the Go wasm fixtures of testdata/go into testdata/go/out/.
# A fixture is rebuilt only when its output is older than a .go or go.mod
# file of the fixture module (or than this script); --force rebuilds all.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/go"

force=0
for arg in "$@"; do
	case "$arg" in
	--force) force=1 ;;
	-h | --help)
		echo "usage: $0 [--force]"
		exit 0
		;;
	*)
		echo "gen-go-fixtures: unknown argument: $arg" >&2
		exit 2
		;;
	esac
done

if ! command -v go >/dev/null 2>&1; then
	echo "gen-go-fixtures: 'go' not found on PATH; install Go 1.24+ to build the wasm fixtures" >&2
	exit 1
fi

mkdir -p out

# Newest input: every .go and go.mod file of the module, plus this script.
inputs=()
while IFS= read -r -d '' f; do
	inputs+=("$f")
done < <(find . -path ./out -prune -o \( -name '*.go' -o -name go.mod \) -type f -print0)
inputs+=("${BASH_SOURCE[0]}")

up_to_date() {
	local out=$1 f
	[[ -f $out ]] || return 1
	for f in "${inputs[@]}"; do
		[[ $out -nt $f ]] || return 1
	done
}

# build OUTPUT GOOS PKG [extra go build flags...]
build() {
	local out=out/$1 goos=$2 pkg=$3
	shift 3
	if ((force == 0)) && up_to_date "$out"; then
		echo "up-to-date  $out"
		return
	fi
	CGO_ENABLED=0 GOOS=$goos GOARCH=wasm \
		go build -trimpath -buildvcs=false "$@" -o "$out.tmp" "$pkg"
	mv -f "$out.tmp" "$out"
	echo "built       $out ($(wc -c <"$out") bytes)"
}

build hello.wasm wasip1 ./hello
build hello-stripped.wasm wasip1 ./hello -ldflags='-s -w'
build files.wasm wasip1 ./files
build netserver.wasm wasip1 ./netserver
build reactor.wasm wasip1 ./reactor -buildmode=c-shared
# The same hello program, built for the browser: the wrong ABI for a WASI host.
build js.wasm js ./hello
