"""Robustness benchmarks of the engine, side by side with the standard library's pools.

    python -m benchmarks.robustness [--quick] [--workers N]

- skewed costs: `[cost(i) for i in range(301)]`, item 0 taking 1.5 s of CPU and the others 10 ms,
  against the ideal max(slowest item, total / workers);
- per-item overhead: 200,000 x `x + 1`;
- next job after an interrupt: workers stuck in `time.sleep(20)` are interrupted, how long until
  a trivial next map has run (what a user would do with each pool: the engine's cancel; for the
  stdlib pools `shutdown(wait=False, cancel_futures=True)` and a new pool, since their workers
  cannot be interrupted).

The item functions live here, at module level, because the stdlib pools cannot run functions
defined in `__main__`.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import sys
import time
from typing import Any, Callable

SLOW_SECONDS = 1.5
FAST_SECONDS = 0.010
SKEW_ITEMS = 301


def spin(seconds: float) -> None:
    """Stays busy for `seconds` of wall time. Not CPU time: on a machine shared with other work
    a CPU-time cost stretches by the load, and the ideal below would no longer hold; a wall-time
    cost keeps what is measured (how the pool schedules skewed items) independent of the load."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def cost(i: int) -> int:
    spin(SLOW_SECONDS if i == 0 else FAST_SECONDS)
    return i


def cost_factory() -> Callable[[int], int]:
    return cost


def add_one(x: int) -> int:
    return x + 1


def add_one_factory() -> Callable[[int], int]:
    return add_one


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def nap_factory() -> Callable[[float], float]:
    return nap


