"""`interpreters`: the C++ engine, a warm pool of own-GIL sub-interpreters on worker threads."""

from __future__ import annotations

import functools
import pickle
from typing import Any

from .. import engine
from .._payload import make_item_function
from .base import Work


class _InterpretersJob:
    """The engine's job with the protocol's events()."""

    def __init__(self, job: Any, pool: Any) -> None:
        self._job = job
        self._pool = pool
        self.workers = pool.size

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def pump(self, timeout: float = 0.1) -> bool:
        return self._job.pump(timeout)

    def cancel(self) -> None:
        self._job.cancel()

    def events(self) -> list[tuple]:
        return self._pool.drain_events()


class InterpretersBackend:
    name = "interpreters"
    noun = "interpreters"

    def submit(self, work: Work, items: Any, workers: int, chunksize: int, stop_on_error: bool,
               total: int | None) -> _InterpretersJob:
        factory = pickle.dumps(functools.partial(make_item_function, work.spec), 5)
        pool = engine.get_pool(workers)
        pool.drain_events()  # output left over from an interrupted cell is not this cell's
        job = engine.submit(factory, items, workers=workers, chunksize=chunksize,
                            stop_on_error=stop_on_error, total=total)
        return _InterpretersJob(job, pool)
