"""`dask`: the cell's chunks as tasks on a dask.distributed cluster, for when one machine is not
enough. The cluster is the notebook's current client (`distributed.default_client()`), a
scheduler named with `--scheduler ADDRESS`, or else an embedded LocalCluster of process workers
(`-w` of them) started once and kept warm.

The cell's spec is scattered once to every worker, which builds the item function once per cell;
items travel pickled in chunks sized like the engine's (a task costs the scheduler about a
millisecond, so one task per item would cost more than most items); results come back pickled and
are put in order by the dispatcher. Worker output arrives as it is written (the workers log it
as events on a topic this job's client subscribes to). An
interrupt cancels the queued tasks and raises KeyboardInterrupt in the worker threads running
this job's chunks. A worker lost mid-run loses nothing: the scheduler reruns its tasks elsewhere."""

from __future__ import annotations

import hashlib
import itertools
import logging
import sys
import time
import uuid
from collections import deque
from typing import Any

from ..records import Delivery
from ..transfer import pickle_items, unpickle_results
from .base import Backend, BackendError, Work, WorkerContext, default_workers

CONNECT_SECONDS = 5.0
SPECS_KEPT = 8
TASK_SECONDS = 0.1  # a chunk's aimed duration on a dask worker
OUTPUT_GRACE = 1.0  # at the end, how long to wait for output still on its way
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


class DaskContext(WorkerContext):
    """The cluster's workers for one job: a chunk is a task. A task costs the scheduler about a
    millisecond where an engine chunk costs microseconds, so chunks aim longer, every worker
    thread is a slot, and chunks go to the scheduler in batches (`flush`: one graph update for
    several tasks, as client.map does)."""

    chunk_seconds = TASK_SECONDS

    def __init__(self, backend: "DaskBackend", client: Any, work: Work,
                 stop_on_error: bool) -> None:
        info = client.scheduler_info()["workers"]
        if not info:
            raise BackendError(f"the dask cluster at {client.scheduler.address} has no workers; "
                               "start some (`dask worker ADDRESS`) or use another backend")
        addresses = sorted(info, key=lambda a: str(info[a].get("name", a)))
        super().__init__(len(addresses))
        self._threads = sum(info[a].get("nthreads", 1) for a in addresses)
        self._client = client
        self._stop_on_error = stop_on_error
        self._index = {address: i for i, address in enumerate(addresses)}
        self.worker_names = [_label(a, info[a].get("name")) for a in addresses]
        self.where = f"dask cluster {client.scheduler.address}"
        self._job_id = f"xparallel-{next(_job_numbers)}-{uuid.uuid4().hex[:8]}"
        spec = work.spec_bytes()
        self._key = hashlib.sha256(spec).digest()
        self._spec = backend.scattered_spec(client, self._key, spec)
        self._batch: list[tuple[int, int, list]] = []
        self._tasks: dict[str, tuple[Any, int, int]] = {}  # key -> (future, sequence, first)
        # Results are fetched on the client's event loop as tasks finish (one fetch each, never a
        # round trip from the notebook's main thread), and read from here without waiting.
        from distributed import as_completed

        self._completed = as_completed(loop=client.loop, with_results=True, raise_errors=False)
        # Worker output, as the workers write it: [address, batch number, pieces], appended on
        # the client's event loop.
        self._printed: deque = deque()
        self._received: dict[str, int] = {}
        self._expected: dict[str, int] = {}
        self._topic, self._routes = backend.output_channel(client)
        self._routes[self._job_id] = self._printed
        self._closed = False

    @property
    def slots(self) -> int:
        return self._threads

    @property
    def window(self) -> int:
        # Tasks queued at the scheduler while the notebook collects: a worker that finishes one
        # gets the next without waiting for the notebook (still a bounded look-ahead).
        return 4 * self._threads + 2

    @property
    def batch(self) -> int:
        return self.window // 2  # refilled when half the look-ahead has come back

    def submit(self, sequence: int, first_index: int, items: list) -> None:
        self._batch.append((sequence, first_index, items))

    def flush(self) -> None:
        from .._dask_worker import run_chunk

        batch, self._batch = self._batch, []
        if not batch:
            return
        # Items travel inside the task graph: the scheduler keeps them, so a task whose worker
        # dies is rerun elsewhere with its items (scattered data would die with the worker).
        payloads = [pickle_items(items, first) for _, first, items in batch]
        firsts = [first for _, first, _ in batch]
        keys = [f"{self._job_id}-{first}" for first in firsts]
        futures = self._client.map(run_chunk, payloads, firsts, key=keys, pure=False,
                                   job_id=self._job_id, spec_key=self._key, spec=self._spec,
                                   stop_on_error=self._stop_on_error, topic=self._topic)
        for future, (sequence, first, _) in zip(futures, batch):
            self._tasks[future.key] = (future, sequence, first)
        self._completed.update(futures)

    def wait(self, timeout: float) -> None:
        condition = self._completed.thread_condition  # notified as each result arrives
        with condition:
            if not self._completed.has_ready():
                condition.wait(timeout)

    def take(self) -> list[Delivery]:
        deliveries = []
        for future, answer in self._completed.next_batch(block=False):
            entry = self._tasks.pop(future.key, None)
            if entry is None:
                continue
            _, sequence, first_index = entry
            if future.status == "cancelled":
                continue
            if future.status == "error" or isinstance(answer, BaseException):
                error = answer if isinstance(answer, BaseException) else future.exception()
                raise BackendError(f"dask could not run the items from {first_index}: "
                                   f"{type(error).__name__}: {error}")
            address, pickled, start, end, cpu, wait, batches = answer
            self._expected[address] = max(self._expected.get(address, 0), batches)
            results, errors = unpickle_results(pickled, first_index)
            deliveries.append(Delivery(sequence, self._worker(address), results, errors,
                                       start - self.started, end - self.started, cpu, wait,
                                       len(pickled)))
        return deliveries

    def _worker(self, address: str) -> int:
        """The bar of the worker at `address`; a worker that joined during the run gets a new
        number (its items count in the overall bar)."""
        if address not in self._index:
            self._index[address] = self.workers
            self.worker_names.append(address.removeprefix("tcp://"))
            self.workers += 1
        return self._index[address]

    def events(self) -> list[tuple]:
        """Worker output, labelled by the worker's name, not w1. At the end of the job, waits a
        moment for batches the chunks said they sent and that are still on their way."""
        deadline = time.monotonic() + OUTPUT_GRACE
        events: list[tuple] = []
        while True:
            while self._printed:
                address, number, pieces = self._printed.popleft()
                self._received[address] = number
                name = self.worker_names[self._worker(address)]
                events.extend((name, stream, text) for stream, text in pieces)
            if not self._closed or time.monotonic() >= deadline or all(
                    self._received.get(a, 0) >= n for a, n in self._expected.items()):
                break
            time.sleep(0.005)
        if self._closed:
            self._routes.pop(self._job_id, None)  # what comes later is not this cell's
        return events

    def interrupt(self) -> None:
        """Queued tasks are cancelled and running ones told to stop, without waiting for the
        scheduler's answer: the notebook is free at once, however busy the cluster is."""
        from .._dask_worker import interrupt

        self._expected.clear()
        pending = [future for future, _, _ in self._tasks.values()]
        if pending:
            self._in_background(self._client._cancel, pending, reason="interrupted in the notebook")
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

    def close(self) -> None:
        self._closed = True
        self._completed.clear()
        self._tasks.clear()


