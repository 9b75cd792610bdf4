"""A pool of many interpreters on a small machine: what does not need the cores. Start time of the
pool, memory per worker (PSS, so pages the interpreters share count once), and the per-item cost
of 200,000 × `x + 1` with that many workers against 2.

    scripts/devroot run python3 -m benchmarks.many_workers [--workers 64] [--items 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time

from . import workloads as w


def pss_mb() -> float:
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no Pss in smaps_rollup")


def per_item(pool, workers: int, items: int) -> float:
    from xparallel.backends.interpreters import engine_job
    import cloudpickle

    factory = cloudpickle.dumps(functools.partial(w.factory, "add_one"), protocol=5)
    data = list(range(items))
    started = time.perf_counter()
    job = engine_job(factory, data, workers, 0, True, items, pool=pool)
    job.wait()
    elapsed = time.perf_counter() - started
    assert not job.errors and job.results[-1] == items
    return elapsed / items


def measure(workers: int, items: int, repeat: int) -> dict:
    from xparallel import _engine

    import xparallel._worker  # noqa: F401 - imported here first, so only the interpreters count
    before = pss_mb()
    started = time.perf_counter()
    pool = _engine.Pool(workers, list(sys.path))
    pool.start()
    start_seconds = time.perf_counter() - started
    per_item(pool, workers, 1000)  # every worker has imported what a job needs
    pss = (pss_mb() - before) / workers
    costs = [per_item(pool, workers, items) for _ in range(repeat)]
    pool.shutdown()
    return {"workers": workers, "start_s": start_seconds, "pss_mb_per_worker": pss,
            "us_per_item": min(costs) * 1e6, "us_per_item_median": statistics.median(costs) * 1e6}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = [measure(2, args.items, args.repeat), measure(args.workers, args.items, args.repeat)]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {args.items:,} × x + 1,"
          f" best and median of {args.repeat}")
    print(f"{'workers':>8}{'start s':>10}{'PSS MB/worker':>15}{'µs/item':>10}{'median':>10}"
          f"{'vs 2':>8}")
    for row in rows:
        print(f"{row['workers']:>8}{row['start_s']:>10.3f}{row['pss_mb_per_worker']:>15.2f}"
              f"{row['us_per_item']:>10.3f}{row['us_per_item_median']:>10.3f}"
              f"{row['us_per_item'] / rows[0]['us_per_item']:>7.2f}×")
    return {"rows": rows}


if __name__ == "__main__":
    main()
