"""`interpreters`: the C++ engine, a warm pool of own-GIL sub-interpreters on worker threads."""

from __future__ import annotations

import functools
import pickle
import sys
from typing import Any

from .. import engine
from .._payload import make_item_function
from ..dispatch import Job
from ..records import Delivery
from ..transfer import pickle_items
from .base import Work, WorkerContext

_STATES = {"starting": 0, "idle": 1, "busy": 2, "stopped": 3}


class InterpretersContext(WorkerContext):
    """The engine's job: chunks go into the pool's C++ queue as pickled bytes; the wait releases
    the GIL; the workers' output is already live (each write goes to the pool's event queue)."""

    def __init__(self, pool: Any, factory: bytes, stop_on_error: bool) -> None:
        super().__init__(pool.size)
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

    def states(self) -> list[int]:
        return [_STATES.get(state, 1) for state in self._pool.states()]

    def interrupt(self) -> None:
        self._job.cancel()

    def close(self) -> None:
        engine.job_closed(self)
        self._job.close()


def engine_job(factory: bytes, items: Any, workers: int | None, chunksize: int,
               stop_on_error: bool, total: int | None, pool: Any = None) -> Job:
    """A map of the pickled `factory()`'s function over `items` on the warm pool (or `pool`)."""
    with engine.pool_use():  # no fork's hook ends the pool between getting it and the job
        context = InterpretersContext(pool or engine.get_pool(workers), factory, stop_on_error)
    return Job(context, items, chunksize, stop_on_error, total)


class InterpretersBackend:
    name = "interpreters"
    noun = "interpreters"

    def submit(self, work: Work, items: Any, workers: int | None, chunksize: int,
               stop_on_error: bool, total: int | None) -> Job:
        factory = pickle.dumps(functools.partial(make_item_function, work.spec), 5)
        return engine_job(factory, items, workers, chunksize, stop_on_error, total)
