#!/usr/bin/env bash
# Benchmark for `wasipack build --target wasip2` with Go (issue 15): the same program
# (testdata/go-dep, a command using github.com/google/uuid) built as a wasip1 module and as a
# wasip2 component, in the same run, interleaved (wasip1, wasip2, wasip1, ...) after a warm-up:
#   `wasipack build --force --target wasip2` vs `wasipack build --force` (wasip1)
#   (target: <= 1.3x). Both with a warm Go cache and `--force`, so that each run asks Go (which
#   finds its link up to date), strips, checks, makes the SBOMs and writes the layout; the
#   component's run adds the overlay, the WIT embedding and the adapter (wit-component) and a
#   larger module to check.
#   env: BENCH_RUNS (default 15), WASIPACK (a binary to time instead of building the release one)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_runs 15
bench_wasipack

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r testdata/go-dep "$work/p"
rm -rf "$work/p/dist"

python3 - "$RUNS" "$WASIPACK" "$work" <<'PY'
import os, subprocess, sys, time
from pairs import medians, verdict
runs, wasipack, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000", WASIPACK_CACHE=f"{work}/cache")
project = f"{work}/p"

def build(target, output):
    cmd = [wasipack, "build", project, "--force", "--name", "dep", "--target", target,
           "--output", f"{project}/{output}"]
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t

ma, mb = medians(runs, lambda: build("wasip1", "p1"), lambda: build("wasip2", "p2"))
r = mb / ma
sizes = [os.path.getsize(f"{project}/{d}/dep.wasm") for d in ("p1", "p2")]
print(f"module sizes: wasip1 {sizes[0]} bytes, wasip2 component {sizes[1]} bytes")
print(f"{'build --force: wasip2 component vs wasip1':<44} wasip1 {ma:7.3f}s  wasip2 {mb:7.3f}s  "
      f"ratio {r:5.2f}  {verdict(r, 1.3)}  ({runs} runs, medians)")
PY
