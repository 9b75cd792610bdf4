"""`serial`: the cell's items one after another on the kernel's main thread, in the notebook's own
namespace. The baseline every speedup is measured against."""

from __future__ import annotations

import time
from concurrent import futures
from typing import Any

from .._worker import apply
from .base import ChunkedJob, Work, wait_seconds


class _SerialJob(ChunkedJob):
    def __init__(self, work: Work, items: Any, chunksize: int, stop_on_error: bool,
                 total: int | None) -> None:
        super().__init__(items, 1, chunksize, stop_on_error, total)
        self._function = work.local_function
        self._lookahead = 1

    def _submit_chunk(self, chunk: list, first_index: int) -> futures.Future:
        future: futures.Future = futures.Future()
        start, cpu, wait = time.time(), time.thread_time(), wait_seconds()
        results, errors = apply(self._function, chunk, first_index, self._stop_on_error)
        cpu, wait = time.thread_time() - cpu, wait_seconds() - wait
        future.set_result((0, results, errors, start, time.time(), cpu, wait, "", ""))
        return future


class SerialBackend:
    name = "serial"
    noun = "the main thread"

    def submit(self, work: Work, items: Any, workers: int | None, chunksize: int, stop_on_error: bool,
               total: int | None) -> _SerialJob:
        return _SerialJob(work, items, chunksize, stop_on_error, total)
