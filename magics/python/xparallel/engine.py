"""The warm sub-interpreter pool of this process, and a map over it.

The C++ engine (`xparallel._engine`) does the work; this module owns the one pool a notebook
shares across cells, resizes or restarts it, and turns engine errors into Python exceptions.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any, Callable, Iterable

from . import _engine
from .backends.base import default_workers
from .records import refuses_subinterpreters

_pool: _engine.Pool | None = None
# The main thread holds it while it starts, resizes, ends the pool or opens a job on it; a fork's
# before-hook (xparallel.forking), maybe on another thread, takes it without waiting or leaves the
# pool be. Re-entrant: restart_pool ends and starts under one hold.
_use = threading.RLock()
# The engine contexts of the jobs open on the pool (a context the dispatcher dropped without
# closing it is gone with it).
_open_jobs: weakref.WeakSet[Any] = weakref.WeakSet()


def get_pool(workers: int | None = None) -> _engine.Pool:
    """The warm pool, made on demand. `workers=None` keeps its current size (so a resize
    sticks); another count resizes it in place (grow: start workers; shrink: retire idle ones)."""
    global _pool
    if workers is not None and workers < 1:
        raise ValueError(f"a pool needs at least one worker, not {workers}")
    with _use:
        if _pool is None:
            _pool = _engine.Pool(workers or default_workers(), list(sys.path))
        elif workers is not None and workers != _pool.size:
            _pool.resize(workers)
        if not _pool.running:
            _pool.start()
        return _pool


def current_pool() -> _engine.Pool | None:
    return _pool


def restart_pool(workers: int | None = None, timeout: float = 2.0) -> _engine.Pool:
    """Ends every interpreter and starts fresh ones (a clean slate after, say, a stuck import).
    Bounded: workers that do not end within `timeout` s are abandoned (see shutdown_pool)."""
    with _use:
        size = workers or (_pool.size if _pool is not None else default_workers())
        shutdown_pool(timeout)
        return get_pool(size)


def shutdown_pool(timeout: float = 2.0) -> bool:
    """Ends the pool within about `timeout` s. Returns False when some worker, stuck in a call
    that an interrupt does not end (a long C call, a loop that catches BaseException), had to be
    abandoned: its thread runs on and ends its interpreter if the call returns; if it is still
    running when Python exits, the engine's atexit hook flushes stdout/stderr and leaves with
    os._exit, because CPython's finalisation would end that interpreter under the running thread.
    """
    global _pool
    with _use:
        pool, _pool = _pool, None
        clean = True
        if pool is not None:
            forking.last_end = None  # ended by hand: a fork's hook records its own end after this
            clean = pool.shutdown(timeout)
        return clean and _engine.abandoned_workers() == 0


def pool_use() -> threading.RLock:
    """Held while a job is opened on the warm pool: a fork in between leaves the pool be."""
    return _use


def job_opened(context: Any) -> None:
    _open_jobs.add(context)


def job_closed(context: Any) -> None:
    _open_jobs.discard(context)


def open_jobs() -> list[Any]:
    return list(_open_jobs)


def submit(factory: Callable[[], Callable[[Any], Any]] | bytes, items: Iterable[Any], *,
           workers: int | None = None, chunksize: int = 0, stop_on_error: bool = True,
           total: int | None = None) -> Any:
    """Starts a map of `factory()`'s function over `items` on the warm pool; returns the
    dispatcher's Job (xparallel.dispatch), which every backend's map is.

    `factory` is a zero-argument callable (or its pickle) that each worker runs once per job to
    get the item function; cloudpickle ships it by value when it was defined in the notebook.
    """
    from .backends.interpreters import engine_job

    if not isinstance(factory, (bytes, bytearray)):
        import cloudpickle

        factory = cloudpickle.dumps(factory, protocol=5)
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    return engine_job(bytes(factory), items, workers, chunksize, stop_on_error, total)


def is_subinterpreter_refusal(type_name: str, message: str) -> bool:
    """Whether an error is a module refusing to load in a sub-interpreter (NumPy does)."""
    return refuses_subinterpreters(type_name, message)


from . import forking  # noqa: E402 - registers the fork hooks once the pool can exist

forking.register()
