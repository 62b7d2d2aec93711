# shellcheck shell=bash
# Shared by the registry benchmarks (sourced, not run): the large input, a `crane registry
# serve` on a free loopback port, fresh copies of the module, a clock.
# Expects REPO and CRANE; sets INPUT (unless set), WORK, HOST, DOCKER_CONFIG.
# BENCH_RTT_MS (default 0): put the registry behind bench/latency-proxy.py, which delays the
# bytes each way by half this round-trip time, as a registry across a network would.
# BENCH_REGISTRY (default crane): `referrers` serves the same registry with the OCI 1.1
# referrers API switched on (testdata/referrers-registry, built into bench/out/ with go).

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
	[[ -n ${PROXY_PID:-} ]] && kill "$PROXY_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
case ${BENCH_REGISTRY:-crane} in
crane)
	"$CRANE" registry serve --address "127.0.0.1:$PORT" 2>"$WORK/registry.log" &
	REG_PID=$!
	ready="serving on port" log=$WORK/registry.log
	;;
referrers)
	REFREG=$REPO/bench/out/referrers-registry
	(cd "$REPO/testdata/referrers-registry" && go build -o "$REFREG.tmp" . && mv -f "$REFREG.tmp" "$REFREG") ||
		{
			echo "bench: building testdata/referrers-registry failed" >&2
			exit 1
		}
	"$REFREG" -addr "127.0.0.1:$PORT" >"$WORK/registry.out" 2>"$WORK/registry.log" &
	REG_PID=$!
	ready="listening on" log=$WORK/registry.out
	;;
*)
	echo "bench: BENCH_REGISTRY must be crane or referrers" >&2
	exit 1
	;;
esac
for _ in $(seq 100); do
	grep -q "$ready" "$log" 2>/dev/null && break
	sleep 0.05
done
# shellcheck disable=SC2034 # used by the scripts that source this
HOST=127.0.0.1:$PORT
RTT_MS=${BENCH_RTT_MS:-0}
if [[ ! $RTT_MS =~ ^[0-9]+$ ]]; then
	echo "bench: BENCH_RTT_MS must be a whole number of ms" >&2
	exit 1
fi
if ((RTT_MS > 0)); then
	PROXY_PORT=$(free_port)
	python3 "$REPO/bench/latency-proxy.py" "$PROXY_PORT" "$PORT" "$RTT_MS" \
		>"$WORK/proxy.out" 2>"$WORK/proxy.log" &
	PROXY_PID=$!
	for _ in $(seq 100); do
		grep -q listening "$WORK/proxy.out" 2>/dev/null && break
		sleep 0.05
	done
	# shellcheck disable=SC2034 # as above
	HOST=127.0.0.1:$PROXY_PORT
fi
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
