"""`threads`: a pool of threads in the notebook's interpreter, sharing its GIL and its objects
(the backend that shows why pure Python does not speed up with threads, and where a race on
notebook state can happen)."""

from __future__ import annotations

import ctypes
import io
import sys
import threading
from collections import deque
from concurrent import futures
from typing import Any

from ..records import WorkerState
from .base import FuturesContext, WarmExecutor, Work, run_timed


class _RoutedStream(io.TextIOBase):
    """While a threads job runs: text printed on a worker thread goes to that worker's events
    (published from the main thread with its [wN] prefix); other text goes where it went."""

    def __init__(self, original: Any, stream: int, context: "ThreadsContext") -> None:
        super().__init__()
        self.original = original
        self._stream = stream
        self._context = context

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        worker = self._context.worker_of(threading.get_ident())
        if worker is None:
            return self.original.write(text)
        self._context.printed.append((worker + 1, self._stream, text))
        return len(text)

    def flush(self) -> None:
        self.original.flush()


class ThreadsContext(FuturesContext):
    def __init__(self, backend: "ThreadsBackend", work: Work, workers: int,
                 stop_on_error: bool) -> None:
        super().__init__(workers)
        self._backend = backend
        self._executor = backend.executor(workers)
        self._function = work.local_function
        self._stop_on_error = stop_on_error
        # Taken by worker threads only: the main thread never waits on a lock that an interrupt
        # could leave held. What it reads (dicts, the deque) is safe to read without one.
        self._lock = threading.Lock()
        self.printed: deque[tuple] = deque()
        self._workers_by_thread: dict[int, int] = {}
        self._running: dict[int, int] = {}  # worker -> thread ident, while in a chunk
        self._saved_streams = (sys.stdout, sys.stderr)
        sys.stdout = _RoutedStream(sys.stdout, 1, self)
        sys.stderr = _RoutedStream(sys.stderr, 2, self)

    def worker_of(self, ident: int) -> int | None:
        return self._workers_by_thread.get(ident)

    def events(self) -> list[tuple]:
        events = []
        while self.printed:
            events.append(self.printed.popleft())
        return events

    def _run(self, chunk: list, first_index: int) -> tuple:
        ident = threading.get_ident()
        with self._lock:
            worker = self._workers_by_thread.setdefault(ident, len(self._workers_by_thread))
            self._running[worker] = ident
        try:
            return (worker, *run_timed(self._function, chunk, first_index, self._stop_on_error))
        finally:
            self._running.pop(worker, None)

    def _submit(self, first_index: int, items: list) -> futures.Future:
        return self._executor.submit(self._run, items, first_index)

    def states(self) -> list[WorkerState]:
        running = set(self._running)
        return [WorkerState.BUSY if i in running else WorkerState.IDLE
                for i in range(self.workers)]

    def _interrupt_running(self) -> None:
        # Threads cannot be killed; raising KeyboardInterrupt in them ends a pure-Python loop at
        # its next bytecode. The executor is then retired: an interrupt may land outside an item.
        idents = list(self._running.values())
        for ident in idents:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                                       ctypes.py_object(KeyboardInterrupt))
        if idents:
            self._backend.retire(self._executor)

    def close(self) -> None:
        sys.stdout, sys.stderr = self._saved_streams


class ThreadsBackend(WarmExecutor):
    name = "threads"
    help = "threads (one interpreter, shared GIL)"
    nouns = ("thread", "threads")
    shares_namespace = True
    debugger_reaches = True

    def _make(self, workers: int) -> futures.ThreadPoolExecutor:
        return futures.ThreadPoolExecutor(workers, thread_name_prefix="xparallel-w")

    def retire(self, executor: futures.ThreadPoolExecutor) -> None:
        """Interrupted threads may still run: the next cell gets a fresh executor."""
        if executor is self._executor:
            self.terminate()

    def context(self, work: Work, workers: int | None, stop_on_error: bool) -> ThreadsContext:
        return ThreadsContext(self, work, self.size(workers), stop_on_error)
