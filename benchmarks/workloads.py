"""Item functions for the benchmarks, importable by every executor (InterpreterPoolExecutor and
worker processes cannot run functions defined in __main__). Standard library only at import time:
sub-interpreters import this module too."""

from __future__ import annotations

import time
from typing import Any


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def add_one(x: int) -> int:
    return x + 1


def busy(seconds: float) -> float:
    """CPU-bound for `seconds` of this thread's CPU time (not wall time: a loaded machine makes an
    item slower, never cheaper). Returns the argument, so results can be checked."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        for _ in range(200):
            pass
    return seconds


MB = 1 << 20


def megabyte(i: int) -> bytes:
    """A 1 MB result, its content depending on the item."""
    return bytes((i % 251,)) * MB


def slice_sum(a: Any, i: int, n: int) -> float:
    return float(a[i * n:(i + 1) * n].sum())


def array_sum(part: Any) -> float:
    return float(part.sum())


SLICES = 64


def slice_of(a: Any, i: int) -> float:
    """The sum of the i-th of SLICES slices of `a`."""
    n = a.size // SLICES
    return float(a[i * n:(i + 1) * n].sum())


def slice_at(i: int, a: Any) -> float:
    return slice_of(a, i)


def factory(name: str):
    """The item function `name`, for the xparallel engine (which ships a factory)."""
    return globals()[name]


# The engine's earlier benchmarks name these.
def fib_factory():
    return fib


def add_one_factory():
    return add_one
