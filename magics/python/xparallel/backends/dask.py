"""`dask`: the cell's chunks as tasks on a dask.distributed cluster, for when one machine is not
enough. The cluster is the notebook's current client (`distributed.default_client()`), a
scheduler named with `--scheduler ADDRESS`, or else an embedded LocalCluster of process workers
(`-w` of them) started once and kept warm.

The cell's spec is scattered once to every worker, which builds the item function once per cell;
items travel pickled in chunks sized like the engine's (a task costs the scheduler about a
millisecond, so one task per item would cost more than most items); results come back pickled and
are put in order here. Worker output arrives with its chunk (chunks aim at 20 ms of work). An
interrupt cancels the queued tasks and raises KeyboardInterrupt in the worker threads running
this job's chunks. A worker lost mid-run loses nothing: the scheduler reruns its tasks elsewhere."""

from __future__ import annotations

import hashlib
import itertools
import logging
import sys
import time
import uuid
from typing import Any

from ..transfer import pickle_items, unpickle_results
from .base import BUSY, IDLE, BackendError, ChunkedJob, Work, default_workers

CONNECT_SECONDS = 5.0
SPECS_KEPT = 8
TASK_SECONDS = 0.1  # a chunk's aimed duration on a dask worker
_job_numbers = itertools.count(1)


def _label(address: str, name: Any) -> str:
    """A worker's name when it has one of its own, else its address."""
    if name is None or str(name) == address:
        return address.removeprefix("tcp://")
    return f"worker-{name}" if isinstance(name, int) else str(name)


def notebook_client() -> Any | None:
    """The notebook's current dask client, if it made one (distributed is not imported for it)."""
    if "distributed" not in sys.modules:
        return None
    import distributed

    try:
        client = distributed.default_client()
    except ValueError:
        return None
    return client if client.status == "running" else None


