"""Backends behind one job protocol, so the magic, the progress display and the report do not care
which one ran. Adding a backend is one module here plus its line in BACKENDS; only
`interpreters` needs the C++ module, and a backend's module is imported when first used.

A backend class has `name`, `noun` and `submit(work, items, workers, chunksize, stop_on_error,
total)` (workers None: its warm size, else the CPUs), and may have `comparable()` (whether
--compare includes it; default yes) and `status()` (a line for %parallel_pool, or None).
`submit` returns a Job:
    workers                   how many workers run it
    pump(timeout) -> bool     feed, wait, collect for up to `timeout` s; True once over
    cancel()                  drop queued work, interrupt running items
    finished                  over (done or cancelled)
    results, errors           per-item values in input order; error tuples
                              (index, worker, kind, pickled exception, type, message, traceback,
                               item repr)
    progress()                (dispatched, collected, total or None,
                               [(done, cpu s, busy s, state, failed)] per worker)
    timeline()                [(worker, first index, count, start s, end s, cpu s, wait s)]
                              wait: time runnable but waiting for a core (schedstat)
    events()                  [(worker, stream, text)] printed by workers since the last call
    elapsed                   seconds since the job started
and optionally `worker_names` (labels for the bars, worker number order) and `where` (said in
the summary, e.g. the cluster). Nothing in the protocol assumes the workers share the notebook's
machine or file system: work is described by a pickled spec, items and results travel pickled.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Work

# name -> (module in this package, class); in the order --compare runs them.
BACKENDS: dict[str, tuple[str, str]] = {
    "serial": ("serial", "SerialBackend"),
    "threads": ("threads", "ThreadsBackend"),
    "processes": ("processes", "ProcessesBackend"),
    "interpreters": ("interpreters", "InterpretersBackend"),
    "dask": ("dask", "DaskBackend"),
}

NAMES = ("auto", "interpreters", "threads", "processes", "serial", "dask")
_instances: dict[str, Any] = {}


def backend_class(name: str) -> type:
    module, cls = BACKENDS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def backend_named(name: str) -> Any:
    """The one instance of a backend in this kernel (it keeps its warm pool)."""
    if name not in _instances:
        _instances[name] = backend_class(name)()
    return _instances[name]


def started_backends() -> dict[str, Any]:
    return dict(_instances)


def compared_backends() -> list[str]:
    """What --compare runs: every backend that says it can run here and now."""
    names = []
    for name in BACKENDS:
        comparable = getattr(backend_class(name), "comparable", None)
        if comparable is None or comparable():
            names.append(name)
    return names


__all__ = ["BACKENDS", "NAMES", "Work", "backend_named", "compared_backends"]
