"""Every tool a notebook user might pick to map a function over items, behind one small interface,
so that each workload runs them all the same way in the same run.

A contender is opened (its pool started and warmed), maps `workloads.<name>` over items, and is
closed. Each is used as its documentation shows, with its defaults, except `chunk`: tools that
send one message per item unless told otherwise get the same chunk size a user would give them
for tiny items. xparallel always runs with its defaults (automatic chunks).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import io
import multiprocessing
import os
from typing import Any, Callable

from . import workloads as w

WORKERS = 2


class Missing(Exception):
    """A contender that cannot run here: the reason is reported, never skipped silently."""


class Contender:
    name = ""
    group = ""  # xparallel, stdlib, peer, baseline
    # At most this many items of the tiny-items workload (those that pay ~10 µs or more an item
    # would take minutes over 200,000): the cost per item is measured on that sample.
    sample = 10**9
    note = ""

    def open(self) -> None:
        pass

    def map(self, name: str, items: list, chunk: int | None = None) -> list:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def cold(self) -> list:
        """Pool started, 2 items mapped, pool shut down: the cold-start figure."""
        self.open()
        try:
            return self.map("add_one", [1, 2])
        finally:
            self.close()


def _fn(name: str) -> Callable[[Any], Any]:
    return getattr(w, name)


# ---- baseline -----------------------------------------------------------------------------------
class Serial(Contender):
    name, group = "serial (plain loop)", "baseline"

    def map(self, name, items, chunk=None):
        f = _fn(name)
        return [f(x) for x in items]


# ---- xparallel ----------------------------------------------------------------------------------
class XparallelEngine(Contender):
    name, group = "xparallel engine API (interpreters)", "xparallel"

    def open(self):
        from xparallel import engine

        engine.get_pool(WORKERS)
        self.map("add_one", list(range(WORKERS)))

    def map(self, name, items, chunk=None):
        from xparallel import engine

        job = engine.submit(functools.partial(w.factory, name), items, workers=WORKERS)
        job.wait()
        assert not job.errors, job.errors
        return job.results


def ipython_shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    if "parallel" not in shell.magics_manager.magics["cell"]:
        shell.run_line_magic("load_ext", "xparallel")
    return shell


class XparallelMagic(Contender):
    """`%%parallel -b BACKEND -w 2 --quiet` end to end in an IPython shell: parsing, capture,
    dispatch, gathering into the namespace."""

    group = "xparallel"

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.name = f"%%parallel -b {backend}"
        if backend == "threads":
            self.sample = 50_000

    def open(self):
        self.shell = ipython_shell()
        self.map("add_one", list(range(WORKERS)))

    def map(self, name, items, chunk=None):
        ns = self.shell.user_ns
        ns["fn"], ns["items"] = _fn(name), items
        with contextlib.redirect_stdout(io.StringIO()):
            self.shell.run_cell_magic("parallel", f"-b {self.backend} -w {WORKERS} --quiet",
                                      "r = [fn(x) for x in items]")
        report = ns["_parallel"]
        assert report.status == "ok", (report.status, report.errors[:1])
        return ns.pop("r")

    def close(self):
        from xparallel import backends

        # forgets the kernel's one instance, so that the next contender starts its own pool
        backend = backends._instances.pop(self.backend, None)
        if backend is not None and hasattr(backend, "terminate"):
            backend.terminate()


# ---- the standard library -------------------------------------------------------------------------
class Executor(Contender):
    group = "stdlib"

    def __init__(self, kind: type, sample: int = 10**9, chunked: bool = False) -> None:
        self.kind, self.name, self.sample, self.chunked = kind, kind.__name__, sample, chunked

    def open(self):
        self.ex = self.kind(WORKERS)
        list(self.ex.map(w.add_one, range(WORKERS)))

    def map(self, name, items, chunk=None):
        if self.chunked:
            return list(self.ex.map(_fn(name), items, chunksize=chunk or 1))
        return list(self.ex.map(_fn(name), items))

    def close(self):
        self.ex.shutdown()


class MultiprocessingPool(Contender):
    name, group = "multiprocessing.Pool", "stdlib"
    note = "map() with its automatic chunks"

    def open(self):
        self.pool = multiprocessing.Pool(WORKERS)
        self.pool.map(w.add_one, range(WORKERS))

    def map(self, name, items, chunk=None):
        return self.pool.map(_fn(name), items)

    def close(self):
        self.pool.close()
        self.pool.join()


# ---- peers ---------------------------------------------------------------------------------------
class Joblib(Contender):
    name, group = "joblib.Parallel (loky)", "peer"
    note = "automatic batching"

    def open(self):
        import joblib

        self.parallel = joblib.Parallel(n_jobs=WORKERS)
        self.parallel.__enter__()
        self.map("add_one", list(range(WORKERS)))

    def map(self, name, items, chunk=None):
        import joblib

        f = joblib.delayed(_fn(name))
        return list(self.parallel(f(x) for x in items))

    def close(self):
        self.parallel.__exit__(None, None, None)
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)


class Mpire(Contender):
    name, group = "mpire.WorkerPool", "peer"
    # Its default, fork, is used where the process has no sub-interpreters (benchmarks.isolated):
    # forked from the suite's own process, which runs xparallel's sub-interpreter pool, its
    # workers died at start and mpire waited for them forever.
    note = "forkserver start in the suite's process (fork hangs there), automatic chunks"

    def open(self):
        from mpire import WorkerPool

        self.pool = WorkerPool(n_jobs=WORKERS, start_method="forkserver", keep_alive=True)
        self.pool.map(w.add_one, list(range(WORKERS)))

    def map(self, name, items, chunk=None):
        return self.pool.map(_fn(name), items, chunk_size=chunk)

    def close(self):
        self.pool.terminate()


class TqdmMap(Contender):
    """tqdm.contrib.concurrent's maps: a progress bar over a pool made for each call."""

    group = "peer"

    def __init__(self, kind: str, sample: int = 10**9) -> None:
        self.kind, self.name, self.sample = kind, f"tqdm {kind}", sample
        self.note = "a new pool per call (cold start included), bar written to a buffer"

    def open(self):
        import tqdm.contrib.concurrent as tc

        if not hasattr(tc, self.kind):
            raise Missing(f"this tqdm ({__import__('tqdm').__version__}) has no {self.kind}")
        self.function = getattr(tc, self.kind)

    def map(self, name, items, chunk=None):
        kwargs: dict[str, Any] = {"max_workers": WORKERS, "file": io.StringIO()}
        if self.kind == "process_map":
            kwargs["chunksize"] = chunk or 1
        return list(self.function(_fn(name), items, **kwargs))


