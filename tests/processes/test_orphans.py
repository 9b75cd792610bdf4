"""Worker processes never outlive their kernel: a kernel killed (or leaving with _exit past stuck
sub-interpreter workers) while its processes run an endless item must not leave them spinning."""

import os
import signal
import time

import psutil
import pytest

from kernel_client import start, stop


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kernel_name", ["xparallel", "python3"], ids=["xparallel-kernel", "ipykernel"])
def test_worker_processes_end_with_a_killed_kernel(kernel_name):
    km, kc = start(kernel_name)
    try:
        if kernel_name == "python3":
            kc.execute_interactive("%load_ext xparallel", timeout=60)
        kc.execute("%%parallel -b processes -w 2 --quiet\n"
                   "def spin(x):\n    while True:\n        pass\n"
                   "r = [spin(x) for x in range(4)]")
        kernel = psutil.Process(km.provisioner.process.pid)
        deadline = time.monotonic() + 60
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline:
            busy = [p for p in kernel.children(recursive=True) if p.cpu_percent(0.1) > 20]
            if len(busy) >= 2:
                workers = busy
                break
        assert len(workers) >= 2, "the worker processes never started running the items"
        os.kill(kernel.pid, signal.SIGKILL)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"worker processes still running 10 s after their kernel died: {alive}"
    finally:
        try:
            stop(km, kc)
        except Exception:  # noqa: BLE001 - the kernel is already gone
            pass
