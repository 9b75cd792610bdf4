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

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PROC = "/proc"


@dataclass(frozen=True)
class Usage:
    """The cost of one run: `cpu` s of CPU over the process tree, `wall` s, `wait` s runnable
    but without a core (Linux schedstat; 0 where the system does not report it)."""

    cpu: float
    wall: float
    wait: float = 0.0

    @property
    def cores_used(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else 0.0


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode()
    except OSError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    text = _read(f"{_PROC}/{pid}/stat")
    if text is None:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return text[text.rindex(")") + 2:].split()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for tid in os.listdir(f"{_PROC}/{pid}/task") if os.path.isdir(f"{_PROC}/{pid}/task") else []:
        text = _read(f"{_PROC}/{pid}/task/{tid}/children")
        if text:
            found.extend(int(child) for child in text.split())
    return found


def _descendants(pid: int) -> list[int]:
    out, stack = [], _children(pid)
    while stack:
        child = stack.pop()
        out.append(child)
        stack.extend(_children(child))
    return out


def _process_cpu(pid: int) -> tuple[tuple[int, str], float] | None:
    """((pid, start time), user + system CPU s of all its threads, live and ended)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # After the name: state is fields[0]; utime, stime are stat fields 14, 15; cutime, cstime
    # (its own reaped children) 16, 17; starttime 22 tells a reused pid apart.
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (pid, fields[19]), (utime + stime + cutime + cstime) / _TICK


def _waits(pids: list[int]) -> dict[tuple[int, str], int]:
    """Run-queue wait so far (schedstat's 2nd field, ns) of every live thread of `pids`."""
    found: dict[tuple[int, str], int] = {}
    for pid in pids:
        try:
            tids = os.listdir(f"{_PROC}/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            text = _read(f"{_PROC}/{pid}/task/{tid}/schedstat")
            if text:
                found[(pid, tid)] = int(text.split()[1])
    return found


@dataclass
class _Snapshot:
    wall: float
    own: float                      # this process: every thread, ended ones included
    reaped: float                   # children this process has waited for
    children: dict[tuple[int, str], float]
    wait: dict[tuple[int, str], int]


def _snapshot() -> _Snapshot:
    me = os.getpid()
    children: dict[tuple[int, str], float] = {}
    pids = [me]
    if os.path.isdir(f"{_PROC}/{me}"):
        for pid in _descendants(me):
            sample = _process_cpu(pid)
            if sample is not None:
                children[sample[0]] = sample[1]
                pids.append(pid)
    times = os.times()
    return _Snapshot(wall=time.perf_counter(), own=time.process_time(),
                     reaped=times.children_user + times.children_system, children=children,
                     wait=_waits(pids))


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
        wait = sum(max(0, ns - first.wait.get(key, 0)) for key, ns in last.wait.items())
        return Usage(cpu=max(0.0, cpu), wall=max(0.0, last.wall - first.wall), wait=wait / 1e9)