def stubborn(seconds: float) -> float:
    """Ignores interrupts (a loop that catches BaseException) for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(0.01)
        except BaseException:  # noqa: BLE001 - the point of this item
            pass
    return seconds


def stubborn_factory() -> Callable[[float], float]:
    return stubborn


def engine_map(factory: Callable[[], Callable[[Any], Any]], items: Any, workers: int,
               chunksize: int = 0, timeline: list | None = None) -> list:
    from xparallel import engine

    job = engine.submit(factory, items, workers=workers, chunksize=chunksize)
    job.wait()
    assert not job.errors, job.errors[:1]
    if timeline is not None:
        timeline.extend(job.timeline())
    return job.results


def idle_share(rows: list, workers: int) -> float:
    """The share of the workers' time spent idle between their first and the job's last chunk
    end: what head-of-line blocking costs, whatever the machine's load (a loaded machine
    stretches the chunks themselves, not this)."""
    end = max(row[4] for row in rows)
    busy = sum(row[4] - row[3] for row in rows)
    return max(0.0, 1.0 - busy / (workers * end))


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def skewed(workers: int, items: int, rounds: int) -> dict:
    ideal = max(SLOW_SECONDS, (SLOW_SECONDS + (items - 1) * FAST_SECONDS) / workers)
    expected = list(range(items))
    times: dict[str, list[float]] = {"engine": [], "ProcessPoolExecutor": [],
                                     "InterpreterPoolExecutor": []}
    with cf.ProcessPoolExecutor(workers) as processes, \
            cf.InterpreterPoolExecutor(workers) as interpreters:
        for pool in (processes, interpreters):
            list(pool.map(add_one, range(workers)))  # started
        engine_map(add_one_factory, range(workers), workers)
        idle: list[float] = []
        waiting: list[float] = []
        for _ in range(rounds):  # rounds interleave the contenders: drift hits them alike
            rows: list = []
            times["engine"].append(timed(
                lambda: _check(engine_map(cost_factory, range(items), workers, timeline=rows),
                               expected)))
            idle.append(idle_share(rows, workers))
            waiting.append(sum(row[6] for row in rows if len(row) > 6))
            times["ProcessPoolExecutor"].append(timed(
                lambda: _check(list(processes.map(cost, range(items))), expected)))
            times["InterpreterPoolExecutor"].append(timed(
                lambda: _check(list(interpreters.map(cost, range(items))), expected)))
    best = {name: min(values) for name, values in times.items()}
    return {"ideal_s": ideal, "seconds": best,
            "ratio_to_ideal": {name: value / ideal for name, value in best.items()},
            "engine_idle_share": min(idle),
            "engine_wait_for_core_s": min(waiting),
            "loadavg": os.getloadavg()[0]}


def _check(results: list, expected: list) -> None:
    assert results == expected, "results out of order"


def per_item(workers: int, count: int, rounds: int) -> dict:
    items = range(count)
    engine_map(add_one_factory, range(workers), workers)
    seconds = min(timed(lambda: engine_map(add_one_factory, items, workers))
                  for _ in range(rounds))
    return {"items": count, "seconds": seconds, "us_per_item": seconds / count * 1e6}


def _engine_next_job(workers: int, factory: Callable[[], Callable[[float], float]],
                     seconds: float) -> float:
    from xparallel import engine

    pool = engine.get_pool(workers)
    engine_map(add_one_factory, range(workers), workers)
    job = engine.submit(factory, [seconds] * (2 * workers), workers=workers, chunksize=1)
    while pool.states() != ["busy"] * workers:  # every worker is inside its first item
        job.pump(0.01)
    started = time.perf_counter()
    job.cancel()  # what the magic does on KeyboardInterrupt
    engine_map(add_one_factory, range(2 * workers), workers)
    elapsed = time.perf_counter() - started
    while pool.set_aside:  # set-aside workers end when their item returns: not in later figures
        time.sleep(0.1)
    return elapsed


def _stdlib_next_job(make: Callable[[], cf.Executor], workers: int) -> float:
    pool = make()
    list(pool.map(add_one, range(workers)))
    futures = [pool.submit(nap, 20.0) for _ in range(2 * workers)]
    time.sleep(0.3)
    started = time.perf_counter()
    pool.shutdown(wait=False, cancel_futures=True)  # a stdlib pool cannot interrupt its workers
    fresh = make()
    list(fresh.map(add_one, range(2 * workers)))
    elapsed = time.perf_counter() - started
    fresh.shutdown()
    pool.shutdown(wait=True)  # the stuck workers still hold it until their sleep ends
    del futures
    return elapsed


def next_job_after_interrupt(workers: int) -> dict:
    return {
        "engine (time.sleep woken)": _engine_next_job(workers, nap_factory, 20.0),
        "engine (items catch BaseException: set aside)":
            _engine_next_job(workers, stubborn_factory, 4.0),
        "ProcessPoolExecutor (new pool)":
            _stdlib_next_job(lambda: cf.ProcessPoolExecutor(workers), workers),
        "InterpreterPoolExecutor (new pool)":
            _stdlib_next_job(lambda: cf.InterpreterPoolExecutor(workers), workers),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.robustness",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one round each")
    parser.add_argument("--skip-interrupt", action="store_true",
                        help="leave out the interrupt benchmark (it waits for stuck stdlib pools)")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 3

    results: dict = {"workers": args.workers, "python": sys.version.split()[0]}
    results["skewed"] = skewed(args.workers, SKEW_ITEMS, rounds)
    results["per_item"] = per_item(args.workers, 200_000, rounds)
    if not args.skip_interrupt:
        results["next_job_after_interrupt_s"] = next_job_after_interrupt(args.workers)

    skew = results["skewed"]
    print(f"\n### Skewed costs: 1 item of {SLOW_SECONDS} s + {SKEW_ITEMS - 1} of "
          f"{FAST_SECONDS * 1000:.0f} ms, {args.workers} workers, ideal {skew['ideal_s']:.2f} s\n")
    print("| pool | seconds | x ideal (goal <= 1.1) |\n|---|---|---|")
    for name, seconds in skew["seconds"].items():
        print(f"| {name} | {seconds:.2f} | {skew['ratio_to_ideal'][name]:.2f} |")
    print(f"\nEngine workers idle {skew['engine_idle_share']:.1%} of the run; its threads waited "
          f"{skew['engine_wait_for_core_s']:.2f} s for a core (load average "
          f"{skew['loadavg']:.1f}: above the core count, every contender stretches).")
    item = results["per_item"]
    print(f"\n### Per-item overhead: {item['items']:,} x `x + 1`\n")
    print(f"| pool | us/item |\n|---|---|\n| engine | {item['us_per_item']:.3f} |")
    if "next_job_after_interrupt_s" in results:
        print("\n### Next job after interrupting workers stuck in time.sleep(20) (goal < 1 s)\n")
        print("| pool | seconds |\n|---|---|")
        for name, seconds in results["next_job_after_interrupt_s"].items():
            print(f"| {name} | {seconds:.3f} |")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
