"""The Python side of an engine worker: runs inside each sub-interpreter.

Kept to what a sub-interpreter can import (no NumPy, no IPython): the C++ engine calls start()
once, then run_chunk() for every chunk it takes from the queue.
"""

from __future__ import annotations

import io
import pickle
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and traceback cost more to import than a whole interpreter start
    from typing import Any, Callable

_worker_number = 0
_job_id: int | None = None
_item_function: Callable[[Any], Any] | None = None
_setup_error: tuple | None = None
_emit: Callable[[int, str], None] | None = None


class _WorkerStream(io.TextIOBase):
    """stdout/stderr of a worker: each write goes to the notebook's event queue."""

    def __init__(self, stream: int, emit: Callable[[int, str], None]) -> None:
        super().__init__()
        self._stream = stream
        self._emit = emit

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._emit(self._stream, text)
        return len(text)


def start(worker_number: int, emit: Callable[[int, str], None],
          sleep: Callable[[float], None] | None = None) -> None:
    """`sleep`: the engine's time.sleep for this worker, which a cancel of the running item's job
    wakes with KeyboardInterrupt (CPython's own cannot be woken in a sub-interpreter's thread)."""
    global _worker_number, _emit
    _worker_number = worker_number
    _emit = emit
    sys.stdout = _WorkerStream(1, emit)
    sys.stderr = _WorkerStream(2, emit)
    if sleep is not None:
        import time

        time.sleep = sleep  # this interpreter's own time module: no other worker sees it


def _dumps(value: Any, buffers: list | None = None) -> bytes:
    """pickle, or cloudpickle for what pickle cannot name (classes defined in the cell).
    `buffers`: where out-of-band buffers go (protocol 5), instead of into the pickle."""
    callback = None if buffers is None else buffers.append
    try:
        return pickle.dumps(value, 5, buffer_callback=callback)
    except Exception:
        import cloudpickle

        if buffers is not None:
            buffers.clear()
        return cloudpickle.dumps(value, protocol=5, buffer_callback=callback)


# A result this large travels out of band: the notebook's copy is made from the worker's own
# buffer, with no copy into the pickle on the way (exact `bytes` never travel out of band by
# themselves; bytearrays and other buffers do).
OUT_OF_BAND_BYTES = 64 * 1024


class _LargeBytes:
    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def __reduce_ex__(self, protocol: int) -> tuple:
        return bytes, (pickle.PickleBuffer(self.value),)


def _out_of_band(results: list) -> list:
    if not any(type(r) is bytes and len(r) >= OUT_OF_BAND_BYTES for r in results):
        return results
    return [_LargeBytes(r) if type(r) is bytes and len(r) >= OUT_OF_BAND_BYTES else r
            for r in results]


def describe(index: int, kind: str, error: BaseException, item: Any = None) -> tuple:
    """(index, kind, pickled exception or None, type name, message, formatted traceback,
    short repr of the item). An interrupt is one whatever it stopped (a setup too): the
    dispatcher tells an interrupt that reached a worker first by its kind."""
    import reprlib
    import traceback

    if isinstance(error, KeyboardInterrupt):
        kind = "interrupt"

    formatted = "".join(traceback.format_exception(error))
    error.__traceback__ = None
    try:
        pickled = _dumps(error)
        pickle.loads(pickled)  # an exception can pickle and still fail to unpickle
    except Exception:
        pickled = None
    try:
        shown = reprlib.repr(item) if kind in ("item", "timeout") else ""
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        shown = f"<{type(item).__name__}>"
    return (index, kind, pickled, type(error).__qualname__, str(error), formatted, shown)


def apply(function: Callable[[Any], Any], items: list, first_index: int,
          stop_on_error: bool) -> tuple[list, list]:
    """Maps `function` over a chunk; a failed item leaves None and an error description."""
    results: list = []
    errors: list = []
    append = results.append
    remaining = iter(items)
    item = None
    while True:
        try:
            for item in remaining:
                append(function(item))
            break
        except BaseException as error:  # noqa: BLE001 - every item error goes home
            append(None)
            if isinstance(error, KeyboardInterrupt):
                # The job was cancelled: nobody reads this chunk's errors, and formatting a
                # traceback (importing traceback the first time) would keep the worker busy
                # past the grace after which it is set aside.
                errors.append((first_index + len(results) - 1, "interrupt", None,
                               "KeyboardInterrupt", "", "", ""))
            else:
                # records.TIMEOUT_MARK: not imported here, where every worker kind runs this.
                kind = "timeout" if getattr(error, "xparallel_timeout", False) else "item"
                errors.append(describe(first_index + len(results) - 1, kind, error, item))
            if stop_on_error or isinstance(error, KeyboardInterrupt):
                results.extend([None] * (len(items) - len(results)))
                break
    return results, errors


def _enter_job(job_id: int, factory: memoryview, sys_path: memoryview) -> None:
    global _job_id, _item_function, _setup_error
    _job_id, _item_function, _setup_error = job_id, None, None
    path = pickle.loads(sys_path)
    if sys.path != path:
        sys.path[:] = path
    try:
        _item_function = pickle.loads(factory)()
    except BaseException as error:  # noqa: BLE001 - reported to the notebook
        _setup_error = (error,)


def pickle_results(results: list, errors: list, first_index: int,
                   buffers: list | None = None) -> bytes:
    """The pickled (results, errors). With `buffers`, large ones go there out of band (the
    engine unpickles them into the notebook's interpreter from this interpreter's memory)."""
    try:
        if buffers is None:
            return _dumps((results, errors))
        return _dumps((_out_of_band(results), errors), buffers)
    except Exception:
        if buffers is not None:
            buffers.clear()
    # Find the results that cannot travel and report them as errors of their items.
    for offset, value in enumerate(results):
        try:
            _dumps(value)
        except Exception as error:  # noqa: BLE001
            results[offset] = None
            problem = TypeError(
                f"the result of item {first_index + offset} cannot be sent back to the notebook "
                f"({type(value).__name__} does not pickle: {error}); return plain data instead")
            errors.append(describe(first_index + offset, "result", problem))
    return _dumps((results, errors))


def run_chunk(job_id: int, factory: memoryview, sys_path: memoryview, items_view: memoryview,
              first_index: int, stop_on_error: bool) -> bytes | tuple[bytes, list]:
    """Runs one chunk; returns the pickled (results, errors) (see pickle_results)."""
    if job_id != _job_id:
        _enter_job(job_id, factory, sys_path)
    items = pickle.loads(items_view)
    if _setup_error is not None:
        errors = [describe(first_index, "setup", _setup_error[0])]
        return pickle.dumps(([None] * len(items), errors), 5)

    results, errors = apply(_item_function, items, first_index, stop_on_error)
    buffers: list = []
    payload = pickle_results(results, errors, first_index, buffers)
    return (payload, buffers) if buffers else payload
