"""10 million items from a generator (`x + 1` on 2 interpreters, through the engine API): the input
is consumed with bounded look-ahead, so memory grows with the results (a list of ints), never
with the input; and the time per item stays at the 200,000-item figure.

    scripts/devroot run python3 -m benchmarks.many_items [--items 10000000] [--reference 200000]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

from . import workloads as w
from .memory import PeakSampler

WORKERS = 2


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def results_mb(results: list) -> float:
    """What the results themselves take: the list and its int objects (small ints are shared)."""
    return (sys.getsizeof(results) + sum(sys.getsizeof(r) for r in results if r > 256)) / 2**20


def run(items: int) -> dict:
    from xparallel import engine

    job = engine.submit(functools.partial(w.factory, "add_one"), (x for x in range(items)),
                        workers=WORKERS)
    before = rss_mb()
    with PeakSampler(os.getpid(), interval=0.05) as peak:
        started = time.perf_counter()
        job.wait()
        elapsed = time.perf_counter() - started
    assert not job.errors and len(job.results) == items and job.results[-1] == items
    figures = {"items": items, "us_per_item": elapsed / items * 1e6,
               "rise_mb": peak.rise / 2**20, "rss_growth_mb": rss_mb() - before,
               "results_mb": results_mb(job.results)}
    del job
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000_000)
    parser.add_argument("--reference", type=int, default=200_000)
    args = parser.parse_args(argv)
    from xparallel import engine

    engine.get_pool(WORKERS)
    run(1000)  # warm
    rows = [run(args.reference), run(args.items)]
    print(f"load average {os.getloadavg()[0]:.2f}; a generator of `x` → `x + 1` on "
          f"{WORKERS} interpreters")
    print(f"{'items':>12}{'µs/item':>10}{'peak rise MB':>14}{'results MB':>12}{'rise/results':>14}")
    for row in rows:
        print(f"{row['items']:>12,}{row['us_per_item']:>10.3f}{row['rise_mb']:>14.1f}"
              f"{row['results_mb']:>12.1f}{row['rise_mb'] / max(row['results_mb'], 1e-9):>14.2f}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
