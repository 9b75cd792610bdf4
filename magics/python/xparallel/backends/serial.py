"""`serial`: the cell's items one after another on the kernel's main thread, in the notebook's own
namespace. The baseline every speedup is measured against. What an item prints goes straight to
the cell (it runs on the main thread), prefixed `[w1]` like any worker's output."""

from __future__ import annotations

import sys
from concurrent import futures
from typing import Any

from ..dispatch import Job
from ..output import PrefixedStream
from .base import FuturesContext, Work, run_timed


class SerialContext(FuturesContext):
    def __init__(self, work: Work, stop_on_error: bool) -> None:
        super().__init__(1)
        self._function = work.local_function
        self._stop_on_error = stop_on_error

    @property
    def window(self) -> int:
        return 1

    def _submit(self, first_index: int, items: list) -> futures.Future:
        future: futures.Future = futures.Future()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = PrefixedStream(saved[0], "[w1]"), PrefixedStream(saved[1], "[w1]")
        try:
            outcome = run_timed(self._function, items, first_index, self._stop_on_error)
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.finish()
            sys.stdout, sys.stderr = saved
        future.set_result((0, *outcome))
        return future


class SerialBackend:
    name = "serial"
    noun = "the main thread"

    def submit(self, work: Work, items: Any, workers: int | None, chunksize: int, stop_on_error: bool,
               total: int | None) -> Job:
        return Job(SerialContext(work, stop_on_error), items, chunksize, stop_on_error, total)