class _DaskJob(ChunkedJob):
    def __init__(self, backend: "DaskBackend", client: Any, work: Work, items: Any,
                 chunksize: int, stop_on_error: bool, total: int | None) -> None:
        info = client.scheduler_info()["workers"]
        if not info:
            raise BackendError(f"the dask cluster at {client.scheduler.address} has no workers; "
                               "start some (`dask worker ADDRESS`) or use another backend")
        addresses = sorted(info, key=lambda a: str(info[a].get("name", a)))
        threads = sum(info[a].get("nthreads", 1) for a in addresses)
        super().__init__(items, len(addresses), chunksize, stop_on_error, total)
        from .chunks import ChunkSizer

        # The engine's rule, every thread a slot; but a task costs the scheduler about a
        # millisecond where an engine chunk costs microseconds, so chunks aim longer.
        self._sizer = ChunkSizer(threads, chunksize, total, target_seconds=TASK_SECONDS)
        # Tasks queued at the scheduler while the notebook collects: a worker that finishes one
        # gets the next without waiting for the notebook (still a bounded look-ahead).
        self._lookahead = 4 * threads + 2
        self._threads = threads
        self._fixed = chunksize > 0
        self._client = client
        self._index = {address: i for i, address in enumerate(addresses)}
        self.worker_names = [_label(a, info[a].get("name")) for a in addresses]
        self.where = f"dask cluster {client.scheduler.address}"
        self._job_id = f"xparallel-{next(_job_numbers)}-{uuid.uuid4().hex[:8]}"
        spec = work.spec_bytes()
        self._key = hashlib.sha256(spec).digest()
        self._spec = backend.scattered_spec(client, self._key, spec)
        self._first_index: dict[str, int] = {}
        # Results are fetched on the client's event loop as tasks finish (one fetch each, never a
        # round trip from the notebook's main thread), and read from here without waiting.
        from distributed import as_completed

        self._completed = as_completed(loop=client.loop, with_results=True, raise_errors=False)
        self._arrived: dict[str, Any] = {}

    def _feed(self) -> None:
        """Chunks go to the scheduler in batches (one graph update for several tasks, as
        client.map does), refilled when half the look-ahead has come back."""
        if self._exhausted or self.finished or len(self._pending) > self._lookahead // 2:
            return
        chunks: list[tuple[list, int]] = []
        dispatched = self._dispatched
        while not self._exhausted and len(self._pending) + len(chunks) < self._lookahead:
            chunk = self._take(self._chunk_size(dispatched))
            if not chunk:
                break
            chunks.append((chunk, dispatched))
            dispatched += len(chunk)
        if not chunks:
            return
        try:
            tasks = self._submit_chunks(chunks)
        except BaseException:
            self.cancel()
            raise
        for task, (chunk, _) in zip(tasks, chunks):
            self._pending[self._sequence] = task
            self._sequence += 1
            self._dispatched += len(chunk)

    def _chunk_size(self, dispatched: int) -> int:
        """The engine's size, and toward the end no more than a share of what is left per
        thread: the last tasks are small, so no worker idles while another finishes a long one
        (a task costs milliseconds, not the engine's microseconds, so the tail is where a cluster
        loses time)."""
        size = self._sizer.next(dispatched)
        if self._total is not None and not self._fixed:
            left = max(1, self._total - dispatched)
            size = min(size, max(1, -(-left // (2 * self._threads))))
        return size

    def _submit_chunks(self, chunks: list[tuple[list, int]]) -> list["_Task"]:
        from .._dask_worker import run_chunk

        # Items travel inside the task graph: the scheduler keeps them, so a task whose worker
        # dies is rerun elsewhere with its items (scattered data would die with the worker).
        payloads = [pickle_items(chunk, first) for chunk, first in chunks]
        firsts = [first for _, first in chunks]
        keys = [f"{self._job_id}-{first}" for first in firsts]
        futures = self._client.map(run_chunk, payloads, firsts, key=keys, pure=False,
                                   job_id=self._job_id, spec_key=self._key, spec=self._spec,
                                   stop_on_error=self._stop_on_error)
        for future, first in zip(futures, firsts):
            self._first_index[future.key] = first
        self._completed.update(futures)
        return [_Task(future, self) for future in futures]

    def _drain(self) -> None:
        for future, result in self._completed.next_batch(block=False):
            self._arrived[future.key] = result

    def _wait(self, task: "_Task", timeout: float) -> None:
        deadline = time.monotonic() + timeout
        condition = self._completed.thread_condition  # notified as each result arrives
        while not task.done():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with condition:
                if not self._completed.has_ready():
                    condition.wait(left)

    def _outcome(self, task: "_Task") -> tuple:
        future = task.future
        first_index = self._first_index.pop(future.key, 0)
        answer = self._arrived.pop(future.key)
        if future.status == "error" or isinstance(answer, BaseException):
            error = answer if isinstance(answer, BaseException) else future.exception()
            raise BackendError(f"dask could not run the items from {first_index}: "
                               f"{type(error).__name__}: {error}")
        address, pickled, start, end, cpu, wait, out, err = answer
        results, errors = unpickle_results(pickled, first_index)
        return (self._worker(address), results, errors, start, end, cpu, wait, out, err)

    def _worker(self, address: str) -> int:
        """The bar of the worker at `address`; a worker that joined during the run gets a new
        number (its items count in the overall bar)."""
        if address not in self._index:
            self._index[address] = self.workers
            self.worker_names.append(address.removeprefix("tcp://"))
            self.workers += 1
            for counts, zero in ((self._done, 0), (self._cpu, 0.0), (self._busy, 0.0),
                                 (self._failed, False)):
                counts.append(zero)
        return self._index[address]

    def events(self) -> list[tuple]:
        # Worker output is labelled by the worker's name, not w1.
        return [(self.worker_names[w - 1], stream, text) for w, stream, text in super().events()]

    def _states(self) -> list[int]:
        busy = BUSY if self._pending and not self.finished else IDLE
        return [busy] * self.workers

    def cancel(self) -> None:
        """Queued tasks are cancelled and running ones told to stop, without waiting for the
        scheduler's answer: the notebook is free at once, however busy the cluster is."""
        if self.cancelled:
            return
        self.cancelled = True
        pending = [task.future for task in self._pending.values()]
        if pending:
            self._in_background(self._client._cancel, pending, reason="interrupted in the notebook")
        self._interrupt_running()
        self._finish()

    def _interrupt_running(self) -> None:
        from .._dask_worker import interrupt

        self._in_background(self._client._run, interrupt, self._job_id, wait=False,
                            on_error="ignore")

    def _in_background(self, coroutine_function: Any, *args: Any, **kwargs: Any) -> None:
        """Runs a client coroutine on the client's event loop, fire and forget."""
        async def run() -> None:
            try:
                await coroutine_function(*args, **kwargs)
            except Exception:  # noqa: BLE001 - a cluster already gone has nothing to cancel
                pass

        try:
            self._client.loop.add_callback(run)
        except Exception:  # noqa: BLE001 - the client's loop is closed
            pass

    def _close(self) -> None:
        self._completed.clear()
        self._arrived.clear()


class _Task:
    """A chunk's task, done for the job once its result has arrived (not merely finished)."""

    __slots__ = ("future", "_job")

    def __init__(self, future: Any, job: _DaskJob) -> None:
        self.future = future
        self._job = job

    def done(self) -> bool:
        key = self.future.key
        if key not in self._job._arrived:
            self._job._drain()
        return key in self._job._arrived

    def cancel(self) -> bool:
        return self.future.cancel()

    def cancelled(self) -> bool:
        return self.future.cancelled()


class DaskBackend:
    name = "dask"
    noun = "dask workers"

    def __init__(self) -> None:
        self._specs: dict[tuple[int, bytes], Any] = {}  # (client, spec key) -> scattered spec
        self._clients: dict[str, Any] = {}   # --scheduler ADDRESS -> client
        self._cluster: Any = None            # the embedded LocalCluster
        self._local: Any = None              # its client

    @classmethod
    def comparable(cls) -> bool:
        """--compare adds a dask row only when the notebook has a client (no cluster is started
        just to compare)."""
        return notebook_client() is not None

    def client(self, scheduler: str | None, workers: int | None) -> Any:
        if scheduler:
            return self._connect(scheduler)
        client = notebook_client()
        if client is not None:
            return client
        return self._local_client(workers)

    def _connect(self, address: str) -> Any:
        client = self._clients.get(address)
        if client is None or client.status != "running":
            from distributed import Client

            try:
                client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
            except (OSError, TimeoutError) as error:
                raise BackendError(f"cannot reach the dask scheduler at {address}: {error}. "
                                   "Check the address (tcp://HOST:PORT) and that it runs.") from None
            self._clients[address] = client
        return client

    def _local_client(self, workers: int | None) -> Any:
        from distributed import Client, LocalCluster

        if self._cluster is None or self._local is None or self._local.status != "running":
            self.close_local()
            self._cluster = LocalCluster(n_workers=workers or default_workers(),
                                         threads_per_worker=1, processes=True,
                                         dashboard_address=None, host="127.0.0.1",
                                         silence_logs=logging.ERROR)
            self._local = Client(self._cluster, set_as_default=False)
        elif workers and len(self._cluster.workers) != workers:
            self._cluster.scale(workers)  # grow or shrink in place
            self._local.wait_for_workers(workers, timeout=60)
        return self._local

    def scattered_spec(self, client: Any, key: bytes, spec: bytes) -> Any:
        """The cell's spec on every worker: scattered once per cell (rerunning a cell reuses it),
        not once per task; a worker that joins later fetches it from a peer. The last few are
        kept."""
        slot = (id(client), key)
        future = self._specs.pop(slot, None)
        if future is None or future.status != "finished":
            future = client.scatter(spec, broadcast=True, hash=False)
        self._specs[slot] = future
        while len(self._specs) > SPECS_KEPT:
            self._specs.pop(next(iter(self._specs))).release()
        return future

    def close_local(self) -> bool:
        """Closes the embedded LocalCluster, if this kernel started one."""
        client, cluster = self._local, self._cluster
        if client is not None:
            self._specs = {slot: f for slot, f in self._specs.items() if slot[0] != id(client)}
        self._local = self._cluster = None
        for thing in (client, cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - closing what is already half gone
                    pass
        return cluster is not None

    def status(self) -> str | None:
        """The clusters this kernel uses: scheduler, workers, threads, memory."""
        lines = []
        seen = set()
        for kind, client in [("local, started by xparallel", self._local),
                             ("the notebook's client", notebook_client()),
                             *[("--scheduler", c) for c in self._clients.values()]]:
            if client is None or client.status != "running" or id(client) in seen:
                continue
            seen.add(id(client))
            try:
                info = client.scheduler_info()
            except Exception:  # noqa: BLE001
                continue
            workers = info.get("workers", {})
            threads = sum(w.get("nthreads", 0) for w in workers.values())
            memory = sum(w.get("memory_limit", 0) or 0 for w in workers.values()) / 2**30
            names = ", ".join(sorted(_label(a, w.get("name")) for a, w in workers.items()))
            lines.append(f"dask cluster ({kind}): scheduler {info.get('address')} · "
                         f"{len(workers)} workers ({names}) · {threads} threads · "
                         f"{memory:.1f} GiB memory")
        return "\n".join(lines) or None

    def submit(self, work: Work, items: Any, workers: int | None, chunksize: int,
               stop_on_error: bool, total: int | None) -> _DaskJob:
        client = self.client(work.options.get("scheduler"), workers)
        return _DaskJob(self, client, work, items, chunksize, stop_on_error, total)
