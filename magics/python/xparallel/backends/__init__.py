"""Backends behind one job protocol, so the magic, the progress display and the report do not care
which one ran.

A backend's `submit(work, items, workers, chunksize, stop_on_error, total)` returns a Job:
    pump(timeout) -> bool     feed, wait, collect for up to `timeout` s; True once over
    cancel()                  drop queued work, interrupt running items
    results, errors           per-item values in input order; error tuples
                              (index, worker, kind, pickled exception, type, message, traceback,
                               item repr)
    progress()                (dispatched, collected, total or None,
                               [(done, cpu s, busy s, state, failed)] per worker)
    timeline()                [(worker, first index, count, start s, end s, cpu s, wait s)]
                              wait: time runnable but waiting for a core (schedstat)
    events()                  [(worker, stream, text)] printed by workers since the last call
    elapsed                   seconds since the job started
Nothing in the protocol assumes the workers share the notebook's machine or file system: work is
described by a pickled spec, items and results travel pickled.
"""

from __future__ import annotations

from .base import Work
from .interpreters import InterpretersBackend
from .processes import ProcessesBackend
from .serial import SerialBackend
from .threads import ThreadsBackend

BACKENDS = {
    "interpreters": InterpretersBackend,
    "threads": ThreadsBackend,
    "processes": ProcessesBackend,
    "serial": SerialBackend,
}

NAMES = ("auto", *BACKENDS)

__all__ = ["BACKENDS", "NAMES", "Work"]
