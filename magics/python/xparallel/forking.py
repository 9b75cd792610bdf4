"""A fork after %%parallel gives a child that runs.

CPython crashes a child forked while any sub-interpreter is alive (gh-139759: SIGSEGV in
PyOS_AfterFork_Child), and the warm pool keeps its interpreters alive between cells, so a fork the
pool did not ask for (os.fork, multiprocessing's fork start method, the default on Linux up to
3.13, mpire's default, libraries that fork) would crash or hang. Before such a fork an idle pool
ends its interpreters (each on its own thread, as any shutdown does, within FORK_END_SECONDS) and
the next %%parallel cell starts a fresh one. A run in flight is not ended under its cell: that
fork gets one warning instead. subprocess and the spawn and forkserver start methods do not run
these hooks (they exec at once): the pool stays warm for them.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

# Ending an idle pool takes milliseconds; this bounds a worker stuck in a set-aside call.
FORK_END_SECONDS = 2.0


class ForkWhileRunningWarning(RuntimeWarning):
    """A fork while sub-interpreters are alive: the child may crash (gh-139759)."""


@dataclass(frozen=True)
class PoolEnded:
    """The warm pool was ended before a fork: what %parallel_pool says about it."""

    workers: int
    at: float       # time.time() of the fork
    seconds: float  # what ending the interpreters took
    clean: bool     # False: a worker stuck in a call was abandoned, its interpreter alive

    @property
    def when(self) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self.at))

    def describe(self) -> str:
        text = (f"ended before a fork (os.fork / multiprocessing) at {self.when}: {self.workers} "
                f"interpreters in {self.seconds * 1000:.0f} ms, because CPython crashes a child "
                "forked while sub-interpreters are alive (gh-139759); the next %%parallel cell "
                "starts a fresh pool")
        if not self.clean:
            text += " (a worker stuck in a call could not be ended)"
        return text


last_end: PoolEnded | None = None
# Whether this thread's before-hook holds the pool's lock until its fork is over.
_held = threading.local()
_warned: weakref.ref | None = None  # what the last warning was about: one warning per run


def _before_fork() -> None:
    global last_end
    from . import _engine, engine

    if not engine.pool_use().acquire(blocking=False):
        # Another thread is starting, resizing or ending the pool, or opening a job on it.
        _warn("while the %%parallel pool is starting or changing", None)
        return
    _held.it = True
    if running := engine.open_jobs():
        _warn("while a %%parallel run is in flight", running[0])
        return
    pool = engine.current_pool()
    if pool is not None and pool.running:
        started = time.perf_counter()
        workers = pool.size
        clean = engine.shutdown_pool(FORK_END_SECONDS)
        last_end = PoolEnded(workers, time.time(), time.perf_counter() - started, clean)
        if not clean:
            _warn("while a %%parallel worker stuck in a call is still running", None)
    elif _engine.abandoned_workers():
        _warn("while a %%parallel worker stuck in a call is still running", None)


def _after_fork() -> None:
    if getattr(_held, "it", False):
        _held.it = False
        from . import engine

        engine.pool_use().release()


def _warn(what: str, about: Any) -> None:
    global _warned
    if about is not None:
        if _warned is not None and _warned() is about:
            return
        _warned = weakref.ref(about)
    frame = sys._getframe(2)  # the code that forked (below it: this module's hook)
    # warn_explicit without a registry: the same fork line in a later run warns again.
    warnings.warn_explicit(
        f"xparallel: a fork {what}: its sub-interpreters are alive, and CPython may crash the "
        "child (gh-139759). Wait for the run to end before forking, or start processes with "
        "multiprocessing.get_context('spawn') or 'forkserver'.",
        ForkWhileRunningWarning, frame.f_code.co_filename, frame.f_lineno)


def register() -> None:
    """Once per process (the engine module calls it when it is first imported)."""
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork,
                        after_in_child=_after_fork)
