"""Where the time of `wasipack push --keyless` goes (bench/keyless.sh, BENCH_PHASES=N): reads
the `strace -f -tt` traces of N pushes (network writes only, with the first bytes of each) and
prints, for each step of the push, the median time from the process's start to its first
request, and the time between one step and the next (median, least, most).

    python3 bench/keyless_phases.py TRACE...

A step is found by its first HTTP request: Fulcio's `signingCert`, Rekor's `log/entries`, the
timestamp authority's `timestamp`, the first registry request (`/v2/`), the manifest stored
under its tag (PUT of a manifest by tag, not by digest, not the fallback tag), the fallback
index written (PUT of `sha256-HEX`); the last is the process's exit. A step the push did not
take (no fallback index on a registry with the referrers API) is left out."""
import re
import statistics
import sys

REQUEST = re.compile(
    r'\d+ +(\d+):(\d+):([\d.]+) \w+\(\d+, (?:\[\{iov_base=)?"(GET|PUT|POST|HEAD|PATCH) (\S+)'
)
CLOCK = re.compile(r"\d+ +(\d+):(\d+):([\d.]+) ")

STEPS = [
    ("Fulcio request (start-up before it)", lambda m, p: "/signingCert" in p),
    ("Rekor request (certificate, signing)", lambda m, p: "/log/entries" in p),
    ("TSA request (the log's answer)", lambda m, p: "/timestamp" in p),
    ("first registry request", lambda m, p: p.startswith("/v2/")),
    (
        "manifest under its tag (the module's upload)",
        lambda m, p: m == "PUT" and re.search(r"/manifests/(?!sha256[:-])[^/]+$", p),
    ),
    (
        "fallback index written (bundles, referrers)",
        lambda m, p: m == "PUT" and re.search(r"/manifests/sha256-[0-9a-f]{64}$", p),
    ),
]
EXIT = "exit (on crane: the fallback index watched)"


def seconds(match):
    h, m, s = match.group(1), match.group(2), match.group(3)
    return int(h) * 3600 + int(m) * 60 + float(s)


def steps_of(path):
    """{step: seconds since the trace's first line}, and EXIT."""
    lines = open(path).read().splitlines()
    start, end = seconds(CLOCK.match(lines[0])), seconds(CLOCK.match(lines[-1]))
    found = {}
    for line in lines:
        req = REQUEST.match(line)
        if not req:
            continue
        method, path_ = req.group(4), req.group(5)
        for name, test in STEPS:
            if name not in found and test(method, path_):
                found[name] = seconds(req) - start
    found[EXIT] = end - start
    return found


def main(paths):
    runs = [steps_of(p) for p in paths]
    names = [n for n, _ in STEPS if all(n in r for r in runs)] + [EXIT]
    print(f"push --keyless, {len(runs)} traced runs (strace slows it a little): median s")
    print(f"  {'step':<48} {'at':>7} {'since the step before':>22} {'(min-max)':>13}")
    before = None
    for name in names:
        at = statistics.median(r[name] for r in runs)
        gaps = [r[name] - (r[before] if before else 0) for r in runs]
        spread = f"{min(gaps):.3f}-{max(gaps):.3f}"
        print(f"  {name:<48} {at:7.3f} {statistics.median(gaps):22.3f} {spread:>13}")
        before = name


if __name__ == "__main__":
    main(sys.argv[1:])
