"""xparallel.platform_reads: on Linux, the figures agree with psutil's; the macOS and Windows
branches are called with the platform named, and answer None ("not measured here") rather than
raise where their source is missing (psutil not installed, /proc absent)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import psutil
import pytest

from xparallel import platform_reads as reads

MB = 2**20
OTHERS = [reads.MACOS, reads.WINDOWS]
SPIN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"


@pytest.fixture()
def no_psutil(monkeypatch):
    """psutil not installed (as on a student's laptop with a bare Python)."""
    monkeypatch.setitem(sys.modules, "psutil", None)  # `import psutil` raises ImportError


@pytest.fixture()
def spinner():
    """A child that spins 0.3 s of CPU and then waits: (process, its psutil handle)."""
    child = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=0.3)
                              + "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    handle = psutil.Process(child.pid)
    deadline = time.monotonic() + 30
    while sum(handle.cpu_times()[:2]) < 0.28 and time.monotonic() < deadline:
        time.sleep(0.02)
    yield child, handle
    child.communicate(b"")


def test_this_machine_is_linux():
    assert reads.current() == reads.LINUX


# ---- Linux, for real ----------------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_memory_agrees_with_psutil():
    memory = reads.memory()
    rss = psutil.Process().memory_info().rss
    assert abs(memory.rss - rss) < 0.1 * rss + 8 * MB, (memory, rss)
    assert 0 < memory.pss <= memory.rss * 1.1 + 8 * MB, memory
    # ru_maxrss is KiB on Linux: read as bytes it would be 1024 times too small.
    assert memory.peak >= memory.rss - 8 * MB, memory
    assert memory.peak < 64 * memory.rss, memory
    assert memory.mb("rss") == pytest.approx(memory.rss / MB)


@pytest.mark.timeout(30)
def test_thread_clocks():
    before = reads.thread_wait_seconds()
    assert isinstance(before, float) and before >= 0
    end = time.thread_time() + 0.05
    while time.thread_time() < end:
        pass
    assert reads.thread_wait_seconds() >= before
    assert reads.core_waits_measured()
    assert reads.thread_cpu_seconds() >= 0.05


@pytest.mark.timeout(30)
def test_threads_cpu_agrees_with_psutil():
    done = threading.Event()

    def spin() -> None:
        end = time.thread_time() + 0.3
        while time.thread_time() < end:
            pass
        done.wait()

    # A name without ')': psutil 7.1 misreads /proc's stat line of a thread named "Thread-1 (spin)",
    # which the default name would be (CPython 3.14 gives the OS thread the Python name).
    helper = threading.Thread(target=spin, name="spinner")
    helper.start()
    try:
        while reads.threads_cpu().get(helper.native_id, 0) < 0.28:
            time.sleep(0.02)
        mine = reads.threads_cpu()
        theirs = {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}
    finally:
        done.set()
        helper.join()
    assert helper.native_id in mine and os.getpid() in mine
    assert mine[helper.native_id] == pytest.approx(theirs[helper.native_id], abs=0.05)


@pytest.mark.timeout(60)
def test_descendants_cpu_agrees_with_psutil(spinner):
    child, handle = spinner
    found = reads.descendants_cpu()
    (key,) = [k for k in found if k[0] == child.pid]
    assert found[key] == pytest.approx(sum(handle.cpu_times()[:2]), abs=0.05)
    waits = reads.waits_ns([os.getpid(), child.pid])
    assert {pid for pid, _ in waits} == {os.getpid(), child.pid}


def test_cpu_counts_agree_with_psutil():
    assert reads.usable_cpus() == len(psutil.Process().cpu_affinity())
    assert reads.logical_cpus() == psutil.cpu_count()
    assert reads.physical_cores() == psutil.cpu_count(logical=False)


@pytest.mark.timeout(30)
def test_process_alive_tells_a_zombie_from_a_running_child():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    assert reads.process_alive(child.pid)
    child.stdin.close()
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.01)
    assert not reads.process_alive(child.pid)  # ended, not reaped yet
    child.wait()
    assert not reads.process_alive(child.pid)


def test_numpy_here_is_not_on_accelerate():
    config = reads.numpy_config()
    assert reads.blas_name(config)
    assert not reads.uses_accelerate(config, [])


# ---- the other branches, named explicitly -------------------------------------------------------
def test_maxrss_unit():
    assert reads.maxrss_bytes(2048, reads.LINUX) == 2048 * 1024
    assert reads.maxrss_bytes(2048, reads.MACOS) == 2048  # bytes already


