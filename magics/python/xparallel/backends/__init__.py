"""Backends behind one dispatcher, so the magic, the progress display and the report do not care
which one ran. Adding a backend is one module here plus its line in BACKENDS; only
`interpreters` needs the C++ module, and a backend's module is imported when first used.

A backend is only what it alone knows: a `base.WorkerContext` (prepare its workers, submit a
chunk, wait, take the chunks that came back in any order, their output, interrupt, close), the
shape of CPython's WorkerContext under InterpreterPoolExecutor. Everything else, the same on every
backend, is the dispatcher's (`xparallel.dispatch.Job`): feeding lazily, the one chunk rule
(`xparallel.chunks`), the window, ordering, progress, the timeline, errors as
`xparallel.records.ItemError`, --errors, cancelling.

A backend class has `name`, `noun` and `submit(work, items, workers, chunksize, stop_on_error,
total)` (workers None: its warm size, else the CPUs) returning `Job(its context, items, ...)`, and
may have `comparable()` (whether --compare includes it; default yes) and `status()` (a line for
%parallel_pool, or None). The Job gives:
    workers                   how many workers run it
    pump(timeout) -> bool     feed, wait, collect for up to `timeout` s; True once over
    wait(timeout, tick)       pump until over, calling tick(job) about every 0.1 s
    cancel()                  drop queued work, interrupt running items
    finished, cancelled       over (done or cancelled); cancelled
    results, errors           per-item values in input order; ItemError records
    progress()                (dispatched, collected, total or None,
                               [(done, cpu s, busy s, state, failed)] per worker)
    timeline()                [(worker, first index, count, start s, end s, cpu s, wait s)]
                              wait: time runnable but waiting for a core (schedstat)
    events()                  [(worker, stream, text)] printed by workers since the last call
    elapsed                   seconds since the job started
    worker_names, where       labels for the bars (None: w1, w2...), said in the summary
Nothing in the protocol assumes the workers share the notebook's machine or file system: work is
described by a pickled spec, items and results travel pickled.
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
