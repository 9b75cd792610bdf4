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
import threading
import uuid
from typing import Any

from ..transfer import pickle_items, unpickle_results
from .base import BUSY, IDLE, BackendError, ChunkedJob, Work, default_workers

CONNECT_SECONDS = 5.0
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

        self._sizer = ChunkSizer(threads, chunksize, total)  # every thread is a slot for a task
        self._lookahead = 2 * threads + 1
        self._client = client
        self._index = {address: i for i, address in enumerate(addresses)}
        self.worker_names = [_label(a, info[a].get("name")) for a in addresses]
        self.where = f"dask cluster {client.scheduler.address}"
        self._job_id = f"xparallel-{next(_job_numbers)}-{uuid.uuid4().hex[:8]}"
        spec = work.spec_bytes()
        self._key = hashlib.sha256(spec).digest()
        # Once to every worker, not once per task; a worker that joins later fetches it from a peer.
        self._spec = client.scatter(spec, broadcast=True, hash=False)
        self._ready = threading.Event()
        self._first_index: dict[str, int] = {}

    def _submit_chunk(self, chunk: list, first_index: int) -> Any:
        from .._dask_worker import run_chunk

        payload = pickle_items(chunk, first_index)
        future = self._client.submit(run_chunk, self._job_id, self._key, self._spec, payload,
                                     first_index, self._stop_on_error, pure=False,
                                     key=f"{self._job_id}-{first_index}")
        self._first_index[future.key] = first_index
        future.add_done_callback(lambda _: self._ready.set())
        return future

    def _wait(self, future: Any, timeout: float) -> None:
        while not future.done() and self._ready.wait(timeout):
            self._ready.clear()
            return

    def _outcome(self, future: Any) -> tuple:
        first_index = self._first_index.pop(future.key, 0)
        if future.status == "error":
            error = future.exception()
            raise BackendError(f"dask could not run the items from {first_index}: "
                               f"{type(error).__name__}: {error}")
        address, pickled, start, end, cpu, wait, out, err = future.result()
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
        """Queued tasks are cancelled in one message to the scheduler; running ones are told."""
        if self.cancelled:
            return
        self.cancelled = True
        pending = list(self._pending.values())
        try:
            if pending:
                self._client.cancel(pending)
        except Exception:  # noqa: BLE001 - a cluster already gone has nothing left to cancel
            pass
        self._interrupt_running()
        self._finish()

    def _interrupt_running(self) -> None:
        from .._dask_worker import interrupt

        try:
            self._client.run(interrupt, self._job_id, wait=False)
        except Exception:  # noqa: BLE001
            pass

    def _close(self) -> None:
        spec, self._spec = self._spec, None
        if spec is not None:
            spec.release()


class DaskBackend:
    name = "dask"
    noun = "dask workers"

    def __init__(self) -> None:
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

    def close_local(self) -> bool:
        """Closes the embedded LocalCluster, if this kernel started one."""
        client, cluster = self._local, self._cluster
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
            names = ", ".join(_label(a, w.get("name")) for a, w in sorted(workers.items()))
            lines.append(f"dask cluster ({kind}): scheduler {info.get('address')} · "
                         f"{len(workers)} workers ({names}) · {threads} threads · "
                         f"{memory:.1f} GiB memory")
        return "\n".join(lines) or None

    def submit(self, work: Work, items: Any, workers: int | None, chunksize: int,
               stop_on_error: bool, total: int | None) -> _DaskJob:
        client = self.client(work.options.get("scheduler"), workers)
        return _DaskJob(self, client, work, items, chunksize, stop_on_error, total)
