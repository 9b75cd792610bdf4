"""measure.RunClock: the CPU of every thread and child process a run used, and its waits for a
core, from the operating system's accounting (real threads and processes, no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from xparallel.measure import RunClock, Usage

SPIN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"


def spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


@pytest.mark.timeout(60)
def test_counts_a_thread_the_measured_code_starts():
    # What thread_time() of the calling thread misses: a thread an item starts (BLAS, a pool).
    clock = RunClock.start()
    own = time.thread_time()
    helper = threading.Thread(target=spin, args=(0.4,))
    helper.start()
    helper.join()
    usage = clock.stop()
    assert time.thread_time() - own < 0.1
    assert usage.cpu >= 0.35, usage
    assert usage.wall >= usage.cpu / 2


@pytest.mark.timeout(60)
def test_counts_child_processes_alive_or_reaped():
    clock = RunClock.start()
    subprocess.run([sys.executable, "-c", SPIN.format(seconds=0.4)], check=True)  # reaped
    alive = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=0.4)
                              + "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        time.sleep(0.2)
        while _cpu_of(alive.pid) < 0.35:  # spun its share, still alive
            time.sleep(0.05)
        usage = clock.stop()
    finally:
        alive.communicate(b"")
    assert usage.cpu >= 0.75, usage


def _cpu_of(pid: int) -> float:
    import os

    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.timeout(60)
def test_cpu_spent_before_the_start_is_not_counted():
    alive = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=0.5)
                              + "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        while _cpu_of(alive.pid) < 0.45:
            time.sleep(0.05)
        clock = RunClock.start()
        time.sleep(0.3)
        usage = clock.stop()
    finally:
        alive.communicate(b"")
    assert usage.cpu < 0.2, usage
    assert 0.25 < usage.wall < 5


GRANDPARENT = """
import subprocess, sys
worker = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdin=subprocess.PIPE)
print(worker.pid, flush=True)
sys.stdin.readline()          # the run starts: let the worker end
worker.communicate(b"")       # reaped here, as a forkserver reaps a pool's worker
sys.stdin.read()
"""


@pytest.mark.timeout(60)
def test_a_grandchild_that_ends_during_the_run_counts_only_its_cpu_in_the_run():
    # A pool replaced during a run (another -w): its old workers, children of the forkserver,
    # end and their whole life's CPU lands in the forkserver's reaped-children time. Only what
    # they spent during the run counts (this used to show "cores used 3.97" on 2 cores).
    worker_code = SPIN.format(seconds=0.5) + "import sys; sys.stdin.read()"
    middle = subprocess.Popen([sys.executable, "-c", GRANDPARENT, worker_code],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        worker = int(middle.stdout.readline())
        while _cpu_of(worker) < 0.45:
            time.sleep(0.05)
        clock = RunClock.start()
        middle.stdin.write("go\n")
        middle.stdin.flush()
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{worker}") and time.monotonic() < deadline:
            time.sleep(0.05)
        usage = clock.stop()
    finally:
        middle.communicate("")
    assert usage.cpu < 0.3, usage


@pytest.mark.timeout(60)
def test_waits_for_a_core_are_measured_apart_from_cpu():
    import os

    cores = len(os.sched_getaffinity(0))
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=1.5)
                                  + "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
                for _ in range(2 * cores)]
    try:
        time.sleep(0.1)
        clock = RunClock.start()
        time.sleep(0.8)  # twice as many spinners as cores: half their time is spent waiting
        usage = clock.stop()
    finally:
        for process in spinners:
            process.communicate(b"")
    assert usage.wait > 0.2, usage
    assert usage.cpu <= cores * usage.wall * 1.1 + 0.1, usage


def test_usage_cores_used():
    assert Usage(cpu=3.0, wall=2.0).cores_used == 1.5
    assert Usage(cpu=1.0, wall=0.0).cores_used == 0.0
