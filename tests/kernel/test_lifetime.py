"""The kernel ends cleanly and in time: shutdown and restart with work running (stuck workers, a
cell that swallows KeyboardInterrupt, a thread that never returns) exit within 5 s with code 0,
and a kernel whose parent process dies exits by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernel_client import execute, start

STUCK = {
    "workers in time.sleep": (
        "%%parallel -b interpreters -w 2\n"
        "import time\n"
        "r = [time.sleep(20) for _ in range(4)]"),
    "workers that catch BaseException": (
        "%%parallel -b interpreters -w 2\n"
        "import time\n"
        "def stubborn(i):\n"
        "    while True:\n"
        "        try:\n"
        "            time.sleep(0.05)\n"
        "        except BaseException:\n"
        "            pass\n"
        "r = [stubborn(i) for i in range(2)]"),
    "a cell that catches BaseException": (
        "import time\n"
        "while True:\n"
        "    try:\n"
        "        time.sleep(0.05)\n"
        "    except BaseException:\n"
        "        pass"),
    "a thread that never returns": (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,)).start()\n"
        "time.sleep(60)"),
}


def start_and_wait(kc, code: str) -> None:
    kc.execute(code)
    time.sleep(1.5)  # the workers are in their items


def shut_down(km, process) -> tuple[int, float]:
    """A shutdown request as a front end sends it: the exit code, and seconds until the exit."""
    started = time.monotonic()
    km.shutdown_kernel(now=False)
    code = process.wait(timeout=30)
    return code, time.monotonic() - started


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(STUCK))
def test_shutdown_with_work_running_exits_within_5s_with_code_0(case):
    km, kc = start()
    process = km.provisioner.process
    try:
        start_and_wait(kc, STUCK[case])
        code, elapsed = shut_down(km, process)
    finally:
        kc.stop_channels()
        if process.poll() is None:
            process.kill()
    assert elapsed < 5, f"{case}: {elapsed:.1f} s to exit"
    assert code == 0, f"{case}: exit code {code}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", ["workers in time.sleep", "a cell that catches BaseException"])
def test_restart_with_work_running_is_quick_and_clean(case):
    km, kc = start()
    try:
        execute(kc, "x = 5")
        old = km.provisioner.process
        start_and_wait(kc, STUCK[case])
        started = time.monotonic()
        km.restart_kernel(now=False)
        elapsed = time.monotonic() - started
        assert old.wait(timeout=10) == 0, f"{case}: exit code {old.returncode}"
        assert elapsed < 5, f"{case}: {elapsed:.1f} s to restart"
        kc.wait_for_ready(timeout=60)
        run = execute(kc, "'x' in globals()")
        assert run.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "False"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


INTERMEDIATE = """
import sys, time
from jupyter_client.manager import KernelManager
km = KernelManager(kernel_name="xparallel")
km.start_kernel()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)
kc.execute_interactive("import atexit\\n"
                       "atexit.register(lambda: open(%r, 'w').write('finalized'));", timeout=30, output_hook=lambda m: None)
kc.execute("import time\\ntime.sleep(60)")  # busy when its parent dies
time.sleep(0.5)
print(km.provisioner.process.pid, flush=True)
time.sleep(600)
"""


def exited(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.timeout(120)
def test_a_kernel_whose_parent_dies_exits_cleanly(tmp_path: Path):
    marker = tmp_path / "finalized"
    script = tmp_path / "parent.py"
    script.write_text(INTERMEDIATE % str(marker))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    kernel_pid = None
    try:
        kernel_pid = int(parent.stdout.readline())
        assert not exited(kernel_pid)
        parent.kill()
        parent.wait(timeout=10)
        started = time.monotonic()
        while not exited(kernel_pid) and time.monotonic() - started < 10:
            time.sleep(0.1)
        assert exited(kernel_pid), "the kernel kept running after its parent died"
        assert time.monotonic() - started < 5
        assert marker.read_text() == "finalized"  # Python finalised: atexit hooks ran
    finally:
        if parent.poll() is None:
            parent.kill()
        if kernel_pid is not None and not exited(kernel_pid):
            os.kill(kernel_pid, 9)


FAKE_ENGINE = """
import atexit, xparallel.engine as engine
def shutdown_pool(timeout: float = 2.0) -> bool:
    open({asked!r}, 'w').write(repr(timeout))
    return {joined}
engine.shutdown_pool = shutdown_pool
atexit.register(lambda: open({finalized!r}, 'w').write('finalized'))
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("joined", [True, False])
def test_exit_follows_the_engines_bounded_shutdown(tmp_path: Path, joined: bool):
    # The agreed interface: shutdown_pool(timeout) returns False when it abandoned stuck workers;
    # the kernel then flushes and exits with 0 without finalising Python (which would wait).
    asked, finalized = tmp_path / "asked", tmp_path / "finalized"
    km, kc = start()
    process = km.provisioner.process
    try:
        run = execute(kc, FAKE_ENGINE.format(asked=str(asked), finalized=str(finalized),
                                             joined=joined))
        assert run.status == "ok", run.messages
        code, elapsed = shut_down(km, process)
    finally:
        kc.stop_channels()
        if process.poll() is None:
            process.kill()
    assert code == 0 and elapsed < 5
    assert 0 < float(asked.read_text()) <= 2.0
    assert finalized.exists() == joined
