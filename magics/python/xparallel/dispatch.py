"""The one dispatcher: every backend's job is this `Job` over that backend's worker context.

It owns what must behave the same whatever runs the items: taking items from the input lazily
(bounded look-ahead), the chunk sizes (`chunks.ChunkSizer`, one rule), the dispatch window, putting
results back in input order, the per-worker progress and the timeline, the errors as `ItemError`
records, --errors raise (stop at the first failure), cancelling, and worker output.

A backend's context (`backends.base.WorkerContext`) only does what that backend alone knows:
start its workers, run a chunk, say which chunks came back, interrupt, close.

Where later features go: a per-item timeout watches `_running` (each chunk's first index, size and
hand-out time) from `pump` and asks the context to interrupt and replace the one worker running
it (the engine's pool already sets aside and replaces stuck workers: `pool::reclaim`); retries
resubmit a failed item from `_on_errors` instead of recording it; resume feeds only the unfinished
indices (a context submits items with their first index, so a chunk need not be contiguous with
the last) and merges what comes back with the kept results in `results`."""

from __future__ import annotations

import time
from itertools import islice
from typing import Any, Callable

from .chunks import ChunkSizer
from .records import Delivery, ErrorKind, ItemError, WorkerState

# Chunks handed out and not yet collected in input order: past a slow chunk the workers go on,
# but a lazy input is never materialised.
OUTSTANDING_MIN = 1024
OUTSTANDING_PER_WORKER = 64
# Results that came back past a slow chunk and wait for their turn: at most this many bytes (as
# they travelled) before no more chunks are handed out.
HELD_BYTES_MAX = 256 << 20


