# shellcheck shell=bash
# Shared by bench/push.sh and bench/trust.sh (sourced, not run): the large input, a
# `crane registry serve` on a free loopback port, fresh copies of the module, a clock.
# Expects REPO and CRANE; sets INPUT (unless set), WORK, HOST, DOCKER_CONFIG.

# The input: net/http's test binary for wasip1 (~20 MB), shared with bench/check.sh.
INPUT=${INPUT:-bench/out/net_http.test.wasm}
if [[ ! -s $INPUT ]]; then
	mkdir -p "$(dirname "$INPUT")"
	CGO_ENABLED=0 GOOS=wasip1 GOARCH=wasm go test -c -trimpath -buildvcs=false -o "$INPUT.tmp" net/http
	mv -f "$INPUT.tmp" "$INPUT"
fi

WORK=$(mktemp -d)
cleanup() {
	[[ -n ${REG_PID:-} ]] && kill "$REG_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CRANE" registry serve --address "127.0.0.1:$PORT" 2>"$WORK/registry.log" &
REG_PID=$!
for _ in $(seq 100); do
	grep -q "serving on port" "$WORK/registry.log" 2>/dev/null && break
	sleep 0.05
done
# shellcheck disable=SC2034 # used by the scripts that source this
HOST=127.0.0.1:$PORT
export DOCKER_CONFIG=$WORK/docker # no credentials, for every tool

# variant N OUT: the input plus a custom section `bench` holding N, so that no run finds its
# blobs already in the registry.
variant() {
	python3 - "$INPUT" "$1" "$2" <<'PY'
import sys
src, n, out = sys.argv[1], sys.argv[2], sys.argv[3]
name = b"bench"
payload = bytes([len(name)]) + name + n.encode()
open(out, "wb").write(open(src, "rb").read() + b"\x00" + bytes([len(payload)]) + payload)
PY
}

now() { echo "$EPOCHREALTIME"; }
