"""What every backend shares: the work description, the worker context a backend implements for
the dispatcher (`dispatch.Job`), and that context over a `concurrent.futures` executor (threads,
processes, serial)."""

from __future__ import annotations

import pickle
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from ..chunks import TARGET_SECONDS
from ..clock import wait_seconds  # noqa: F401 - the backends' clock
from ..dispatch import Job
from ..platform_reads import usable_cpus
from ..records import Delivery, WorkerState
from ..transfer import pickle_items  # noqa: F401 - shared by the backends that pickle


class BackendError(RuntimeError):
    """A pool or a worker that failed (not the cell's own code): shown as a usage error."""


def default_workers() -> int:
    """The CPUs this process may use."""
    return usable_cpus()


@dataclass
class Work:
    """A cell's work. `spec` (pickled) is what isolated workers rebuild the item function from;
    `local_function` is the item function bound to the notebook's own namespace, for backends
    that share the notebook's interpreter (threads, serial): made by `bind_locally` when one
    asks for it, so that the other backends do not pay for it."""

    spec: dict
    bind_locally: Callable[[], Callable[[Any], Any]]
    options: dict = field(default_factory=dict)  # backend-specific (-b dask: scheduler)

    @property
    def local_function(self) -> Callable[[Any], Any]:
        return self.bind_locally()

    def spec_bytes(self) -> bytes:
        return pickle.dumps(self.spec, 5)


class WorkerContext:
    """One job's workers, as the dispatcher sees them: what only the backend knows. The
    dispatcher calls everything from the kernel's main thread.

    - `submit(sequence, first_index, items)` runs a chunk (may only queue it until `flush()`);
    - `wait(timeout)` blocks until a chunk may have come back, at most `timeout` s;
    - `take()` gives the chunks that came back since the last call, in any order, as Delivery
      records (results unpickled, times relative to the job's start);
    - `events()` the output workers printed since the last call, [(worker, stream, text)];
    - `states()` each worker's `records.WorkerState`, or None when the backend cannot tell;
    - `interrupt()` drops queued chunks and interrupts running ones, without waiting;
    - `close()` the job is over (finished or cancelled)."""

    workers: int = 1
    worker_names: list[str] | None = None
    where: str = ""
    chunk_seconds: float = TARGET_SECONDS  # a chunk's aimed duration on this backend
    batch: int = 1  # chunks handed out at once (when a submit costs, as a dask graph update does)

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.started = time.time()

    @property
    def slots(self) -> int:
        """Chunks that can run at once."""
        return self.workers

    @property
    def window(self) -> int:
        """Chunks queued or running: enough to keep every worker busy while the main thread
        collects, and no more."""
        return 2 * self.slots + 1

    def submit(self, sequence: int, first_index: int, items: list) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        pass

    def wait(self, timeout: float) -> None:
        raise NotImplementedError

    def take(self) -> list[Delivery]:
        raise NotImplementedError

    def events(self) -> list[tuple]:
        return []

    def states(self) -> list[WorkerState] | None:
        return None

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


