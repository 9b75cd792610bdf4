"""The warm sub-interpreter pool of this process, and a map over it.

The C++ engine (`xparallel._engine`) does the work; this module owns the one pool a notebook
shares across cells, resizes or restarts it, and turns engine errors into Python exceptions.
"""

from __future__ import annotations

import os
import pickle
import sys
from typing import Any, Callable, Iterable

from . import _engine

SUBINTERPRETER_REFUSAL = "does not support loading in subinterpreters"

_pool: _engine.Pool | None = None


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def get_pool(workers: int | None = None) -> _engine.Pool:
    """The warm pool, made (or remade at another size) on demand."""
    global _pool
    wanted = workers or (_pool.size if _pool is not None else default_workers())
    if _pool is not None and _pool.size != wanted:
        _pool.shutdown()
        _pool = None
    if _pool is None:
        _pool = _engine.Pool(wanted, list(sys.path))
    if not _pool.running:
        _pool.start()
    return _pool


def current_pool() -> _engine.Pool | None:
    return _pool


def restart_pool(workers: int | None = None) -> _engine.Pool:
    """Ends every interpreter and starts fresh ones (a clean slate after, say, a stuck import)."""
    global _pool
    size = workers or (_pool.size if _pool is not None else default_workers())
    if _pool is not None:
        _pool.shutdown()
    _pool = None
    return get_pool(size)


def shutdown_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown()
    _pool = None


def submit(factory: Callable[[], Callable[[Any], Any]] | bytes, items: Iterable[Any], *,
           workers: int | None = None, chunksize: int = 0, stop_on_error: bool = True,
           total: int | None = None) -> _engine.Job:
    """Starts a map of `factory()`'s function over `items` on the warm pool.

    `factory` is a zero-argument callable (or its pickle) that each worker runs once per job to
    get the item function; cloudpickle ships it by value when it was defined in the notebook.
    """
    if not isinstance(factory, (bytes, bytearray)):
        import cloudpickle

        factory = cloudpickle.dumps(factory, protocol=5)
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    return get_pool(workers).submit(bytes(factory), items, pickle.dumps(list(sys.path), 5),
                                    chunksize, stop_on_error, total)


def is_subinterpreter_refusal(type_name: str, message: str) -> bool:
    """Whether an error is a module refusing to load in a sub-interpreter (NumPy does)."""
    return type_name in ("ImportError", "ModuleNotFoundError") and SUBINTERPRETER_REFUSAL in message
