"""Per-thread clocks a chunk is measured with, on the thread that runs it."""

from __future__ import annotations

from .platform_reads import thread_wait_seconds


def wait_seconds() -> float:
    """Seconds this thread has spent runnable but waiting for a core (platform_reads: Linux's
    schedstat); 0.0 where the system does not say, so that a chunk's row always holds a number:
    the run's report says "not measured" from `Usage.wait` instead. Read before and after a
    chunk: the difference is the chunk's `wait` in the timeline (time the machine was too busy,
    not the cell's work)."""
    return thread_wait_seconds() or 0.0
