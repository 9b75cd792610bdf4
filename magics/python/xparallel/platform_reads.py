"""Every platform-specific read xparallel makes, in one place, with a Linux, a macOS and a Windows
branch: memory, per-thread CPU clocks, the time threads spent waiting for a core, the CPU of
descendant processes, CPU counts, the multiprocessing start methods that work, whether a process
is alive, and which BLAS NumPy was built with.

A figure a platform cannot give is None, never 0: what the user sees then says "not measured
here" (`shown`). Linux reads /proc and /sys (no dependency, and cheap enough to read around every
chunk); macOS and Windows read what the standard library has, then psutil when it is installed.
Only the Linux branches run on this project's machines; the others are kept small and are called
in the tests with the platform named explicitly (`platform=`), and with their sources missing.

This module is imported by workers too (sub-interpreters, worker processes): standard library
only at the top; psutil, resource and numpy are imported where a branch needs them.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

LINUX, MACOS, WINDOWS = "linux", "macos", "windows"
PROC = "/proc"
SYS = "/sys"
NOT_MEASURED = "not measured here"


def current() -> str:
    """This machine's platform: "linux", "macos", "windows", or sys.platform for other systems
    (which take the macOS branches: POSIX without /proc)."""
    if sys.platform.startswith("linux"):
        return LINUX
    if sys.platform == "darwin":
        return MACOS
    if sys.platform in ("win32", "cygwin"):
        return WINDOWS
    return sys.platform


def shown(value: float | None, spec: str = ".2f", unit: str = "") -> str:
    """A figure as the user reads it: formatted, or "not measured here" where it is None."""
    return NOT_MEASURED if value is None else f"{value:{spec}}{unit}"


def _read(path: str) -> str | None:
    """A small file of /proc or /sys, whole. Plain system calls: a run reads one per thread at
    its start and end, and open()'s buffered file objects cost several times the read itself."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode()
    except OSError:
        return None
    finally:
        os.close(fd)


def _psutil() -> Any:
    try:
        import psutil
    except ImportError:
        return None
    return psutil


# ---- memory -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Memory:
    """This process's memory in bytes; None where the platform does not say."""

    rss: int | None   # resident now
    pss: int | None   # resident, shared pages divided among their users (Linux only)
    peak: int | None  # the largest RSS so far

    def mb(self, figure: str) -> float | None:
        value = getattr(self, figure)
        return None if value is None else value / 2**20


def memory(platform: str | None = None, proc: str = PROC) -> Memory:
    return Memory(rss_bytes(platform, proc), pss_bytes(platform, proc), peak_rss_bytes(platform))


def rss_bytes(platform: str | None = None, proc: str = PROC) -> int | None:
    platform = platform or current()
    if platform == LINUX:
        text = _read(f"{proc}/self/statm")
        if text is None:
            return None
        return int(text.split()[1]) * os.sysconf("SC_PAGE_SIZE")
    psutil = _psutil()  # macOS: task_info; Windows: GetProcessMemoryInfo (working set)
    return psutil.Process().memory_info().rss if psutil else None


def pss_bytes(platform: str | None = None, proc: str = PROC) -> int | None:
    """Linux's proportional set size (smaps_rollup); other systems have no such figure."""
    if (platform or current()) != LINUX:
        return None
    for line in (_read(f"{proc}/self/smaps_rollup") or "").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return None


def maxrss_bytes(ru_maxrss: int, platform: str | None = None) -> int:
    """getrusage's ru_maxrss in bytes: macOS counts bytes, Linux and the BSDs KiB."""
    return ru_maxrss if (platform or current()) == MACOS else ru_maxrss * 1024


def peak_rss_bytes(platform: str | None = None) -> int | None:
    platform = platform or current()
    if platform == WINDOWS:  # no getrusage: the peak working set
        psutil = _psutil()
        return getattr(psutil.Process().memory_info(), "peak_wset", None) if psutil else None
    try:
        import resource
    except ImportError:
        return None
    return maxrss_bytes(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, platform)


# ---- per-thread clocks --------------------------------------------------------------------------
def thread_cpu_seconds() -> float:
    """CPU time of the calling thread: CPython's thread_time() has it on all three (Linux and
    macOS CLOCK_THREAD_CPUTIME_ID, Windows GetThreadTimes)."""
    return time.thread_time()