class Job:
    """One map of a cell's items over a backend. The protocol the magic, the progress display
    and the report read (see backends/__init__.py)."""

    def __init__(self, context: Any, items: Any, chunksize: int, stop_on_error: bool,
                 total: int | None) -> None:
        self.context = context
        self.results: list = []
        self.errors: list[ItemError] = []
        self.finished = False
        self.cancelled = False
        self.input_error: BaseException | None = None  # what the cell's own iterable raised
        self._items = iter(items)
        self._stop_on_error = stop_on_error
        self._total = total
        slots = context.slots
        self._sizer = ChunkSizer(slots, chunksize, total, context.chunk_seconds)
        self._running_limit = context.window
        self._outstanding_limit = max(OUTSTANDING_MIN, OUTSTANDING_PER_WORKER * slots)
        self._started = time.monotonic()
        self._sequence = 0          # next chunk's number
        self._next_to_collect = 0   # the chunk whose results go next into `results`
        self._dispatched = 0        # items handed out
        self._collected = 0         # items whose results are in `results`
        self._exhausted = False
        # sequence -> (first index, count, when it was handed out): what a per-item timeout
        # would watch
        self._running: dict[int, tuple[int, int, float]] = {}
        self._arrived: dict[int, Delivery] = {}          # delivered, waiting for their turn
        self._held = 0                                   # their bytes
        workers = context.workers
        self._done = [0] * workers
        self._cpu = [0.0] * workers
        self._busy = [0.0] * workers
        self._failed = [False] * workers
        self._timeline: list[tuple] = []

    # ---- the protocol -----------------------------------------------------------------------
    @property
    def workers(self) -> int:
        return self.context.workers

    @property
    def worker_names(self) -> list[str] | None:
        return self.context.worker_names

    @property
    def where(self) -> str:
        return self.context.where

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def pump(self, timeout: float = 0.1) -> bool:
        """Feeds, waits and collects for up to `timeout` s; True once the job is over. Raises
        KeyboardInterrupt (after cancelling) when the user interrupts, and the input's own
        exception when it fails."""
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            while not self.finished:
                self._feed()
                if self._exhausted and not self._running and not self._arrived:
                    self._finish()
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.context.wait(left)
                self._collect()
        except KeyboardInterrupt:
            self.cancel()
            raise
        return self.finished

    def wait(self, timeout: float | None = None, tick: Callable[["Job"], Any] | None = None,
             every: float = 0.1) -> bool:
        """Pumps until the job is over, or `timeout` s passed; calls `tick(job)` about every
        `every` s from this (the main) thread, to publish output and progress. True once over."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = every if deadline is None else min(every, max(0.0, deadline - time.monotonic()))
            if self.pump(step):
                return True
            if tick is not None:
                tick(self)
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def overdue(self, seconds: float) -> list[int]:
        """First indices of the chunks handed out more than `seconds` ago and not back yet (with
        `one_chunk_per_slot()`, a chunk handed out is a chunk running): --timeout's watch."""
        now = time.monotonic()
        return sorted(first for first, _, since in self._running.values() if now - since > seconds)

    def one_chunk_per_slot(self) -> None:
        """Hands a chunk out only to a free slot, so that when it was handed out is when it
        started (--timeout measures from there). Before the first pump."""
        self._running_limit = self.context.slots

    def cancel(self) -> None:
        """Drops queued chunks and interrupts running items; what finished in order before it
        stays in `results`. Never waits for a worker."""
        if self.cancelled:
            return
        if not self.finished:
            try:
                self._collect(final=True)
            except Exception:  # noqa: BLE001 - a result that cannot come back ends the partials
                pass
        self._stop()

    def progress(self) -> tuple:
        """(dispatched, collected, total or None, [(done, cpu s, busy s, state, failed)])."""
        total = self._total if self._total is not None else (
            self._dispatched if self._exhausted else None)
        self._grow(self.context.workers)
        states = None if self.finished else self.context.states()
        if states is None:
            busy = WorkerState.BUSY if self._running and not self.finished else WorkerState.IDLE
            states = [busy] * len(self._done)
        workers = [(self._done[i], self._cpu[i], self._busy[i],
                    states[i] if i < len(states) else WorkerState.IDLE, self._failed[i])
                   for i in range(len(self._done))]
        return (self._dispatched, self._collected, total, workers)

    def timeline(self) -> list[tuple]:
        """[(worker, first index, count, start s, end s, cpu s, wait s)] per chunk, in input
        order; wait: time the worker was runnable but waiting for a core."""
        return [row for _, row in sorted(self._timeline)]

    def events(self) -> list[tuple]:
        """[(worker, stream, text)] the workers printed since the last call."""
        return self.context.events()

    # ---- internals --------------------------------------------------------------------------
    def _stop(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self.context.interrupt()
            self._finish()

    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.context.close()

    def _take(self, size: int) -> list:
        """Up to `size` items from the input; marks it exhausted at its end. What the input itself
        raises is the user's, not the backend's: the job stops, then it propagates as is."""
        try:
            chunk = list(islice(self._items, size))
        except BaseException as error:
            self.input_error = error
            self._stop()
            raise
        if len(chunk) < size:
            self._exhausted = True
        return chunk

    def _feed(self) -> None:
        room = self._running_limit - len(self._running)
        if self._running and room < self.context.batch:
            return  # a backend whose submits cost (dask) hands out several chunks at once
        submitted = False
        while (not self._exhausted and not self.finished
               and len(self._running) < self._running_limit
               and self._sequence - self._next_to_collect < self._outstanding_limit
               and self._held < HELD_BYTES_MAX):
            chunk = self._take(self._sizer.next(self._dispatched))
            if not chunk:
                break
            sequence, first = self._sequence, self._dispatched
            try:
                self.context.submit(sequence, first, chunk)
            except BaseException:
                self.cancel()
                raise
            self._running[sequence] = (first, len(chunk), time.monotonic())
            self._sequence += 1
            self._dispatched += len(chunk)
            submitted = True
        if submitted:
            try:
                self.context.flush()
            except BaseException:
                self.cancel()
                raise

    def _grow(self, workers: int) -> None:
        """A worker that joined during the run (dask) gets its own bar."""
        while len(self._done) < workers:
            self._done.append(0)
            self._cpu.append(0.0)
            self._busy.append(0.0)
            self._failed.append(False)

    def _note(self, delivery: Delivery) -> None:
        """A chunk came back (any order): it leaves the running window, and its figures count."""
        first, count, _ = self._running.pop(delivery.sequence)
        worker = delivery.worker
        self._grow(max(self.context.workers, worker + 1))
        work = max(0.0, delivery.end - delivery.start - delivery.wait)
        # Work time, not time spent waiting for a core: on a loaded machine the chunks would
        # otherwise shrink, and the workers wait on the main thread for every small one.
        self._sizer.record(count, work)
        self._done[worker] += count - min(count, len(delivery.errors))
        self._cpu[worker] += delivery.cpu
        self._busy[worker] += delivery.end - delivery.start
        if delivery.errors:
            self._failed[worker] = True
        self._timeline.append((delivery.sequence, (worker + 1, first, count, delivery.start,
                                                   delivery.end, delivery.cpu, delivery.wait)))
        self._arrived[delivery.sequence] = delivery
        self._held += delivery.size

    def _collect(self, final: bool = False) -> None:
        for delivery in self.context.take():
            self._note(delivery)
        arrived = self._arrived
        while not self.finished and self._next_to_collect in arrived:
            delivery = arrived.pop(self._next_to_collect)
            self._next_to_collect += 1
            self._held -= delivery.size
            self.results.extend(delivery.results)
            self._collected += len(delivery.results)
            if delivery.errors and not final:
                if self._on_errors(delivery):
                    return
            elif delivery.errors:
                self.errors.extend(ItemError.from_worker(e, delivery.worker + 1)
                                   for e in delivery.errors)

    def _on_errors(self, delivery: Delivery) -> bool:
        """A chunk's failed items, in input order; True when the job stops here."""
        worker = delivery.worker + 1
        for described in delivery.errors:
            error = ItemError.from_worker(described, worker)
            self.errors.append(error)
            if error.kind is ErrorKind.INTERRUPT and not self.cancelled:
                # An interrupt that reached a worker before the notebook's own.
                self._stop()
                raise KeyboardInterrupt
        if self._stop_on_error:
            self._stop()
            return True
        return False
