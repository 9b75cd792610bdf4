"""xparallel's own goals from DESIGN §6 that have no peer to run against: the magic end to end
against calling a library directly, memory per interpreter worker, the cost of live progress,
kernel start, and the issue-13 NumPy cell in a real kernel."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

from . import contenders as c
from . import workloads as w
from .memory import PeakSampler

ROOT = Path(__file__).resolve().parent.parent


def _median_spread(times: list[float], scale: float) -> dict:
    """Median and 10th–90th percentiles (one slow call in 50, a scheduler hiccup on a shared VM,
    would make min–max say nothing)."""
    deciles = statistics.quantiles(times, n=10)
    return {"ms": statistics.median(times) * scale,
            "spread": [deciles[0] * scale, deciles[-1] * scale], "ok": True}


def warm_cell(repeat: int, log) -> dict:
    """A warm 2-item cell through the magic (parse, capture, dispatch, gather) against the same
    2 items through each library's own call."""
    shell = c.ipython_shell()
    rows: dict[str, dict] = {}

    def magic(backend: str):
        def run():
            with contextlib.redirect_stdout(io.StringIO()):
                shell.run_cell_magic("parallel", f"-b {backend} -w {c.WORKERS} --quiet",
                                     "r = [x + 1 for x in range(2)]")
            assert shell.user_ns["r"] == [1, 2]
        return run

    engine = c.XparallelEngine()
    engine.open()
    calls = {f"%%parallel -b {b} (2 items, magic end to end)": magic(b)
             for b in ("interpreters", "threads", "processes")}
    calls["xparallel engine API (2 items)"] = lambda: engine.map("add_one", [0, 1])
    pools = {"ThreadPoolExecutor": cf.ThreadPoolExecutor(c.WORKERS),
             "ProcessPoolExecutor": cf.ProcessPoolExecutor(c.WORKERS),
             "InterpreterPoolExecutor": cf.InterpreterPoolExecutor(c.WORKERS)}
    for name, pool in pools.items():
        calls[f"{name}.map (2 items)"] = (lambda p: lambda: list(p.map(w.add_one, [0, 1])))(pool)
    try:
        for run in calls.values():  # warm
            run()
        times: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(repeat):
            for name, run in calls.items():
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
    finally:
        for pool in pools.values():
            pool.shutdown()
    for name, t in times.items():
        rows[name] = _median_spread(t, 1e3)
        log(f"  {name}: {rows[name]['ms']:.2f} ms")
    return {"title": "Warm cell: the magic end to end against calling the library directly",
            "what": f"2 trivial items on a warm pool of {c.WORKERS}; the magic without widgets "
                    "(--quiet) includes parsing the cell, capturing names and assigning the "
                    f"result; median of {repeat} interleaved calls, spread: 10th–90th percentile",
            "key": "ms", "unit": "ms", "higher_is_better": False, "rows": rows}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_per_worker(workers: int) -> dict:
    from xparallel import _engine

    import xparallel._worker  # noqa: F401 - imported here too, so only the interpreters count
    before = rss_mb()
    pool = _engine.Pool(workers, list(sys.path))
    pool.start()
    from xparallel.backends.interpreters import engine_job

    job = engine_job(__import__("cloudpickle").dumps(w.add_one_factory), iter(range(100)),
                     workers, 0, True, 100, pool=pool)
    job.wait()
    after = rss_mb()
    pool.shutdown()
    return {"mb_per_worker": (after - before) / workers, "workers": workers}


