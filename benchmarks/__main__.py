"""Runs every benchmark in one process, side by side, and writes the ratios to a file.

    python -m benchmarks [--quick] [--out PATH]

Timing goals are ratios measured in the same run, never absolute timings in tests (DESIGN §6).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

from . import workloads as w

sys.setrecursionlimit(10_000)


def timed(function: Callable[[], object], repeat: int = 1) -> float:
    best = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best.append(time.perf_counter() - started)
    return statistics.median(best)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def engine_map(factory, items, workers: int, chunksize: int = 0) -> list:
    from xparallel import engine

    job = engine.submit(factory, items, workers=workers, chunksize=chunksize)
    while not job.pump(0.05):
        pass
    assert not job.errors, job.errors
    return job.results


def cpu_bound(workers: int, n: int, count: int, rounds: int = 3) -> dict:
    """Rounds interleave every contender, so that drift in the machine's speed (a shared VM) hits
    them alike; each figure is the median of its rounds."""
    items = [n] * count
    times: dict[str, list[float]] = {}
    with cf.ThreadPoolExecutor(workers) as threads, cf.ProcessPoolExecutor(workers) as processes, \
            cf.InterpreterPoolExecutor(workers) as interpreters:
        for pool in (processes, interpreters):
            list(pool.map(w.add_one, range(workers)))  # started
        engine_map(w.add_one_factory, range(workers), workers)
        contenders = {
            "serial": lambda: [w.fib(x) for x in items],
            "ThreadPoolExecutor": lambda: list(threads.map(w.fib, items)),
            "ProcessPoolExecutor": lambda: list(processes.map(w.fib, items)),
            "InterpreterPoolExecutor": lambda: list(interpreters.map(w.fib, items)),
            "xparallel engine": lambda: engine_map(w.fib_factory, items, workers),
        }
        for _ in range(rounds):
            for name, run in contenders.items():
                times.setdefault(name, []).append(timed(run))
    serial = statistics.median(times["serial"])
    return {name: {"seconds": statistics.median(t), "speedup": serial / statistics.median(t)}
            for name, t in times.items()}


def per_item(workers: int, count: int) -> dict:
    items = range(count)
    rows = {}
    rows["serial (plain loop)"] = timed(lambda: [w.add_one(x) for x in items], 3) / count
    with cf.ThreadPoolExecutor(workers) as ex:
        small = range(min(count, 50_000))
        rows["ThreadPoolExecutor"] = timed(lambda: list(ex.map(w.add_one, small))) / len(small)
    with cf.ProcessPoolExecutor(workers) as ex:
        list(ex.map(w.add_one, range(workers)))
        rows["ProcessPoolExecutor(chunksize=1000)"] = timed(
            lambda: list(ex.map(w.add_one, items, chunksize=1000)), 3) / count
    with cf.InterpreterPoolExecutor(workers) as ex:
        small = range(min(count, 5_000))  # ~77 µs an item: a sample is enough
        list(ex.map(w.add_one, range(workers)))
        rows["InterpreterPoolExecutor"] = timed(lambda: list(ex.map(w.add_one, small))) / len(small)
    engine_map(w.add_one_factory, range(workers), workers)
    rows["xparallel engine"] = timed(lambda: engine_map(w.add_one_factory, items, workers), 3) / count
    return {name: {"us_per_item": s * 1e6} for name, s in rows.items()}


def cold_start(workers: int) -> dict:
    from xparallel import _engine

    def engine_cold():
        pool = _engine.Pool(workers, list(sys.path))
        pool.start()
        import pickle

        import cloudpickle

        job = pool.submit(cloudpickle.dumps(w.add_one_factory), iter(range(2)),
                          pickle.dumps(list(sys.path)), 0, True, 2)
        while not job.pump(0.01):
            pass
        pool.shutdown()

    def executor_cold(kind):
        with kind(workers) as ex:
            list(ex.map(w.add_one, range(2)))

    rows = {
        "ProcessPoolExecutor": timed(lambda: executor_cold(cf.ProcessPoolExecutor), 5),
        "InterpreterPoolExecutor": timed(lambda: executor_cold(cf.InterpreterPoolExecutor), 5),
        "xparallel engine": timed(engine_cold, 5),
    }
    return {name: {"ms": s * 1e3} for name, s in rows.items()}


def memory_per_worker(workers: int) -> dict:
    from xparallel import _engine

    import xparallel._worker  # noqa: F401 - imported here too, so only the interpreters count
    before = rss_mb()
    pool = _engine.Pool(workers, list(sys.path))
    pool.start()
    engine_map(w.add_one_factory, range(100), workers)
    after = rss_mb()
    pool.shutdown()
    return {"xparallel engine": {"mb_per_worker": (after - before) / workers, "workers": workers}}


def magic_overhead(workers: int, fib_n: int, count: int) -> dict:
    """The magic end to end in an IPython shell (no widgets): a warm 2-item cell, and the
    CPU-bound cell against the engine alone."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "xparallel")
    shell.user_ns["fib"] = w.fib
    cell = "r = [x + 1 for x in range(2)]"
    shell.run_cell_magic("parallel", f"-b interpreters -w {workers} --quiet", cell)
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        warm = timed(lambda: shell.run_cell_magic("parallel", f"-b interpreters -w {workers} --quiet", cell), 50)
    with cf.InterpreterPoolExecutor(workers) as ex:
        list(ex.map(w.add_one, range(2)))
        ipe = timed(lambda: list(ex.map(w.add_one, range(2))), 50)
    cpu_cell = f"r = [fib({fib_n}) for _ in range({count})]"
    magic_runs, alone_runs = [], []
    for _ in range(5):  # interleaved, so that drift in the machine's speed hits both alike
        with contextlib.redirect_stdout(io.StringIO()):
            magic_runs.append(timed(lambda: shell.run_cell_magic(
                "parallel", f"-b interpreters -w {workers} --quiet", cpu_cell)))
        alone_runs.append(timed(lambda: engine_map(w.fib_factory, [fib_n] * count, workers)))
    magic, alone = statistics.median(magic_runs), statistics.median(alone_runs)
    return {"warm 2-item cell": {"ms": warm * 1e3, "InterpreterPoolExecutor.map ms": ipe * 1e3},
            "CPU-bound cell": {"magic s": magic, "engine alone s": alone,
                               "magic / engine": magic / alone}}