class DaskBackend(Backend):
    name = "dask"
    help = ("dask (a dask.distributed cluster: the notebook's client, --scheduler ADDRESS, or an "
            "embedded LocalCluster of -w process workers)")
    nouns = ("dask worker", "dask workers")
    runs_in = "processes"
    takes_scheduler = True

    def __init__(self) -> None:
        self._specs: dict[tuple[int, bytes], Any] = {}  # (client, spec key) -> scattered spec
        self._outputs: dict[str, tuple[str, dict]] = {}  # client id -> (topic, job id -> events)
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

    def output_channel(self, client: Any) -> tuple[str, dict[str, deque]]:
        """The topic the workers log this client's jobs' output to, subscribed once per client,
        and where each job's events go (job id -> its deque; a job no longer there is dropped)."""
        channel = self._outputs.get(client.id)
        if channel is None:
            topic = f"xparallel-output-{client.id}"
            routes: dict[str, deque] = {}

            def route(event: tuple) -> None:  # on the client's event loop
                job_id, *message = event[1]
                target = routes.get(job_id)
                if target is not None:
                    target.append(message)

            client.subscribe_topic(topic, route)
            channel = self._outputs[client.id] = (topic, routes)
        return channel

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
            self._outputs.pop(client.id, None)
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

    def context(self, work: Work, workers: int | None, stop_on_error: bool) -> DaskContext:
        client = self.client(work.options.get("scheduler"), workers)
        return DaskContext(self, client, work, stop_on_error)