def progress_cost(fib_n: int, count: int, rounds: int) -> dict:
    """Widgets on vs --quiet, through a real xparallel kernel (comm messages really sent).

    Wall times on a shared 2-core VM drift by more than the effect, so the figure that decides is
    the kernel main thread's extra CPU time with widgets, as a share of the run's wall time: with
    every core busy, that is what progress takes from the workers."""
    sys.path.insert(0, str(ROOT / "tests"))
    from kernel_client import execute, start, stop, value

    km, kc = start("xparallel")
    try:
        execute(kc, "import sys, time; sys.setrecursionlimit(10000)\n"
                    "from benchmarks.workloads import fib")
        cell = f"r = [fib({fib_n}) for _ in range({count})]"
        runs: dict[str, list] = {"widgets": [], "quiet": []}
        execute(kc, "%env XPARALLEL_PROGRESS=widgets")
        for _ in range(rounds):
            for mode, flag in (("widgets", ""), ("quiet", "--quiet")):
                execute(kc, "_cpu0 = time.thread_time()")
                run = execute(kc, f"%%parallel -b interpreters {flag}\n{cell}", timeout=300)
                assert run.status == "ok", run.stderr
                main_cpu, wall = value(kc, "(time.thread_time() - _cpu0, _parallel.wall)")
                runs[mode].append((wall, main_cpu))
                if mode == "widgets":
                    assert run.of_type("comm_msg"), "no widget updates were sent"
        wall_on = statistics.median(x for x, _ in runs["widgets"])
        wall_off = statistics.median(x for x, _ in runs["quiet"])
        cpu_on = statistics.median(x for _, x in runs["widgets"])
        cpu_off = statistics.median(x for _, x in runs["quiet"])
        return {"widgets wall s": wall_on, "quiet wall s": wall_off,
                "wall difference %": (wall_on / wall_off - 1) * 100,
                "main-thread CPU widgets s": cpu_on, "main-thread CPU quiet s": cpu_off,
                "progress cost % of wall": (cpu_on - cpu_off) / wall_off * 100}
    finally:
        stop(km, kc)


def kernel_start(rounds: int) -> dict:
    from jupyter_client.manager import start_new_kernel

    rows: dict = {}
    for name in ("xparallel", "python3"):
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            km, kc = start_new_kernel(kernel_name=name, startup_timeout=60)
            times.append(time.perf_counter() - started)
            process = km.provisioner.process
            kc.stop_channels()
            km.shutdown_kernel(now=False)
            rows.setdefault(f"{name} exit codes", []).append(process.wait(10))
        rows[f"{name} start to ready s"] = statistics.median(times)
        rows[f"{name} spread s"] = [min(times), max(times)]
    rows["ipykernel is the python3 kernel"] = True
    return rows


def numpy_in_kernel(size_mb: int, repeats: int) -> dict:
    """The issue's cell in a real xparallel kernel: `%%parallel -b processes -w 2` over 64 slice
    sums of a captured array, and joblib in the same kernel; peak memory of the kernel's process
    tree (shared pages once)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from kernel_client import execute, start, stop, value

    km, kc = start("xparallel")
    rows: dict = {}
    try:
        def ok(code: str) -> None:
            run = execute(kc, code, timeout=600)
            assert run.status == "ok", (code, run.stderr)

        ok(f"import numpy as np, joblib\na = np.random.default_rng(1).random({size_mb} * 2**17)\n"
           "n = a.size // 64\nexpected = [float(a[i * n:(i + 1) * n].sum()) for i in range(64)]\n"
           "from benchmarks.workloads import slice_sum")
        cells = {
            "%%parallel -b processes -w 2": "%%parallel -b processes -w 2 --quiet\n"
                                            "r = [float(a[i * n:(i + 1) * n].sum()) for i in range(64)]",
            "%%parallel -b threads -w 2": "%%parallel -b threads -w 2 --quiet\n"
                                          "r = [float(a[i * n:(i + 1) * n].sum()) for i in range(64)]",
            "joblib.Parallel(n_jobs=2)": "r = joblib.Parallel(n_jobs=2)("
                                         "joblib.delayed(slice_sum)(a, i, n) for i in range(64))",
        }
        for code in cells.values():  # pools started, NumPy imported in the workers
            ok(code)
        pid = km.provisioner.process.pid
        for name, code in cells.items():
            walls, rises = [], []
            for _ in range(repeats):
                time.sleep(0.3)
                with PeakSampler(pid, interval=0.02) as sampler:
                    started = time.perf_counter()
                    ok(code)
                    walls.append(time.perf_counter() - started)
                rises.append(sampler.rise / 2**20)
                assert value(kc, "r == expected") is True, name
            rows[name] = {"seconds": statistics.median(walls), "spread": [min(walls), max(walls)],
                          "rise_mb": statistics.median(rises),
                          "rise_of_array": statistics.median(rises) / size_mb, "ok": True}
    finally:
        stop(km, kc)
    return {"title": f"NumPy in a real kernel: the issue's cell, {size_mb} MB array",
            "what": "the cell as a user runs it (jupyter_client → xparallel kernel), wall time "
                    f"seen by the client, median of {repeats}; peak rise of the kernel's process "
                    "tree (shared pages once) per run, median",
            "key": "seconds", "unit": "s", "higher_is_better": False, "rows": rows,
            "second": ("rise_of_array", "× array peak rise")}
