#!/usr/bin/env bash
# Benchmarks for `wasipack build` (issue 3), each against its peer in the same run, interleaved
# (peer, wasipack, peer, ...) after a warm-up so that drift in the machine hits both alike:
#   1. the post-build pipeline (rewrite, full check, SBOMs from a saved `go list`, OCI layout,
#      all-or-nothing write) on a 20 MB+ Go test binary vs `wasm-tools validate` alone
#      (target: <= 1.0x);
#   2. `wasipack build` of examples/hello with a warm Go cache vs bare `go build` with the same
#      flags (target: <= 1.10x). Warm for wasipack too: the compiled module is unchanged, so the
#      outputs are up to date and nothing is packaged again (docs/commands/build.md);
#   3. for information, the same with `--force`, which checks, packages and writes every time.
#   env: BENCH_RUNS (default 15)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_runs 15
WASM_TOOLS=${WASM_TOOLS:-$REPO/.tools/bin/wasm-tools}
[[ -x $WASM_TOOLS ]] || { echo "bench: $WASM_TOOLS missing (run scripts/install-tools.sh)" >&2; exit 1; }
echo "building release binaries..." >&2
cargo build --release --locked --quiet --bin wasipack --example post_build

OUT=$REPO/bench/out
mkdir -p "$OUT"
input=$OUT/net_http.test.wasm
if [[ ! -s $input ]]; then
	CGO_ENABLED=0 GOOS=wasip1 GOARCH=wasm go test -c -trimpath -buildvcs=false -o "$input.tmp" net/http
	mv -f "$input.tmp" "$input"
fi
list=$OUT/net_http.go-list.json
GOOS=wasip1 GOARCH=wasm go list -deps -json=ImportPath,Standard,Module net/http >"$list"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r examples/hello "$work/hello"
rm -rf "$work/hello/dist"

python3 - "$RUNS" "$WASM_TOOLS" "$REPO" "$input" "$list" "$work" <<'PY'
import os, shutil, subprocess, sys, time
from pairs import medians, verdict
runs, wasm_tools, repo, wasm, listing, work = int(sys.argv[1]), *sys.argv[2:]
wasipack = f"{repo}/target/release/wasipack"
post_build = f"{repo}/target/release/examples/post_build"
env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000", WASIPACK_CACHE=f"{work}/cache")
go_env = dict(env, GOOS="wasip1", GOARCH="wasm", CGO_ENABLED="0")

def timed(cmd, cwd=None, env=None, before=None):
    if before:
        before()
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t

def pair(name, peer, ours, target):
    ma, mb = medians(runs, peer, ours)
    r = mb / ma
    print(f"{name:<44} peer {ma:7.3f}s  wasipack {mb:7.3f}s  ratio {r:5.2f}  {verdict(r, target)}")

out = f"{work}/post"
pair(
    f"post-build pipeline, {os.path.getsize(wasm) / 2**20:.1f} MiB module",
    lambda: timed([wasm_tools, "validate", wasm]),
    lambda: timed([post_build, wasm, listing, out], env=env, before=lambda: shutil.rmtree(out, ignore_errors=True)),
    1.0,
)
hello = f"{work}/hello"
pair(
    "build examples/hello, warm Go cache",
    lambda: timed(["go", "build", "-trimpath", "-buildvcs=false", "-o", f"{work}/go-hello.wasm", "."], cwd=hello, env=go_env),
    lambda: timed([wasipack, "build", "."], cwd=hello, env=env),
    1.10,
)
pair(
    "build examples/hello --force (packages again)",
    lambda: timed(["go", "build", "-trimpath", "-buildvcs=false", "-o", f"{work}/go-hello.wasm", "."], cwd=hello, env=go_env),
    lambda: timed([wasipack, "build", ".", "--force"], cwd=hello, env=env),
    None,
)
PY
