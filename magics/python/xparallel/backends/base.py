"""What every backend shares: the work description, and a chunked job over an executor (the
threads, processes and serial backends) with the engine's chunk sizes, ordering and report."""

from __future__ import annotations

import os
import pickle
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Callable

from ..clock import wait_seconds  # noqa: F401 - the backends' clock
from ..transfer import pickle_items  # noqa: F401 - shared by the backends that pickle
from .chunks import ChunkSizer

STARTING, IDLE, BUSY, STOPPED = 0, 1, 2, 3


class BackendError(RuntimeError):
    """A pool or a worker that failed (not the cell's own code): shown as a usage error."""


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Work:
    """A cell's work. `spec` (pickled) is what isolated workers rebuild the item function from;
    `local_function` is the item function bound to the notebook's own namespace, for backends
    that share the notebook's interpreter (threads, serial)."""

    spec: dict
    local_function: Callable[[Any], Any]
    options: dict = field(default_factory=dict)  # backend-specific (-b dask: scheduler)

    def spec_bytes(self) -> bytes:
        return pickle.dumps(self.spec, 5)


class ChunkedJob:
    """A job whose chunks run on an executor: subclasses say how a chunk is submitted and how
    running items are interrupted. A chunk's future yields
    (worker index, results, errors, start, end, cpu, wait, stdout, stderr), times from
    time.time(), cpu and wait measured on the thread that ran the chunk."""

    def __init__(self, items: Any, workers: int, chunksize: int, stop_on_error: bool,
                 total: int | None) -> None:
        self.workers = workers
        self.results: list = []
        self.errors: list = []
        self.finished = False
        self.cancelled = False
        self._items = iter(items)
        self._stop_on_error = stop_on_error
        self._total = total
        self._sizer = ChunkSizer(workers, chunksize, total)
        self._lookahead = 2 * workers + 1
        self._pending: dict[int, futures.Future] = {}
        self._sequence = 0
        self._next_to_collect = 0
        self._dispatched = 0
        self._collected = 0
        self._exhausted = False
        self._started = time.monotonic()
        self._started_wall = time.time()
        self._done = [0] * workers
        self._cpu = [0.0] * workers
        self._busy = [0.0] * workers
        self._failed = [False] * workers
        self._timeline: list[tuple] = []
        self._events: list[tuple] = []
        self.input_error: BaseException | None = None  # what the cell's own iterable raised

    # ---- for subclasses ---------------------------------------------------------------------
    def _submit_chunk(self, chunk: list, first_index: int) -> futures.Future:
        raise NotImplementedError

    def _interrupt_running(self) -> None:
        """Stop items that are running now (queued ones are cancelled already)."""

    def _wait(self, future: Any, timeout: float) -> None:
        """Until `future` is done or `timeout` s passed."""
        futures.wait([future], timeout=timeout)

    def _outcome(self, future: futures.Future) -> tuple:
        """A done chunk's (worker, results, errors, start, end, cpu, wait, stdout, stderr), on
        the main thread (so what unpickling raises, an interrupt included, raises here)."""
        return future.result()

    def _states(self) -> list[int]:
        busy = BUSY if self._pending and not self.finished else IDLE
        return [busy] * self.workers

    def _close(self) -> None:
        """The job is over (finished or cancelled)."""

    # ---- the protocol -----------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def pump(self, timeout: float = 0.1) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            while not self.finished:
                self._feed()
                if self._exhausted and not self._pending:
                    self._finish()
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                head = self._pending.get(self._next_to_collect)
                if head is not None and not head.done():
                    self._wait(head, left)
                self._collect()
        except KeyboardInterrupt:
            self.cancel()
            raise
        return self.finished

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        for future in self._pending.values():
            future.cancel()
        self._interrupt_running()
        self._finish()

    def progress(self) -> tuple:
        total = self._total if self._total is not None else (
            self._dispatched if self._exhausted else None)
        states = self._states()
        workers = [(self._done[i], self._cpu[i], self._busy[i], states[i], self._failed[i])
                   for i in range(self.workers)]
        return (self._dispatched, self._collected, total, workers)

    def timeline(self) -> list[tuple]:
        return list(self._timeline)

    def events(self) -> list[tuple]:
        events, self._events = self._events, []
        return events

    # ---- internals --------------------------------------------------------------------------
    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            self._close()

    def _take(self, size: int) -> list:
        """Up to `size` items from the input; marks it exhausted at its end. What the input itself
        raises is the user's, not the backend's: the job stops, then it propagates as is."""
        chunk = []
        for _ in range(size):
            try:
                chunk.append(next(self._items))
            except StopIteration:
                self._exhausted = True
                break
            except BaseException as error:
                self.input_error = error
                self.cancel()
                raise
        return chunk

    def _feed(self) -> None:
        while not self._exhausted and not self.finished and len(self._pending) < self._lookahead:
            chunk = self._take(self._sizer.next(self._dispatched))
            if not chunk:
                break
            try:
                future = self._submit_chunk(chunk, self._dispatched)
            except BaseException:
                self.cancel()
                raise
            self._pending[self._sequence] = future
            self._sequence += 1
            self._dispatched += len(chunk)

    def _collect(self) -> None:
        while not self.finished:
            future = self._pending.get(self._next_to_collect)
            if future is None or not future.done():
                return
            del self._pending[self._next_to_collect]
            self._next_to_collect += 1
            if future.cancelled():
                continue
            worker, values, errors, start, end, cpu, wait, out, err = self._outcome(future)
            count = len(values)
            self._sizer.record(count, end - start)
            first_index = self._collected
            self._timeline.append((worker + 1, first_index, count, start - self._started_wall,
                                   end - self._started_wall, cpu, wait))
            self._done[worker] += count - min(count, len(errors))
            self._cpu[worker] += cpu
            self._busy[worker] += end - start
            for stream, text in ((1, out), (2, err)):
                if text:
                    self._events.append((worker + 1, stream, text))
            self.results.extend(values)
            self._collected += count
            for error in errors:
                index, kind, pickled, type_name, message, traceback, item = error
                self.errors.append((index, worker + 1, kind, pickled, type_name, message, traceback,
                                    item))
                self._failed[worker] = True
                if type_name == "KeyboardInterrupt" and not self.cancelled:
                    self.cancel()
                    raise KeyboardInterrupt
            if errors and self._stop_on_error:
                self.cancel()
                return