def progress_cost(fib_n: int, count: int) -> dict:
    """Widgets on vs --quiet, through a real xparallel kernel (comm messages really sent).

    Wall times on a shared 2-core VM drift by more than the effect, so the figure that decides is
    the kernel main thread's extra CPU time with widgets, as a share of the run's wall time: with
    every core busy, that is what progress takes from the workers."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from kernel_client import execute, start, stop, value

    km, kc = start("xparallel")
    try:
        execute(kc, "import sys, time; sys.setrecursionlimit(10000)\nfrom benchmarks.workloads import fib")
        cell = f"r = [fib({fib_n}) for _ in range({count})]"
        runs: dict[str, list] = {"widgets": [], "quiet": []}
        execute(kc, "%env XPARALLEL_PROGRESS=widgets")
        for _ in range(5):
            for mode, flag in (("widgets", ""), ("quiet", "--quiet")):
                execute(kc, "_cpu0 = time.thread_time()")
                run = execute(kc, f"%%parallel -b interpreters {flag}\n{cell}", timeout=300)
                assert run.status == "ok", run.stderr
                main_cpu, wall = value(kc, "(time.thread_time() - _cpu0, _parallel.wall)")
                runs[mode].append((wall, main_cpu))
                if mode == "widgets":
                    assert run.of_type("comm_msg"), "no widget updates were sent"
        wall_on = statistics.median(w for w, _ in runs["widgets"])
        wall_off = statistics.median(w for w, _ in runs["quiet"])
        cpu_on = statistics.median(c for _, c in runs["widgets"])
        cpu_off = statistics.median(c for _, c in runs["quiet"])
        return {"widgets wall s": wall_on, "quiet wall s": wall_off,
                "wall difference %": (wall_on / wall_off - 1) * 100,
                "main-thread CPU widgets s": cpu_on, "main-thread CPU quiet s": cpu_off,
                "progress cost % of wall": (cpu_on - cpu_off) / wall_off * 100}
    finally:
        stop(km, kc)


def kernel_start() -> dict:
    from jupyter_client.manager import start_new_kernel

    rows = {}
    for name in ("xparallel", "python3"):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            km, kc = start_new_kernel(kernel_name=name, startup_timeout=60)
            times.append(time.perf_counter() - started)
            process = km.provisioner.process
            kc.stop_channels()
            km.shutdown_kernel(now=False)
            rows.setdefault(f"{name} exit codes", []).append(process.wait(10))
        rows[f"{name} start to ready s"] = statistics.median(times)
    rows["ipykernel is the python3 kernel"] = True
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--out", default=os.environ.get("XPARALLEL_BUILD", "build") + "/benchmarks/results.json")
    args = parser.parse_args()
    workers = 2
    fib_n, fib_count = (22, 16) if args.quick else (27, 64)
    progress_n = 22 if args.quick else 28
    items = 20_000 if args.quick else 200_000
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    steps = [
        ("cpu_bound", lambda: cpu_bound(workers, fib_n, fib_count)),
        ("per_item", lambda: per_item(workers, items)),
        ("cold_start", lambda: cold_start(workers)),
        ("memory", lambda: memory_per_worker(4)),
        ("magic", lambda: magic_overhead(workers, fib_n, fib_count)),
        ("progress", lambda: progress_cost(progress_n, fib_count)),
        ("kernel_start", kernel_start),
    ]
    for name, step in steps:
        results[name] = step()
        print(f"## {name}\n{json.dumps(results[name], indent=2)}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
