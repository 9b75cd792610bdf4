"""The records every backend hands the dispatcher, defined once: what a finished chunk brought
back (`Delivery`) and what a failed item left (`ItemError`).

A worker describes a failure as a plain tuple (`_worker.describe`: it runs in sub-interpreters,
where importing dataclasses costs more than the item); the dispatcher turns that tuple into an
`ItemError` in one place (`ItemError.from_worker`), whichever backend ran the chunk."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

SUBINTERPRETER_REFUSAL = "does not support loading in subinterpreters"


def refuses_subinterpreters(type_name: str, message: str) -> bool:
    """Whether an error is a module refusing to load in a sub-interpreter (NumPy 2 does)."""
    return type_name in ("ImportError", "ModuleNotFoundError") and SUBINTERPRETER_REFUSAL in message


class ErrorKind(StrEnum):
    """What failed. A str, so that the worker's edge (plain tuples) and `_parallel.errors` read
    as before; the notebook's code compares members, never type names or messages."""

    ITEM = "item"            # the item raised
    SETUP = "setup"          # the cell's setup lines raised in a worker
    RESULT = "result"        # the item's result could not travel back
    INTERRUPT = "interrupt"  # the item was stopped by an interrupt (the user's, or a cancel)
    TIMEOUT = "timeout"      # the item ran past --timeout

    def __repr__(self) -> str:
        return repr(self.value)

    @property
    def of_an_item(self) -> bool:
        """Whether it stands in one item's place because of that item's own run."""
        return self in (ErrorKind.ITEM, ErrorKind.INTERRUPT, ErrorKind.TIMEOUT)


class WorkerState(IntEnum):
    """A worker's state, from the engine's names (or a backend's own knowledge) to the bars: the
    one mapping. Ints, so the dispatcher's progress rows stay plain tuples."""

    STARTING = 0
    IDLE = 1
    BUSY = 2
    STOPPED = 3

    @classmethod
    def from_engine(cls, name: str) -> "WorkerState":
        """The C++ pool's name for a state ("starting", "idle", "busy", "stopped"); a name it
        may add later reads as idle rather than failing the bars."""
        return cls.__members__.get(name.upper(), cls.IDLE)

    @property
    def label(self) -> str:
        """As a bar says it."""
        return "working" if self is WorkerState.BUSY else self.name.lower()


TIMEOUT_MARK = "xparallel_timeout"  # the attribute that marks a TimeoutError --timeout raised


class WorkerError(Exception):
    """An exception raised in a worker that could not be sent back as its own type."""

@dataclass(slots=True)
class Delivery:
    """A chunk that came back from a worker, in any order. Times are seconds since the job
    started, measured on the worker; `cpu` is the worker thread's CPU time and `wait` the time it
    was runnable but waiting for a core. `errors` are the worker's descriptions
    (`_worker.describe`), turned into ItemError records by the dispatcher."""

    sequence: int
    worker: int          # 0-based: the bar it counts in
    results: list
    errors: list
    start: float
    end: float
    cpu: float = 0.0
    wait: float = 0.0
    size: int = 0        # bytes the results took in transit (0 where they did not travel)

@dataclass
class ItemError:
    """One failed item (or a worker's failed setup): where, on what, and the worker's exception
    with its traceback text."""

    index: int
    worker: int        # 1-based, as the bars are named
    kind: ErrorKind
    type_name: str
    message: str
    traceback: str
    item: str          # short repr of the item
    pickled: bytes | None = field(default=None, repr=False)
    _exception: BaseException | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_worker(cls, described: tuple | list, worker: int) -> "ItemError":
        """From a worker's description (index, kind, pickled exception or None, type name,
        message, formatted traceback, item repr) and the 1-based worker that ran it."""
        index, kind, pickled, type_name, message, traceback, item = described
        return cls(index, worker, ErrorKind(kind), type_name, message, traceback, item, pickled)

    def __post_init__(self) -> None:
        self.kind = ErrorKind(self.kind)

    def exception(self) -> BaseException:
        """The worker's exception as its own type where it pickles, with a note saying where it
        was raised and the worker's traceback; the same object every time it is asked for."""
        if self._exception is not None:
            return self._exception
        error: BaseException | None = None
        if self.pickled is not None:
            try:
                error = pickle.loads(self.pickled)
            except Exception:  # noqa: BLE001
                error = None
        if error is None:
            error = WorkerError(f"{self.type_name}: {self.message}")
        where = (f"in the setup of worker w{self.worker}" if self.kind is ErrorKind.SETUP
                 else f"in worker w{self.worker} on item {self.index}"
                 + (f" ({self.item})" if self.item else ""))
        error.add_note(f"[xparallel] raised {where}")
        worker_frames = _cell_frames(self.traceback)
        if worker_frames:
            error.add_note(f"[xparallel] worker traceback (most recent call last):\n{worker_frames}")
        self._exception = error
        return error

def _cell_frames(formatted: str) -> str:
    """The worker's traceback without xparallel's own frames: what the user wrote."""
    lines = formatted.splitlines()
    kept: list[str] = []
    skip = False
    for line in lines[1:-1]:  # drop "Traceback ..." and the final "Type: message"
        if line.startswith("  File "):
            skip = "/xparallel/" in line and "xp-cell" not in line
        if not skip:
            kept.append(line)
    return "\n".join(kept)


__all__ = ["Delivery", "ErrorKind", "ItemError", "WorkerState", "WorkerError",
           "refuses_subinterpreters"]

