"""What runs on a dask worker for the `dask` backend: a chunk of a cell's items, and the
interrupt of a job's running chunks. Pure Python (no C++ module): a worker needs the xparallel
package importable and the cell's own libraries, as any dask worker does; everything else (the
cell's spec, the names it uses, the items) arrives by value, never by path.

What a chunk prints reaches the notebook as it is written: the worker's stdout and stderr route
the text of threads running a job's chunks to the topic of the notebook's client
(`Worker.log_event`, batched, tagged with the job), which that client subscribes to; other text
goes where it went. One topic per client, not per job: the scheduler keeps a topic's last events
(a thousand), so a topic per job would keep that many for every cell ever run."""

from __future__ import annotations

import pickle
import sys
import threading
from typing import Any

from ._live_output import NOT_OURS, Batcher, BatchedStream
from ._payload import run_chunk_in_process
from ._worker import pickle_results

# job id -> idents of the threads running its chunks on this worker now
_running: dict[str, set[int]] = {}
_lock = threading.Lock()
_cancelled: dict[str, None] = {}    # jobs interrupted here (the last few): their chunks skip
CANCELLED_KEPT = 64
_keys: dict[int, tuple[str, str]] = {}  # thread ident -> (topic, job id) of the chunk it runs
_sent: dict[str, int] = {}              # job id -> batches of output this worker sent for it
_batcher: Batcher | None = None


def _route_output(worker: Any) -> Batcher:
    """Once per worker process: stdout and stderr that route a job's text to its topic."""
    global _batcher
    if _batcher is None:
        address = worker.address

        def send(key: tuple[str, str], pieces: list[tuple[int, str]]) -> None:
            topic, job_id = key
            _sent[job_id] = _sent.get(job_id, 0) + 1
            worker.log_event(topic, [job_id, address, _sent[job_id], [list(p) for p in pieces]])

        def key() -> Any:
            return _keys.get(threading.get_ident(), NOT_OURS)

        _batcher = Batcher(send)
        sys.stdout = BatchedStream(_batcher, 1, sys.stdout, key)
        sys.stderr = BatchedStream(_batcher, 2, sys.stderr, key)
    return _batcher


def run_chunk(items: bytes, first_index: int, *, job_id: str, spec_key: bytes, spec: bytes,
              stop_on_error: bool, topic: str) -> tuple:
    """(worker address, pickled (results, errors), start, end, cpu, wait, batches of output
    sent for this job by this worker so far, on `topic`, the notebook client's). The spec arrives once per worker (a scattered
    future) and the item function is built once per worker process and cell (cached by the
    spec's key)."""
    from distributed import get_worker

    worker = get_worker()
    batcher = _route_output(worker)
    ident = threading.get_ident()
    with _lock:
        if job_id in _cancelled:
            # Interrupted before this chunk started: the scheduler's cancel may reach this
            # worker after it took the chunk, and an item that spins would hold it for ever.
            count = len(pickle.loads(items))
            skipped = ([None] * count,
                       [(first_index, "interrupt", None, "KeyboardInterrupt", "", "", "")])
            return (worker.address, pickle.dumps(skipped, 5), 0.0, 0.0, 0.0, 0.0,
                    _sent.get(job_id, 0))
        _running.setdefault(job_id, set()).add(ident)
        _keys[ident] = (topic, job_id)
    try:
        _, results, errors, start, end, cpu, wait = run_chunk_in_process(
            spec_key, spec, pickle.loads(items), first_index, stop_on_error, None)
    finally:
        with _lock:
            _keys.pop(ident, None)
            threads = _running.get(job_id, set())
            threads.discard(ident)
            if not threads:
                _running.pop(job_id, None)
        batcher.flush()  # what the chunk printed leaves before its result
    return (worker.address, pickle_results(results, errors, first_index), start, end, cpu, wait,
            _sent.get(job_id, 0))


async def interrupt(job_id: str) -> int:
    """Raises KeyboardInterrupt in this worker's threads that run the job's chunks now (dask
    itself cannot stop a running task): a pure-Python loop stops at its next bytecode, a blocking
    C call when it returns. Returns how many threads were told. A coroutine, so the notebook can
    send it to every worker without waiting (Client.run(wait=False) takes only those); it runs on
    the worker's event loop, not on the task's thread."""
    import ctypes

    with _lock:
        _cancelled[job_id] = None
        while len(_cancelled) > CANCELLED_KEPT:
            del _cancelled[next(iter(_cancelled))]
        idents = list(_running.get(job_id, ()))
        for ident in idents:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                                       ctypes.py_object(KeyboardInterrupt))
    return len(idents)
