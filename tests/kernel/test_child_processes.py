"""Processes a cell starts get the signal state a Python process normally has: nothing blocked,
so terminate() works on a Popen, a Pool on every start method and a ProcessPoolExecutor, and a
cell's pool does not outlive its kernel. Run against ipykernel too: the reference behaviour."""

from __future__ import annotations

import os
import time

import pytest

from kernel_client import execute, start, stop, value

KERNELS = ["xparallel", "python3"]


@pytest.fixture(scope="module", params=KERNELS)
def kernel(request):
    km, kc = start(request.param)
    yield km, kc
    stop(km, kc)


def blocked_mask(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("SigBlk:"):
                return int(line.split()[1], 16)
    raise AssertionError(f"no SigBlk line for {pid}")


def still_alive(pids: list[int], within: float = 5.0) -> list[int]:
    """Those of `pids` alive `within` s from now (a terminated process may take a moment)."""
    deadline = time.monotonic() + within
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in status)
    except FileNotFoundError:
        return False


@pytest.mark.timeout(60)
def test_a_popen_child_has_nothing_blocked_and_terminates(kc):
    run = execute(kc, "import subprocess\n"
                      "p = subprocess.Popen(['sleep', '60'])\n"
                      "child_pid = p.pid")
    assert run.status == "ok", run.messages
    assert blocked_mask(value(kc, "child_pid")) == 0
    assert value(kc, "(p.terminate(), p.wait(3))[1]") == -15


@pytest.mark.timeout(90)
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_pool_terminates_on_every_start_method(kc, method):
    run = execute(kc, "import multiprocessing, time\n"
                      f"pool = multiprocessing.get_context({method!r}).Pool(2)\n"
                      "pool_pids = [p.pid for p in pool._pool]\n"
                      "r = pool.map_async(time.sleep, [30, 30])\n"
                      "time.sleep(0.5)")
    assert run.status == "ok", run.messages
    pids = value(kc, "pool_pids")
    assert [blocked_mask(pid) for pid in pids] == [0, 0]
    run = execute(kc, "pool.terminate(); pool.join()", timeout=20)
    assert run.status == "ok", run.messages
    assert not still_alive(pids)


@pytest.mark.timeout(60)
def test_a_process_pool_executor_terminates_its_workers(kc):
    run = execute(kc, "import concurrent.futures, time\n"
                      "ex = concurrent.futures.ProcessPoolExecutor(2)\n"
                      "futures = [ex.submit(time.sleep, 30) for _ in range(2)]\n"
                      "time.sleep(1)\n"
                      "ex_pids = list(ex._processes)")
    assert run.status == "ok", run.messages
    pids = value(kc, "ex_pids")
    assert pids and all(blocked_mask(pid) == 0 for pid in pids)
    run = execute(kc, "ex.terminate_workers(); ex.shutdown(wait=True)", timeout=20)
    assert run.status == "ok", run.messages
    assert not still_alive(pids)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kernel_name", KERNELS)
def test_a_cells_forkserver_pool_ends_with_its_kernel(kernel_name):
    km, kc = start(kernel_name)
    try:
        run = execute(kc, "import multiprocessing, time\n"
                          "ctx = multiprocessing.get_context('forkserver')\n"
                          "pool = ctx.Pool(2)\n"
                          "r = pool.map_async(time.sleep, [60, 60])\n"
                          "time.sleep(0.5)\n"
                          "import multiprocessing.forkserver as fs\n"
                          "pids = [p.pid for p in pool._pool] + [fs._forkserver._forkserver_pid]")
        assert run.status == "ok", run.messages
        pids = value(kc, "pids")
        assert all(alive(pid) for pid in pids)
    finally:
        stop(km, kc)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    left = [pid for pid in pids if alive(pid)]
    for pid in left:
        os.kill(pid, 9)
    assert not left, f"processes of the cell's pool outlived the {kernel_name} kernel: {left}"