class Backend:
    """A backend: its traits, from which the registry, `-b`'s help, the report's nouns, the
    debugger's note and --compare's list are derived, and its worker context. One instance per
    kernel (`backends.backend_named`): what it keeps (a warm pool) outlives a cell."""

    name: ClassVar[str]
    help: ClassVar[str]  # its entry in `-b`'s help, after its name
    nouns: ClassVar[tuple[str, str]]  # a worker, workers: "1 thread", "2 threads"
    place: ClassVar[str | None] = None  # said instead of a count (serial: "the main thread")
    # Items run in the notebook's own interpreter, on its objects: nothing to capture or ship.
    shares_namespace: ClassVar[bool] = False
    debugger_reaches: ClassVar[bool] = False  # a debugger attached to the notebook stops in items
    runs_in: ClassVar[str] = ""  # where items run otherwise, for the debugger's note
    baseline: ClassVar[bool] = False  # what speedups are measured against (one worker)
    times_items: ClassVar[bool] = False  # enforces --timeout itself (no watch from outside)
    takes_scheduler: ClassVar[bool] = False  # --scheduler ADDRESS says where it runs
    auto_rank: ClassVar[int | None] = None  # auto's order of preference (0 first), None: never

    @classmethod
    def comparable(cls) -> bool:
        """Whether --compare runs it, here and now."""
        return True

    @classmethod
    def workers_phrase(cls, workers: int) -> str:
        if cls.place is not None:
            return cls.place
        one, many = cls.nouns
        return f"{workers:,} {one if workers == 1 else many}"

    def status(self) -> str | None:
        """A line for %parallel_pool, or None."""
        return None

    def context(self, work: Work, workers: int | None, stop_on_error: bool) -> "WorkerContext":
        """This job's workers (workers None: the warm size, else the CPUs)."""
        raise NotImplementedError

    def submit(self, work: Work, items: Any, workers: int | None, chunksize: int,
               stop_on_error: bool, total: int | None) -> Job:
        return start_job(self.context(work, workers, stop_on_error), items, chunksize,
                         stop_on_error, total)


def start_job(context: "WorkerContext", items: Any, chunksize: int, stop_on_error: bool,
              total: int | None) -> Job:
    """The one place a `dispatch.Job` is built: every backend's map is one."""
    return Job(context, items, chunksize, stop_on_error, total)


class WarmExecutor(Backend):
    """What a backend over a `concurrent.futures` executor keeps across cells: one executor,
    warm, replaced when -w asks for another size."""

    def __init__(self) -> None:
        self._executor: futures.Executor | None = None
        self._size = 0

    def size(self, workers: int | None) -> int:
        """-w N, else the warm pool's size, else the CPUs this process may use."""
        return workers or self._size or default_workers()

    def executor(self, workers: int) -> Any:
        if self._executor is None or self._size != workers:
            self.terminate()
            self._executor = self._make(workers)
            self._size = workers
        return self._executor

    def _make(self, workers: int) -> futures.Executor:
        raise NotImplementedError

    def terminate(self) -> None:
        """Ends the warm executor without waiting for what it runs."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class FuturesContext(WorkerContext):
    """A context whose chunks are `concurrent.futures` futures yielding
    (worker index, results, errors, start, end, cpu, wait[, bytes in transit]), times from
    time.time()."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self._futures: dict[futures.Future, int] = {}  # running or queued -> sequence

    def _submit(self, first_index: int, items: list) -> futures.Future:
        raise NotImplementedError

    def _outcome(self, future: futures.Future) -> tuple:
        """A done chunk's (worker, results, errors, start, end, cpu, wait), on the main thread (so
        what unpickling raises, an interrupt included, raises here)."""
        return future.result()

    def submit(self, sequence: int, first_index: int, items: list) -> None:
        self._futures[self._submit(first_index, items)] = sequence

    def wait(self, timeout: float) -> None:
        pending = [f for f in self._futures if not f.done()]
        if pending and len(pending) == len(self._futures):
            futures.wait(pending, timeout=timeout, return_when=futures.FIRST_COMPLETED)

    def take(self) -> list[Delivery]:
        done = [f for f in self._futures if f.done()]
        deliveries = []
        for future in done:
            sequence = self._futures.pop(future)
            if future.cancelled():
                continue
            worker, results, errors, start, end, cpu, wait, *size = self._outcome(future)
            deliveries.append(Delivery(sequence, worker, results, errors, start - self.started,
                                       end - self.started, cpu, wait, size[0] if size else 0))
        return deliveries

    def interrupt(self) -> None:
        for future in self._futures:
            future.cancel()
        self._interrupt_running()

    def _interrupt_running(self) -> None:
        """Stop items that are running now (queued ones are cancelled already)."""


from .._payload import run_timed  # noqa: E402,F401 - the one per-chunk timing, for the backends
