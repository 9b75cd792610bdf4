"""One contender on one memory-heavy workload in a fresh process, measured from outside.

Memory cannot be compared inside one long-lived process: an allocator keeps what an earlier
contender freed and the next one reuses it. So the parent starts

    python -m benchmarks.isolated WORKLOAD CONTENDER REPEATS

which sets up (data made, pool started and warmed), prints READY and waits; the parent starts
sampling the child's process tree (benchmarks.memory: shared pages counted once) and says go; the
child runs once, prints FIRST, waits again (the parent stops sampling), runs REPEATS - 1 more times
for the wall-time spread, and prints a JSON line: wall times and a check of its results.
Workloads: `results` (300 × 1 MB results) and `numpy` (64 slice sums of a 512 MB float64 array).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import pickle
import sys
import time
from typing import Any, Callable

from . import contenders as c
from . import workloads as w


def check(values: list) -> str:
    return hashlib.sha256(pickle.dumps(values, 5)).hexdigest()[:16]


def same(again: list, values: list) -> bool:
    """Equal, or for float sums equal to rounding: NumPy's pairwise sum depends on the memory
    alignment of the copy a worker got, which may differ from one run to the next (dask scatters)."""
    if check(again) == check(values):
        return True
    return len(again) == len(values) and all(
        isinstance(x, float) and math.isclose(x, y, rel_tol=1e-9) for x, y in zip(again, values))


# ---- large results: every contender's own map ---------------------------------------------------
def results_runner(name: str, count: int) -> tuple[Callable[[], list], Callable[[], None]]:
    contender = {x.name: x for x in c.all_contenders()}[name]
    if isinstance(contender, c.Mpire):  # no sub-interpreters in this process: mpire's default
        from mpire import WorkerPool

        contender.pool = WorkerPool(n_jobs=c.WORKERS, keep_alive=True)
        contender.pool.map(w.add_one, [0, 1])
        return (lambda: contender.map("megabyte", list(range(count)))), contender.close
    contender.open()
    return (lambda: contender.map("megabyte", list(range(count)))), contender.close


# ---- NumPy: each tool's idiom for "a big array every task reads" ---------------------------------
def _refusal(error: BaseException) -> c.Missing:
    return c.Missing(f"{type(error).__name__}: {str(error).splitlines()[0][:160]}")


def numpy_runner(name: str, a: Any) -> tuple[Callable[[], list], Callable[[], None]]:
    import concurrent.futures as cf

    slices = w.SLICES
    nothing = lambda: None  # noqa: E731
    parts = lambda: (a[i * (a.size // slices):(i + 1) * (a.size // slices)]  # noqa: E731
                     for i in range(slices))
    if name == "serial (plain loop)":
        return (lambda: [w.slice_of(a, i) for i in range(slices)]), nothing
    if name.startswith("%%parallel"):
        backend = name.split()[-1]
        shell = c.ipython_shell()
        shell.user_ns.update(a=a, n=a.size // slices)
        cell = f"r = [float(a[i * n:(i + 1) * n].sum()) for i in range({slices})]"

        def magic() -> list:
            with contextlib.redirect_stdout(io.StringIO()):
                shell.run_cell_magic("parallel", f"-b {backend} -w {c.WORKERS} --quiet", cell)
            return shell.user_ns.pop("r")

        closer = c.XparallelMagic(backend)
        try:
            warm = magic()
        except Exception as error:  # noqa: BLE001 - interpreters: NumPy refuses
            closer.close()
            raise _refusal(error) from None
        assert len(warm) == slices
        return magic, closer.close
    if name == "ThreadPoolExecutor":
        ex = cf.ThreadPoolExecutor(c.WORKERS)
        return (lambda: list(ex.map(lambda i: w.slice_of(a, i), range(slices)))), ex.shutdown
    if name in ("ProcessPoolExecutor", "InterpreterPoolExecutor"):
        ex = getattr(cf, name)(c.WORKERS)
        try:
            list(ex.map(w.array_sum, [a[:8], a[8:16]]))
        except Exception as error:  # noqa: BLE001
            ex.shutdown()
            raise _refusal(error) from None
        return (lambda: list(ex.map(w.array_sum, parts()))), ex.shutdown
    if name == "multiprocessing.Pool":
        import multiprocessing

        pool = multiprocessing.Pool(c.WORKERS)
        pool.map(w.add_one, range(2))
        return (lambda: pool.map(w.array_sum, parts())), pool.terminate
    if name.startswith("joblib"):
        import joblib

        parallel = joblib.Parallel(n_jobs=c.WORKERS)
        parallel(joblib.delayed(w.add_one)(x) for x in range(2))
        return (lambda: list(parallel(joblib.delayed(w.slice_of)(a, i)
                                      for i in range(slices)))), nothing
    if name.startswith("mpire"):
        from mpire import WorkerPool

        def run() -> list:
            # The array reaches the workers by fork (no copy): a pool per array, so per run.
            with WorkerPool(n_jobs=c.WORKERS, shared_objects=a) as pool:
                return pool.map(w.slice_of, range(slices))

        with WorkerPool(n_jobs=c.WORKERS) as pool:  # mpire's own imports, once
            pool.map(w.add_one, range(2))
        return run, nothing
    if name.startswith("tqdm"):
        import tqdm.contrib.concurrent as tc

        kind = name.split()[-1]
        function = getattr(tc, kind, None)
        if function is None:
            raise c.Missing(f"this tqdm has no {kind}")
        bar = io.StringIO()
        if kind == "thread_map":
            return (lambda: list(function(lambda i: w.slice_of(a, i), range(slices),
                                          max_workers=c.WORKERS, file=bar))), nothing
        try:
            function(w.array_sum, [a[:8], a[8:16]], max_workers=c.WORKERS, file=bar)
        except Exception as error:  # noqa: BLE001
            raise _refusal(error) from None
        return (lambda: list(function(w.array_sum, parts(), max_workers=c.WORKERS,
                                      file=bar))), nothing
    if name.startswith("ipyparallel"):
        import ipyparallel as ipp

        contender = c.Ipyparallel()
        contender.open()
        view = contender.view

        def run() -> list:
            contender.client[:].push({"a": a}, block=True)  # one copy per engine
            futures = [view.apply_async(w.slice_of, ipp.Reference("a"), i) for i in range(slices)]
            return [f.get() for f in futures]

        return run, contender.close
    if name.startswith("dask"):
        contender = c.Dask()
        contender.open()
        client = contender.client

        def run() -> list:
            [shared] = client.scatter([a], broadcast=True)  # one copy per worker
            return client.gather(client.map(w.slice_at, range(slices), a=shared, pure=False))

        return run, contender.close
    raise c.Missing(f"no NumPy runner for {name}")


NUMPY_CONTENDERS = [
    "serial (plain loop)", "%%parallel -b processes", "%%parallel -b threads",
    "%%parallel -b interpreters", "ThreadPoolExecutor", "ProcessPoolExecutor",
    "InterpreterPoolExecutor", "multiprocessing.Pool", "joblib.Parallel (loky)",
    "mpire.WorkerPool", "tqdm process_map", "tqdm thread_map", "tqdm interpreter_map",
    "ipyparallel (2 engines)", "dask.distributed (LocalCluster)",
]


def main() -> None:
    workload, name, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    size_mb = int(sys.argv[4]) if len(sys.argv) > 4 else 512
    sys.setrecursionlimit(10_000)
    out = sys.stdout
    sys.stdout = sys.stderr  # only the protocol's lines on stdout
    try:
        if workload == "numpy":
            import numpy as np

            a = np.random.default_rng(0).random(size_mb * (1 << 20) // 8)
            run, close = numpy_runner(name, a)
        else:
            run, close = results_runner(name, size_mb)
    except c.Missing as missing:
        print(f"MISSING {missing}", file=out, flush=True)
        return
    print("READY", file=out, flush=True)
    sys.stdin.readline()
    walls = []
    started = time.perf_counter()
    values = run()
    walls.append(time.perf_counter() - started)
    print(f"FIRST {walls[0]}", file=out, flush=True)
    sys.stdin.readline()
    for _ in range(repeats - 1):
        started = time.perf_counter()
        again = run()
        walls.append(time.perf_counter() - started)
        assert same(again, values)
    summary = (len(values), check(values))
    del values
    close()
    print(json.dumps({"walls": walls, "count": summary[0], "check": summary[1]}), file=out,
          flush=True)


if __name__ == "__main__":
    main()
