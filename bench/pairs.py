"""Shared by the bench scripts that time two commands in one run (bench/build.sh,
bench/build-wasip2.sh, bench/rebuild.sh): interleaved rounds and the verdict line."""
import statistics


def medians(runs, first, second):
    """Calls `first` and `second` (each returns the seconds it took) alternately, runs + 1
    times: the first round only warms the caches, so that drift in the machine hits both alike.
    Returns the two medians."""
    a, b = [], []
    for i in range(runs + 1):
        ta, tb = first(), second()
        if i:
            a.append(ta)
            b.append(tb)
    return statistics.median(a), statistics.median(b)


def verdict(ratio, target):
    """`target <= T  PASS|MISS`, or `(no target)` where target is None."""
    if target is None:
        return "(no target)"
    return f"target <= {target}  {'PASS' if ratio <= target else 'MISS'}"
