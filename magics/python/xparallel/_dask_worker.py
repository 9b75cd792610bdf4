"""What runs on a dask worker for the `dask` backend: a chunk of a cell's items, and the
interrupt of a job's running chunks. Pure Python (no C++ module): a worker needs the xparallel
package importable and the cell's own libraries, as any dask worker does; everything else (the
cell's spec, the names it uses, the items) arrives by value, never by path."""

from __future__ import annotations

import pickle
import threading
from typing import Any

from ._payload import run_chunk_in_process
from ._worker import pickle_results

# job id -> idents of the threads running its chunks on this worker now
_running: dict[str, set[int]] = {}
_lock = threading.Lock()


def run_chunk(items: bytes, first_index: int, *, job_id: str, spec_key: bytes, spec: bytes,
              stop_on_error: bool) -> tuple:
    """(worker address, pickled (results, errors), start, end, cpu, wait, stdout, stderr). The
    spec arrives once per worker (a scattered future) and the item function is built once per
    worker process and cell (cached by the spec's key)."""
    from distributed import get_worker

    address = get_worker().address
    ident = threading.get_ident()
    with _lock:
        _running.setdefault(job_id, set()).add(ident)
    try:
        _, results, errors, start, end, cpu, wait, out, err = run_chunk_in_process(
            spec_key, spec, pickle.loads(items), first_index, stop_on_error, None)
    finally:
        with _lock:
            threads = _running.get(job_id, set())
            threads.discard(ident)
            if not threads:
                _running.pop(job_id, None)
    return address, pickle_results(results, errors, first_index), start, end, cpu, wait, out, err


async def interrupt(job_id: str) -> int:
    """Raises KeyboardInterrupt in this worker's threads that run the job's chunks now (dask
    itself cannot stop a running task): a pure-Python loop stops at its next bytecode, a blocking
    C call when it returns. Returns how many threads were told. A coroutine, so the notebook can
    send it to every worker without waiting (Client.run(wait=False) takes only those); it runs on
    the worker's event loop, not on the task's thread."""
    import ctypes

    with _lock:
        idents = list(_running.get(job_id, ()))
        for ident in idents:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                                       ctypes.py_object(KeyboardInterrupt))
    return len(idents)

