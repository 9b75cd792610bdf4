"""Memory of a process tree, counted so that shared pages count once.

Summing RSS over a tree counts a page every process maps once per process: a 512 MB array in shared
memory that two workers read would count twice, a forked child's inherited pages twice too. Here the
tree's memory is

    sum over its processes of (PSS - shared-memory PSS)   private pages, and forked pages split
  + every shared-memory object they map or created, once  /dev/shm files, deleted or not, memfds

so a tool that copies an array into /dev/shm pays for that copy once, whether or not a process maps
it at the moment, and a process that merely maps it pays nothing more. Linux only (/proc).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psutil

SHM = Path("/dev/shm")


def _rollup(pid: int) -> tuple[int, int]:
    """(Pss, Pss_Shmem) in bytes."""
    pss = shmem = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
            elif line.startswith("Pss_Shmem:"):
                shmem = int(line.split()[1]) * 1024
    return pss, shmem


def _shared_objects(pid: int, found: dict[tuple[str, int], int]) -> None:
    """Shared-memory mappings of `pid`: {(device, inode): bytes mapped}, the largest mapping."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 6:
                continue
            path = parts[5]
            if not (path.startswith("/dev/shm/") or path.startswith("/memfd:")
                    or path.startswith("/SYSV")):
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            key = (parts[3], int(parts[4]))
            found[key] = max(found.get(key, 0), end - start)


def shm_files() -> dict[tuple[str, int], int]:
    """Files under /dev/shm now (joblib makes folders there): {(device, inode): bytes allocated}."""
    files = {}
    for folder, _, names in os.walk(SHM):
        for name in names:
            try:
                st = os.lstat(os.path.join(folder, name))
            except FileNotFoundError:
                continue
            dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
            files[(dev, st.st_ino)] = st.st_blocks * 512
    return files


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_memory(pid: int, baseline_files: set[tuple[str, int]] | frozenset = frozenset()) -> int:
    """Bytes the process tree of `pid` holds now (see the module's docstring). Shared-memory files
    in `baseline_files` (there before the measurement began) are not counted unless mapped."""
    private = 0
    mapped: dict[tuple[str, int], int] = {}
    for process in tree(pid):
        try:
            pss, shmem = _rollup(process.pid)
            _shared_objects(process.pid, mapped)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # ended while we looked
        private += pss - shmem
    # A file's allocated size (below its length while partly written); a deleted file that is
    # still mapped, by its mapping's length.
    objects = dict(mapped)
    for key, size in shm_files().items():
        if key in mapped or key not in baseline_files:
            objects[key] = size
    return private + sum(objects.values())


class PeakSampler:
    """Samples tree_memory(pid) every `interval` s on a thread, between start() and stop()."""

    def __init__(self, pid: int | None = None, interval: float = 0.02) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._files: set[tuple[str, int]] = set()

    def __enter__(self) -> "PeakSampler":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._files = set(shm_files())
        self.baseline = self.peak = tree_memory(self.pid, self._files)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> int:
        now = tree_memory(self.pid, self._files)
        self.peak = max(self.peak, now)
        return now

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    @property
    def rise(self) -> int:
        """Peak minus the memory at start(), in bytes."""
        return self.peak - self.baseline


def wait_quiet(pid: int, seconds: float = 0.3) -> None:
    """Lets processes that just ended a task give their memory back before a baseline."""
    time.sleep(seconds)
