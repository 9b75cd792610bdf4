"""Per-thread clocks a chunk is measured with, on the thread that runs it."""

from __future__ import annotations


def wait_seconds() -> float:
    """Seconds this thread has spent runnable but waiting for a core (Linux schedstat, 2nd
    field); 0.0 where the kernel does not say. Read before and after a chunk: the difference is
    the chunk's `wait` in the timeline (time the machine was too busy, not the cell's work)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0