def thread_wait_seconds(platform: str | None = None, proc: str = PROC) -> float | None:
    """Seconds the calling thread spent runnable but waiting for a core: Linux's schedstat (2nd
    field). macOS and Windows keep no such count: None."""
    if (platform or current()) != LINUX:
        return None
    text = _read(f"{proc}/thread-self/schedstat")
    try:
        return int(text.split()[1]) / 1e9 if text else None
    except (IndexError, ValueError):
        return None


def core_waits_measured(platform: str | None = None, proc: str = PROC) -> bool:
    return thread_wait_seconds(platform, proc) is not None


def threads_cpu(platform: str | None = None, proc: str = PROC) -> dict[int, float] | None:
    """CPU seconds of every live OS thread of this process, by thread id; None where unreadable."""
    if (platform or current()) == LINUX:
        try:
            tids = os.listdir(f"{proc}/self/task")
        except OSError:
            return None
        tick = os.sysconf("SC_CLK_TCK")
        seconds = {}
        for tid in tids:
            fields = _stat_fields(f"{proc}/self/task/{tid}/stat")
            if fields is not None:
                seconds[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
        return seconds
    psutil = _psutil()  # macOS: task_threads; Windows: GetThreadTimes per thread
    if psutil is None:
        return None
    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}


# ---- the process tree ---------------------------------------------------------------------------
ProcessKey = tuple[int, str]  # (pid, start time): a reused pid is another process


def _stat_fields(path: str) -> list[str] | None:
    """A /proc stat line's fields after the command name (which may hold spaces and ')')."""
    text = _read(path)
    if not text:
        return None
    return text[text.rindex(")") + 2:].split()


