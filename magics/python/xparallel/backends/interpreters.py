"""`interpreters`: the C++ engine, a warm pool of own-GIL sub-interpreters on worker threads."""

from __future__ import annotations

import functools
import pickle
import sys
from typing import Any

from .._payload import make_item_function
from ..records import Delivery, WorkerState
from ..transfer import pickle_items
from .base import Backend, Work, WorkerContext, start_job


class InterpretersContext(WorkerContext):
    """The engine's job: chunks go into the pool's C++ queue as pickled bytes; the wait releases
    the GIL; the workers' output is already live (each write goes to the pool's event queue)."""

    def __init__(self, pool: Any, factory: bytes, stop_on_error: bool) -> None:
        from .. import engine

        super().__init__(pool.size)
        self._engine = engine
        self._pool = pool
        pool.drain_events()  # output left over from an interrupted cell is not this cell's
        self._job = pool.open_job(factory, pickle.dumps(list(sys.path), 5), stop_on_error)
        engine.job_opened(self)  # until close(), a fork warns instead of ending the pool

    def submit(self, sequence: int, first_index: int, items: list) -> None:
        self._job.submit(sequence, first_index, len(items), pickle_items(items, first_index))

    def wait(self, timeout: float) -> None:
        self._job.wait(timeout)

    def take(self) -> list[Delivery]:
        return [Delivery(*row) for row in self._job.take()]

    def events(self) -> list[tuple]:
        return self._pool.drain_events()

    def states(self) -> list[WorkerState]:
        return [WorkerState.from_engine(state) for state in self._pool.states()]

    def interrupt(self) -> None:
        self._job.cancel()

    def close(self) -> None:
        self._engine.job_closed(self)
        self._job.close()


def engine_context(factory: bytes, workers: int | None, stop_on_error: bool,
                   pool: Any = None) -> InterpretersContext:
    """The pickled `factory()`'s function on the warm pool (or `pool`)."""
    from .. import engine  # the C++ module: imported when used, so the traits load without it

    with engine.pool_use():  # no fork's hook ends the pool between getting it and the job
        return InterpretersContext(pool or engine.get_pool(workers), factory, stop_on_error)


def engine_job(factory: bytes, items: Any, workers: int | None, chunksize: int,
               stop_on_error: bool, total: int | None, pool: Any = None) -> Any:
    """A map of the pickled `factory()`'s function over `items` on the warm pool (or `pool`)."""
    return start_job(engine_context(factory, workers, stop_on_error, pool), items, chunksize,
                     stop_on_error, total)


class InterpretersBackend(Backend):
    name = "interpreters"
    help = "interpreters (own-GIL sub-interpreters)"
    nouns = ("interpreter", "interpreters")
    runs_in = "sub-interpreters"
    auto_rank = 0

    def __init__(self) -> None:
        from .. import engine  # noqa: F401 - a build without the C++ module fails here, by name

    def context(self, work: Work, workers: int | None, stop_on_error: bool) -> InterpretersContext:
        factory = pickle.dumps(functools.partial(make_item_function, work.spec), 5)
        return engine_context(factory, workers, stop_on_error)
