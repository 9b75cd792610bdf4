"""The kernel runs Python code on the same interpreter binary as `python3` (ipykernel), not on a
Python embedded through libpython3.X.so, which runs it about 10 % slower (README, "Speed of ordinary
cells"); extension modules still load, the embedded route still works, and a warm idle pool costs
the process no CPU."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from kernel_client import execute, start, stop, value

pytestmark = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc (Linux)")


def mapped_libpython(pid: int | str) -> list[str]:
    with open(f"/proc/{pid}/maps") as maps:
        return sorted({line.split()[-1] for line in maps if "/libpython3" in line})


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """utime + stime of each thread of the process, by thread id."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        cpu[tid] = (int(fields[11]) + int(fields[12])) / ticks
    return cpu


@pytest.mark.timeout(60)
def test_the_kernel_process_is_the_python_that_runs_ipykernel(kernel):
    km, kc = kernel
    pid = km.provisioner.process.pid
    assert os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(
        value(kc, "__import__('sys').executable"))
    # Where python3 itself links the interpreter statically (Debian's, conda's), so does the kernel.
    if not mapped_libpython("self"):
        assert mapped_libpython(pid) == []


@pytest.mark.timeout(90)
def test_extension_modules_load_in_the_kernel(kernel):
    _, kc = kernel
    run = execute(kc, "import hashlib, numpy, xparallel._engine\n"
                      "print(numpy.arange(4).sum(), hashlib.blake2b(b'x', key=b'k').digest_size)")
    assert run.status == "ok", run.messages
    assert run.stdout.split() == ["6", "64"]
    run = execute(kc, "%%parallel -b interpreters --quiet\nsquares = [x * x for x in range(8)]")
    assert run.status == "ok", run.messages
    assert value(kc, "squares") == [x * x for x in range(8)]


@pytest.mark.timeout(90)
def test_a_warm_idle_pool_uses_no_cpu(kernel):
    km, kc = kernel
    pid = km.provisioner.process.pid
    run = execute(kc, "%%parallel -b interpreters -w 2 --quiet\ncubes = [x ** 3 for x in range(20)]")
    assert run.status == "ok", run.messages
    time.sleep(0.5)  # the run's own tail (its last events, the reply) is over
    before = thread_cpu_seconds(pid)
    time.sleep(2.0)
    after = thread_cpu_seconds(pid)
    used = {tid: after[tid] - before[tid] for tid in after.keys() & before.keys()}
    # Clock ticks are 10 ms: an idle kernel's 100 ms control poll and heartbeat stay far below this.
    assert sum(used.values()) < 0.1, used


@pytest.mark.timeout(120)
def test_the_embedded_route_still_serves_cells(monkeypatch):
    monkeypatch.setenv("XPARALLEL_KERNEL_EMBEDDED", "1")
    km, kc = start("xparallel")
    try:
        assert any("libpython3" in path for path in mapped_libpython(km.provisioner.process.pid))
        run = execute(kc, "%%parallel -b interpreters --quiet\nsquares = [x * x for x in range(4)]")
        assert run.status == "ok", run.messages
        assert value(kc, "squares") == [0, 1, 4, 9]
    finally:
        stop(km, kc)