def _linux_children(pid: int, proc: str) -> list[int]:
    found: list[int] = []
    try:
        tids = os.listdir(f"{proc}/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        text = _read(f"{proc}/{pid}/task/{tid}/children")
        if text:
            found.extend(int(child) for child in text.split())
    return found


def _linux_descendants(pid: int, proc: str) -> list[int]:
    out, stack = [], _linux_children(pid, proc)
    while stack:
        child = stack.pop()
        out.append(child)
        stack.extend(_linux_children(child, proc))
    return out


def _has_children() -> bool:
    """Whether this process has a child process, alive or not yet reaped (any of its threads'):
    waitid without reaping, without waiting."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    except OSError:
        return True  # cannot tell: look
    return True


def descendants_cpu(platform: str | None = None, proc: str = PROC,
                    pid: int | None = None) -> dict[ProcessKey, float] | None:
    """CPU seconds (user + system of all its threads, plus its own reaped children) of every
    process below `pid` (this one), by (pid, start time); None where they cannot be listed."""
    pid = os.getpid() if pid is None else pid
    if (platform or current()) == LINUX:
        if not os.path.isdir(f"{proc}/{pid}"):
            return None
        if pid == os.getpid() and proc == PROC and not _has_children():
            return {}  # one system call instead of a read per thread (every cell asks, twice)
        tick = os.sysconf("SC_CLK_TCK")
        found = {}
        for child in _linux_descendants(pid, proc):
            fields = _stat_fields(f"{proc}/{child}/stat")
            if fields is not None:
                # utime, stime, cutime, cstime are stat fields 14-17; starttime 22.
                found[(child, fields[19])] = sum(int(v) for v in fields[11:15]) / tick
        return found
    psutil = _psutil()
    if psutil is None:
        return None
    found = {}
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return None
    for child in children:
        try:
            with child.oneshot():
                times, started = child.cpu_times(), child.create_time()
        except psutil.Error:  # ended in between
            continue
        found[(child.pid, repr(started))] = (times.user + times.system  # Windows: no children_*
                                             + getattr(times, "children_user", 0.0)
                                             + getattr(times, "children_system", 0.0))
    return found


def waits_ns(pids: list[int], platform: str | None = None,
             proc: str = PROC) -> dict[tuple[int, str], int] | None:
    """Run-queue wait so far (ns) of every live thread of `pids`, by (pid, thread id): Linux's
    schedstat; None elsewhere, or where schedstat is not there."""
    if (platform or current()) != LINUX or not os.path.exists(f"{proc}/thread-self/schedstat"):
        return None
    found: dict[tuple[int, str], int] = {}
    for pid in pids:
        try:
            tids = os.listdir(f"{proc}/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            text = _read(f"{proc}/{pid}/task/{tid}/schedstat")
            if text:
                found[(pid, tid)] = int(text.split()[1])
    return found


def process_alive(pid: int, platform: str | None = None, proc: str = PROC) -> bool:
    """Whether `pid` runs. On Linux a zombie counts as gone (whoever started it has not reaped it
    yet). Windows: os.kill(pid, 0) would *terminate* the process, so ask psutil (or assume
    alive, the safe answer for a worker watching its kernel)."""
    platform = platform or current()
    if platform == LINUX:
        text = _read(f"{proc}/{pid}/stat")
        if text is not None:
            return text.rsplit(")", 1)[1].split()[0] != "Z"
        if os.path.isdir(f"{proc}/self"):
            return False  # /proc is there and the pid is not
    if platform == WINDOWS:
        psutil = _psutil()
        return psutil.pid_exists(pid) if psutil else True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its pid reused by another user
        return False
    return True


# ---- CPUs ---------------------------------------------------------------------------------------
def logical_cpus() -> int:
    return max(1, os.cpu_count() or 1)


def usable_cpus() -> int:
    """The CPUs this process may use: os.process_cpu_count() (3.13+, honours affinity and
    PYTHON_CPU_COUNT), else the affinity mask (Linux), else every CPU."""
    count = getattr(os, "process_cpu_count", None)
    if count is not None:
        return max(1, count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return logical_cpus()


def physical_cores(platform: str | None = None, sys_root: str = SYS) -> int | None:
    """Physical cores of this machine: Linux's sysfs topology (distinct package and core ids),
    macOS's sysctl hw.physicalcpu, then psutil; None where none of them answers."""
    platform = platform or current()
    if platform == LINUX:
        cores = set()
        try:
            cpus = [name for name in os.listdir(f"{sys_root}/devices/system/cpu")
                    if name.startswith("cpu") and name[3:].isdigit()]
        except OSError:
            cpus = []
        for cpu in cpus:
            topology = f"{sys_root}/devices/system/cpu/{cpu}/topology"
            package, core = _read(f"{topology}/physical_package_id"), _read(f"{topology}/core_id")
            if package is not None and core is not None:
                cores.add((package.strip(), core.strip()))
        if cores:
            return len(cores)
    if platform == MACOS:
        import subprocess

        try:
            answer = subprocess.run(["sysctl", "-n", "hw.physicalcpu"], capture_output=True,
                                    text=True, timeout=5)
            if answer.returncode == 0 and answer.stdout.strip().isdigit():
                return int(answer.stdout)
        except (OSError, subprocess.SubprocessError):
            pass
    psutil = _psutil()
    return psutil.cpu_count(logical=False) if psutil else None


# ---- start methods ------------------------------------------------------------------------------
def start_methods(platform: str | None = None, available: list[str] | None = None) -> list[str]:
    """The multiprocessing start methods that work here: Windows has spawn only (asking for
    forkserver raises). Without /proc, forkserver works on Linux too (checked in a mount namespace
    with an empty /proc): what failed there was a worker reading /proc to watch its kernel
    (`process_alive`)."""
    import multiprocessing

    platform = platform or current()
    methods = list(multiprocessing.get_all_start_methods() if available is None else available)
    if platform == WINDOWS:
        return [m for m in methods if m == "spawn"]
    return methods


def worker_start_method(platform: str | None = None, available: list[str] | None = None) -> str:
    """For a pool of worker processes in a kernel that runs threads: forkserver (no fork of the
    kernel itself) where it works, else spawn."""
    return "forkserver" if "forkserver" in start_methods(platform, available) else "spawn"


# ---- NumPy's BLAS -------------------------------------------------------------------------------
def blas_name(config: dict | None) -> str | None:
    """The BLAS NumPy was built with, from `numpy.show_config(mode="dicts")`: "accelerate",
    "scipy-openblas", "mkl", ...; None where the configuration does not say."""
    blas = ((config or {}).get("Build Dependencies") or {}).get("blas") or {}
    name = blas.get("name")
    return str(name).lower() if name else None


def numpy_config() -> dict | None:
    """NumPy's build configuration (NumPy >= 1.26), or None."""
    try:
        import numpy

        return numpy.show_config(mode="dicts")
    except Exception:  # noqa: BLE001 - no NumPy, or one too old for mode="dicts"
        return None


def uses_accelerate(config: dict | None, threadpool_blas: list[dict]) -> bool:
    """NumPy on Apple's Accelerate (or its older name, vecLib), whose threads threadpoolctl
    cannot set: NumPy's build names it, or a BLAS threadpoolctl lists lives in its framework."""
    name = blas_name(config) or ""
    if "accelerate" in name or "veclib" in name:
        return True
    return any("accelerate" in str(p.get("filepath", "")).lower() for p in threadpool_blas)
