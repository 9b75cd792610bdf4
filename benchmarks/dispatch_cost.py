"""The dispatcher's own cost, the figures issue 17 keeps within 10 %: the engine's per-item cost
(200,000 × `x + 1` on 2 interpreters, through the engine API) and the magic's warm-cell cost
(2 trivial items, `%%parallel -b interpreters -w 2 --quiet` end to end). Repeated, interleaved;
prints min and median with the load average.

    scripts/devroot run python3 -m benchmarks.dispatch_cost [--repeat 15] [--items 200000]
    scripts/devroot run python3 -m benchmarks.dispatch_cost --against /src/build/base/prefix/python

`--against PYTHONPATH` runs this build and another (an older build installed elsewhere) in turn,
each in its own process, `--rounds` times, and prints both side by side (best of all rounds).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import json
import statistics
import subprocess
import sys
import time

from . import workloads as w

WORKERS = 2


def per_item(items: int) -> tuple[float, float]:
    """(wall seconds per item, the notebook's main thread's CPU seconds per item): the second is
    the dispatcher's own cost, which a loaded machine does not blur as much."""
    from xparallel import engine

    data = list(range(items))
    started, cpu = time.perf_counter(), time.thread_time()
    job = engine.submit(functools.partial(w.factory, "add_one"), data, workers=WORKERS)
    if hasattr(job, "wait"):
        job.wait()
    else:  # a build before the one dispatcher (compared side by side: --against)
        while not job.pump(0.05):
            pass
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    assert job.results[-1] == items and not job.errors
    return elapsed / items, cpu / items


def warm_cell(shell) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_cell_magic("parallel", f"-b interpreters -w {WORKERS} --quiet",
                             "r = [x + 1 for x in range(2)]")
    elapsed = time.perf_counter() - started
    assert shell.user_ns["r"] == [1, 2]
    return elapsed


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--against", help="PYTHONPATH of another build to compare with")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.against:
        return side_by_side(args)
    from xparallel import engine
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "xparallel")
    engine.get_pool(WORKERS)
    per_item(args.items)  # warm: imports, the interpreters' first job
    for _ in range(5):
        warm_cell(shell)
    items, main_cpu, cells = [], [], []
    load_before = os.getloadavg()[0]
    for _ in range(args.repeat):
        wall, cpu = per_item(args.items)
        items.append(wall)
        main_cpu.append(cpu)
        for _ in range(5):
            cells.append(warm_cell(shell))
    load_after = os.getloadavg()[0]
    rows = {"per item, µs (x + 1, 2 interpreters)": [x * 1e6 for x in items],
            "  of which the main thread's CPU, µs": [x * 1e6 for x in main_cpu],
            "warm cell, ms (2 items, magic, interpreters)": [x * 1e3 for x in cells]}
    figures = {name: {"min": min(v), "median": statistics.median(v)} for name, v in rows.items()}
    if args.json:
        print(json.dumps(figures))
        return figures
    print(f"load average {load_before:.2f} before, {load_after:.2f} after; "
          f"{args.repeat} rounds of {args.items:,} items and 5 warm cells each")
    print(f"{'figure':<50}{'min':>10}{'median':>10}")
    for name, values in rows.items():
        print(f"{name:<50}{min(values):>10.3f}{statistics.median(values):>10.3f}")
    return figures


def side_by_side(args: argparse.Namespace) -> dict:
    """This build and `args.against`, alternately, each round in fresh processes."""
    import os as _os

    builds = {"this build": _os.environ.get("PYTHONPATH", ""), "against": args.against}
    found: dict[str, list[dict]] = {name: [] for name in builds}
    loads = []
    for _ in range(args.rounds):
        for name, path in builds.items():
            loads.append(_os.getloadavg()[0])
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.dispatch_cost", "--json", "--repeat",
                 str(args.repeat), "--items", str(args.items)],
                env={**_os.environ, "PYTHONPATH": path}, capture_output=True, text=True,
                check=True)
            found[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"load average {min(loads):.2f}–{max(loads):.2f}; {args.rounds} alternating rounds of "
          f"{args.repeat} × {args.items:,} items and 5 warm cells each; best / median of medians")
    figures = list(found["this build"][0])
    print(f"{'figure':<50}{'this build':>16}{'against':>16}{'ratio (best)':>14}")
    result = {}
    for figure in figures:
        best = {n: min(r[figure]["min"] for r in rows) for n, rows in found.items()}
        median = {n: statistics.median(r[figure]["median"] for r in rows)
                  for n, rows in found.items()}
        print(f"{figure:<50}{best['this build']:>8.3f} /{median['this build']:>6.3f}"
              f"{best['against']:>8.3f} /{median['against']:>6.3f}"
              f"{best['this build'] / best['against']:>13.2f}×")
        result[figure] = {"best": best, "median": median}
    return result


if __name__ == "__main__":
    main()