class Ipyparallel(Contender):
    name, group = "ipyparallel (2 engines)", "peer"
    note = "LoadBalancedView.map_sync"

    def open(self):
        import ipyparallel as ipp

        try:
            self.cluster = ipp.Cluster(n=WORKERS, log_level=40)
            self.client = self.cluster.start_and_connect_sync(activate=False)
            self.client.wait_for_engines(WORKERS, timeout=120)
        except Exception as error:  # noqa: BLE001
            raise Missing(f"ipyparallel's local cluster did not start: {type(error).__name__}: "
                          f"{error}") from None
        self.view = self.client.load_balanced_view()
        self.map("add_one", list(range(WORKERS)))

    def map(self, name, items, chunk=None):
        return list(self.view.map_sync(_fn(name), items, chunksize=chunk or 1))

    def close(self):
        self.client.close()
        self.cluster.stop_cluster_sync()


class Dask(Contender):
    name, group = "dask.distributed (LocalCluster)", "peer"
    note = "2 worker processes × 1 thread, client.map(pure=False) + gather"
    sample = 2_000

    def open(self):
        from distributed import Client, LocalCluster

        self.cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                    dashboard_address=":0")
        self.client = Client(self.cluster)
        self.map("add_one", list(range(WORKERS)))

    def map(self, name, items, chunk=None):
        return self.client.gather(self.client.map(_fn(name), items, pure=False))

    def close(self):
        self.client.close()
        self.cluster.close()


def all_contenders() -> list[Contender]:
    return [
        Serial(),
        XparallelEngine(),
        XparallelMagic("interpreters"),
        XparallelMagic("processes"),
        XparallelMagic("threads"),
        Executor(cf.ThreadPoolExecutor, sample=50_000),
        Executor(cf.ProcessPoolExecutor, chunked=True),
        Executor(cf.InterpreterPoolExecutor, sample=5_000),
        MultiprocessingPool(),
        Joblib(),
        Mpire(),
        TqdmMap("process_map"),
        TqdmMap("thread_map", sample=20_000),
        TqdmMap("interpreter_map", sample=5_000),
        Ipyparallel(),
        Dask(),
    ]


def setup_environment(root: str) -> None:
    """Worker processes of every tool (spawned, forkserver, ipyparallel engines, dask workers)
    import `benchmarks.workloads`: put the checkout on their path."""
    path = os.environ.get("PYTHONPATH", "")
    if root not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, path) if p)
