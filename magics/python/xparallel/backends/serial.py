"""`serial`: the cell's items one after another on the kernel's main thread, in the notebook's own
namespace. The baseline every speedup is measured against. What an item prints goes straight to
the cell (it runs on the main thread), prefixed `[w1]` like any worker's output."""

from __future__ import annotations

import signal
import sys
from concurrent import futures
from contextlib import contextmanager
from typing import Any, Iterator

from ..output import PrefixedStream
from ..records import TIMEOUT_MARK
from .base import Backend, FuturesContext, Work, run_timed


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """--timeout on the main thread, where serial items run and nothing else could stop them: a
    timer signal raises TimeoutError in the item (chunks are one item under --timeout)."""
    if not seconds:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        error = TimeoutError(f"the item ran longer than --timeout {seconds:g} s")
        setattr(error, TIMEOUT_MARK, True)
        raise error

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class SerialContext(FuturesContext):
    def __init__(self, work: Work, stop_on_error: bool) -> None:
        super().__init__(1)
        self._function = work.local_function
        self._stop_on_error = stop_on_error
        self._timeout: float | None = work.options.get("timeout")

    @property
    def window(self) -> int:
        return 1

    def _submit(self, first_index: int, items: list) -> futures.Future:
        future: futures.Future = futures.Future()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = PrefixedStream(saved[0], "[w1]"), PrefixedStream(saved[1], "[w1]")
        try:
            with time_limit(self._timeout):
                outcome = run_timed(self._function, items, first_index, self._stop_on_error)
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.finish()
            sys.stdout, sys.stderr = saved
        future.set_result((0, *outcome))
        return future


class SerialBackend(Backend):
    name = "serial"
    help = "serial"
    nouns = ("worker", "workers")
    place = "the main thread"
    shares_namespace = True
    debugger_reaches = True
    baseline = True
    times_items = True

    def context(self, work: Work, workers: int | None, stop_on_error: bool) -> SerialContext:
        return SerialContext(work, stop_on_error)