def test_start_methods():
    everything = ["fork", "spawn", "forkserver"]
    assert reads.start_methods(reads.WINDOWS, available=["spawn"]) == ["spawn"]
    assert reads.start_methods(reads.WINDOWS, available=everything) == ["spawn"]
    assert reads.start_methods(reads.MACOS, available=everything) == everything
    assert reads.worker_start_method(reads.MACOS, available=everything) == "forkserver"
    assert reads.worker_start_method(reads.WINDOWS, available=["spawn"]) == "spawn"
    assert reads.worker_start_method(reads.LINUX, available=everything) == "forkserver"
    assert reads.worker_start_method(reads.LINUX, available=["fork", "spawn"]) == "spawn"


@pytest.mark.parametrize("platform", OTHERS)
def test_no_core_waits_nor_pss_elsewhere(platform):
    assert reads.thread_wait_seconds(platform) is None
    assert not reads.core_waits_measured(platform)
    assert reads.waits_ns([os.getpid()], platform) is None
    assert reads.pss_bytes(platform) is None


@pytest.mark.timeout(60)
@pytest.mark.parametrize("platform", OTHERS)
def test_psutil_branches_read_plausible_figures(platform, spinner):
    child, handle = spinner
    rss = psutil.Process().memory_info().rss
    assert abs(reads.rss_bytes(platform) - rss) < 0.1 * rss + 8 * MB
    assert os.getpid() in reads.threads_cpu(platform)
    found = reads.descendants_cpu(platform)
    (key,) = [k for k in found if k[0] == child.pid]
    assert found[key] == pytest.approx(sum(handle.cpu_times()[:2]), abs=0.05)
    assert reads.process_alive(child.pid, platform)
    assert reads.physical_cores(platform) == psutil.cpu_count(logical=False)


@pytest.mark.parametrize("platform", OTHERS)
def test_without_psutil_the_other_branches_answer_not_measured(platform, no_psutil):
    assert reads.rss_bytes(platform) is None
    assert reads.threads_cpu(platform) is None
    assert reads.descendants_cpu(platform) is None
    assert reads.physical_cores(platform) is None  # no sysctl hw.physicalcpu on Linux either
    assert reads.memory(platform).pss is None
    assert reads.process_alive(os.getpid(), platform)


def test_windows_peak_without_a_peak_working_set_is_not_measured():
    # psutil has peak_wset on Windows only: read on Linux, the branch says None, not 0.
    assert reads.peak_rss_bytes(reads.WINDOWS) is None


def test_shown():
    assert reads.shown(None) == "not measured here"
    assert reads.shown(0.0) == "0.00"
    assert reads.shown(12.4, ".0f", " MB") == "12 MB"


def test_accelerate_is_recognised_from_numpys_build():
    accelerate = {"Build Dependencies": {"blas": {"name": "accelerate", "found": True},
                                         "lapack": {"name": "accelerate"}}}
    openblas = {"Build Dependencies": {"blas": {"name": "scipy-openblas", "found": True}}}
    assert reads.blas_name(accelerate) == "accelerate"
    assert reads.uses_accelerate(accelerate, [])
    assert not reads.uses_accelerate(openblas, [{"filepath": "/x/libscipy_openblas64_.so"}])
    assert reads.uses_accelerate(None, [{"filepath": "/System/Library/Frameworks/Accelerate"
                                                     ".framework/Versions/A/Accelerate"}])
    assert reads.blas_name(None) is None and reads.blas_name({}) is None


@pytest.mark.timeout(60)
def test_descendants_are_looked_for_only_when_there_are_children():
    # The cheap check (one waitid, no /proc walk) must never hide a child: a child started from
    # another thread, and one that ended but is not yet reaped, both count until reaped.
    import subprocess
    import threading

    started: list = []
    thread = threading.Thread(target=lambda: started.append(
        subprocess.Popen(["sleep", "30"])))
    thread.start()
    thread.join()
    child = started[0]
    try:
        assert reads._has_children()
        assert any(pid == child.pid for pid, _ in reads.descendants_cpu())
        child.kill()
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped
        assert reads._has_children()
    finally:
        child.kill()
        child.wait()
    others = psutil.Process().children()
    assert reads._has_children() == bool(others)
    if not others:
        assert reads.descendants_cpu() == {}
