"""`processes`: a warm pool of worker processes (forkserver start method: no fork of the kernel's
threads), running the same cell spec as the sub-interpreter engine. For modules that refuse
sub-interpreters (NumPy) and for native code that might crash.

The spec, captured values included, goes to the workers once per job through shared memory
(`shared_buffers`): a chunk carries only its items and the segment's name, and NumPy arrays are
mapped by the workers, not copied."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import time
from concurrent import futures
from typing import Any

from .._payload import run_chunk_in_process
from ..platform_reads import process_alive, worker_start_method
from ..transfer import unpickle_results
from .base import BackendError, FuturesContext, WarmExecutor, Work, pickle_items
from .shared_buffers import SegmentRef, SharedSpec, resolve


# In each worker process: where its output goes, and how many batches it sent (a chunk's result
# says so, and the notebook waits for that many before it prints the job's last lines).
_batches_sent = 0


def _prepare_worker(kernel_pid: int, output: Any) -> None:
    # A terminal's Ctrl-C, or a kernel interrupt by signal, reaches the whole process group: the
    # kernel cancels the job and ends the workers; they must not die half-way on their own.
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The xparallel kernel holds asynchronous signals (SIGTERM included) off its threads, and the
    # forkserver and its children inherit that mask: a worker that blocks SIGTERM does not end
    # when the pool is terminated.
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    # A kernel that ends without ending its pool (killed, or leaving with _exit past stuck
    # sub-interpreter workers) must not leave workers running an item for ever: the forkserver,
    # their parent, outlives it. A thread gets the GIL even from a busy pure-Python item.
    threading.Thread(target=_exit_with_the_kernel, args=(kernel_pid,), daemon=True,
                     name="xparallel-kernel-watch").start()
    # Output reaches the notebook while the item runs, in batches (a pipe's back-pressure bounds
    # what a worker printing without end can hold).
    from .._live_output import Batcher, BatchedStream

    pid = os.getpid()

    def send(_: Any, pieces: list[tuple[int, str]]) -> None:
        global _batches_sent
        _batches_sent += 1
        output.put((pid, _batches_sent, pieces))

    global _batcher
    _batcher = Batcher(send)
    sys.stdout = BatchedStream(_batcher, 1, sys.stdout)
    sys.stderr = BatchedStream(_batcher, 2, sys.stderr)


_batcher: Any = None


def _exit_with_the_kernel(kernel_pid: int) -> None:
    import time

    while _running(kernel_pid):
        time.sleep(0.5)
    os._exit(1)


def _running(pid: int) -> bool:
    # A killed kernel stays a zombie until whoever started it reaps it: that is gone too.
    return process_alive(pid)


def _run_pickled(key: bytes, spec: bytes | SegmentRef, items: bytes, first_index: int,
                 stop_on_error: bool, sys_path: list[str]) -> tuple:
    from .._worker import pickle_results

    pid, results, errors, start, end, cpu, wait = run_chunk_in_process(
        key, resolve(key, spec), pickle.loads(items), first_index, stop_on_error, sys_path)
    if _batcher is not None:
        _batcher.flush()  # what the chunk printed leaves before its result
    return (pid, pickle_results(results, errors, first_index), start, end, cpu, wait,
            _batches_sent)


class ProcessesContext(FuturesContext):
    def __init__(self, backend: "ProcessesBackend", work: Work, workers: int,
                 stop_on_error: bool) -> None:
        super().__init__(workers)
        self._backend = backend
        self._executor = backend.executor(workers)
        self._stop_on_error = stop_on_error
        backend.drain_output()  # what an interrupted cell's workers printed is not this cell's
        # One key per job: workers run the setup again for every run of a cell, as interpreters do.
        self._key = os.urandom(16)
        self._shared = SharedSpec(work.spec)
        self._spec = self._shared.ref
        self._sys_path = list(sys.path)
        self._first_index: dict[futures.Future, int] = {}
        self._expected: dict[int, int] = {}  # pid -> batches its chunks said they sent

    def _submit(self, first_index: int, items: list) -> futures.Future:
        payload = pickle_items(items, first_index)
        future = self._executor.submit(_run_pickled, self._key, self._spec, payload, first_index,
                                       self._stop_on_error, self._sys_path)
        self._first_index[future] = first_index
        return future

    def _outcome(self, future: futures.Future) -> tuple:
        # Unpickled on the main thread (an interrupt there is the user's), and the chunk's pickled
        # bytes let go as soon as its results are out: peak memory holds the results once.
        first_index = self._first_index.pop(future, 0)
        error = future.exception()
        if error is not None:
            raise BackendError(f"a worker process failed on items from {first_index}: {error!r}")
        pid, pickled, start, end, cpu, wait, batches = future.result()
        del future
        self._expected[pid] = max(self._expected.get(pid, 0), batches)
        size = len(pickled)
        results, errors = unpickle_results(pickled, first_index)
        del pickled
        return (self._backend.worker_index(pid, self.workers), results, errors, start, end, cpu,
                wait, size)

    def events(self) -> list[tuple]:
        return self._backend.drain_output(self.workers, self._expected if self._closed else None)

    _closed = False

    def close(self) -> None:
        self._closed = True
        self._shared.release()

    def _interrupt_running(self) -> None:
        # A running process cannot be interrupted from here without signalling it: end the pool,
        # the next cell starts a fresh one.
        if any(not future.done() for future in list(self._first_index)):
            self._expected.clear()
            self._backend.terminate()


class ProcessesBackend(WarmExecutor):
    name = "processes"
    help = "processes"
    nouns = ("process", "processes")
    runs_in = "processes"
    auto_rank = 1  # auto's fallback when a module refuses sub-interpreters

    def __init__(self) -> None:
        super().__init__()
        self._pids: dict[int, int] = {}
        self._output: Any = None  # the workers' output channel (a SimpleQueue)
        self._received: dict[int, int] = {}  # pid -> batches received

    def _make(self, workers: int) -> futures.ProcessPoolExecutor:
        context = multiprocessing.get_context(worker_start_method())
        self._output = context.SimpleQueue()
        self._received = {}
        self._pids = {}
        return futures.ProcessPoolExecutor(workers, mp_context=context,
                                           initializer=_prepare_worker,
                                           initargs=(os.getpid(), self._output))

    def worker_index(self, pid: int, workers: int) -> int:
        return self._pids.setdefault(pid, len(self._pids) % workers)

    def drain_output(self, workers: int = 0, expected: dict[int, int] | None = None,
                     grace: float = 1.0) -> list[tuple]:
        """[(worker, stream, text)] the workers sent since the last call. With `expected`
        (pid -> batches): at the end of a job, waits up to `grace` s for those still in the pipe,
        so that a chunk's last lines are not left for the next cell."""
        events: list[tuple] = []
        output = self._output
        if output is None:
            return events
        deadline = time.monotonic() + grace
        while True:
            while not output.empty():
                pid, number, pieces = output.get()
                self._received[pid] = number
                if workers:
                    worker = self.worker_index(pid, workers) + 1
                    events.extend((worker, stream, text) for stream, text in pieces)
            if not expected or all(self._received.get(pid, 0) >= count
                                   for pid, count in expected.items()):
                return events
            if time.monotonic() >= deadline:
                return events
            time.sleep(0.005)

    def terminate(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        self._output = None
        processes = list(getattr(executor, "_processes", {}).values())  # no public way to kill
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        deadline = time.monotonic() + 0.5
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in processes:  # an item that handles SIGTERM itself
            if process.is_alive():
                process.kill()
                process.join(timeout=1)

    def context(self, work: Work, workers: int | None, stop_on_error: bool) -> ProcessesContext:
        return ProcessesContext(self, work, self.size(workers), stop_on_error)
