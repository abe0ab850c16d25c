"""What the per-image bootstrap interval costs: scipy's BCa against licbench's, side by side.

For n = 2,000, 8,000 and 16,000 per-image BD-rates (skewed: a lognormal tail of hard images)
and for the mean, the median and ``both`` (the two intervals a run computes for one (codec,
metric) pair; the interval shown is the mean's), one fresh Python process per measurement runs

* ``scipy``: ``scipy.stats.bootstrap(method="BCa")``, 2,000 resamples, seeded — what
  ``licbench.results.statistics.bootstrap_interval`` called before (its jackknife materialises
  n leave-one-out copies of the data: O(n²) time and memory); ``both`` is two calls, or
* ``licbench``: ``bootstrap_interval`` now (analytic jackknife, resamples drawn in batches);
  ``both`` is ``bootstrap_intervals`` (one pass over the resamples for the two statistics),

and reports the call's wall time and the process's peak RSS (``resource.getrusage``) before and
after the call, so the growth is the call's own. The two alternate, so a change in the machine's
load falls on both alike. The intervals are printed side by side with their largest difference
relative to the interval's width (the median's are bit-identical; the mean's differ by the
rounding of the analytic leave-one-out means).

    python benchmarks/bootstrap_cost.py [--sizes 2000,8000,16000] [--json F]

Goals (issue 19, item 7): time linear in n; the call's memory bounded (not growing with n²).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def values(n: int):
    """n skewed per-image BD-rates (%): most images around −20 %, a tail of hard ones."""
    import numpy as np

    rng = np.random.default_rng(n)
    return -25.0 + 3.0 * rng.lognormal(0.5, 0.9, n) + rng.normal(0.0, 2.0, n)


def scipy_interval(data, statistic: str, resamples: int = 2000, seed: int = 0):
    """The former ``bootstrap_interval``: scipy's BCa, else its percentile interval."""
    import warnings

    import numpy as np
    from scipy import stats

    function = np.mean if statistic == "mean" else np.median
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.bootstrap(
                (data,),
                function,
                n_resamples=resamples,
                method=method,
                random_state=np.random.default_rng(seed),
            )
        low, high = (float(v) for v in result.confidence_interval)
        if math.isfinite(low) and math.isfinite(high):
            return low, high, method
    return math.nan, math.nan, "percentile"


def child(impl: str, n: int, statistic: str) -> dict:
    """One measurement, in this (fresh) process."""
    import resource

    import numpy as np  # noqa: F401  (imported before the baseline, as in a run)
    import scipy.stats  # noqa: F401

    import licbench.results.bootstrap  # noqa: F401  (imported by a run before its summaries)
    from licbench.results.statistics import bootstrap_interval, bootstrap_intervals

    data = values(n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if statistic == "both" and impl == "scipy":  # what one (codec, metric) pair costs
        low, high, method = scipy_interval(data, "mean")
        scipy_interval(data, "median")
    elif statistic == "both":
        interval, method = bootstrap_intervals(data)["mean"]
        low, high = interval.low, interval.high
    elif impl == "scipy":
        low, high, method = scipy_interval(data, statistic)
    else:
        interval, method = bootstrap_interval(data, statistic)
        low, high = interval.low, interval.high
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "impl": impl,
        "n": n,
        "statistic": statistic,
        "seconds": seconds,
        "rss_before_mb": before / 1024,
        "rss_peak_mb": peak / 1024,
        "interval": [low, high],
        "method": method,
    }


def measure(impl: str, n: int, statistic: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [sys.executable, __file__, "--child", impl, str(n), statistic],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,8000,16000", help="numbers of images")
    parser.add_argument("--json", help="write the measurements here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        impl, n, statistic = args.child
        print(json.dumps(child(impl, int(n), statistic)))
        return 0

    print(f"load average before: {os.getloadavg()}")
    rows = []
    header = (
        f"{'n':>6} {'stat':>6} | {'scipy s':>8} {'MB +':>7} {'peak MB':>8} | "
        f"{'licbench s':>10} {'MB +':>6} {'peak MB':>8} | {'time ratio':>10} | "
        f"{'max |Δ| / width':>15} method"
    )
    print(header)
    for n in (int(s) for s in args.sizes.split(",")):
        for statistic in ("mean", "median", "both"):
            old = measure("scipy", n, statistic)
            new = measure("licbench", n, statistic)
            width = old["interval"][1] - old["interval"][0]
            delta = max(abs(a - b) for a, b in zip(old["interval"], new["interval"], strict=True))
            rows.append({"scipy": old, "licbench": new, "max_abs_diff_over_width": delta / width})
            grow_old = old["rss_peak_mb"] - old["rss_before_mb"]
            grow_new = new["rss_peak_mb"] - new["rss_before_mb"]
            print(
                f"{n:>6} {statistic:>6} | {old['seconds']:>8.2f} {grow_old:>7.0f} "
                f"{old['rss_peak_mb']:>8.0f} | {new['seconds']:>10.3f} {grow_new:>6.0f} "
                f"{new['rss_peak_mb']:>8.0f} | {old['seconds'] / new['seconds']:>9.1f}× | "
                f"{delta / width:>15.1e} {old['method']}/{new['method']}"
            )
    print(f"load average after: {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
