"""What a run cost the machine, measured around it: the CPU time of every thread of this process
and of its child processes (a processes pool, the threads NumPy or an item starts), the wall time,
and the time those threads spent runnable but waiting for a core.

Chunk rows only see the thread that ran the chunk (`thread_time()`); "cores used" must also count
the threads an item starts (BLAS, a nested pool) and worker processes, so it is taken here, from
the operating system's accounting of the whole process tree."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from . import platform_reads


@dataclass(frozen=True)
class Usage:
    """The cost of one run: `cpu` s of CPU over the process tree, `wall` s, `wait` s runnable
    but without a core (Linux schedstat; None where the system does not report it: macOS,
    Windows, a Linux without /proc; shown as "not measured here", never as 0)."""

    cpu: float
    wall: float
    wait: float | None = 0.0

    @property
    def cores_used(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else 0.0


@dataclass
class _Snapshot:
    wall: float
    own: float                      # this process: every thread, ended ones included
    reaped: float                   # children this process has waited for
    children: dict[tuple[int, str], float]
    wait: dict[tuple[int, str], int] | None  # None: not measured here


def _snapshot() -> _Snapshot:
    me = os.getpid()
    children = platform_reads.descendants_cpu(pid=me) or {}
    times = os.times()
    return _Snapshot(wall=time.perf_counter(), own=time.process_time(),
                     reaped=times.children_user + times.children_system, children=children,
                     wait=platform_reads.waits_ns([me, *{pid for pid, _ in children}]))


class RunClock:
    """`clock = RunClock.start()` before the work starts, `clock.stop()` after it ended: a Usage.

    CPU: this process's CPU clock (all its threads, including ones that ended), plus the CPU of
    every descendant process alive at either end (the forkserver and its workers), plus children
    reaped in between. Wait: the run-queue wait of the threads alive at both ends (threads that
    ended in between are missed: the chunks' own wait rows count those; threads that started in
    between count from their start)."""

    def __init__(self, first: _Snapshot) -> None:
        self._first = first

    @classmethod
    def start(cls) -> "RunClock":
        return cls(_snapshot())

    def stop(self) -> Usage:
        first, last = self._first, _snapshot()
        cpu = (last.own - first.own) + (last.reaped - first.reaped)
        for key, seconds in last.children.items():
            cpu += seconds - first.children.get(key, 0.0)
        # A descendant alive at the start and ended since: its whole life's CPU has moved into
        # whoever reaped it (this process's os.times(), or a descendant's reaped-children time,
        # as a forkserver reaps a replaced pool's workers), so its share before the start, in
        # `first`, comes off.
        cpu -= sum(seconds for key, seconds in first.children.items() if key not in last.children)
        wait = None
        if first.wait is not None and last.wait is not None:
            wait = sum(max(0, ns - first.wait.get(key, 0)) for key, ns in last.wait.items()) / 1e9
        return Usage(cpu=max(0.0, cpu), wall=max(0.0, last.wall - first.wall), wait=wait)
