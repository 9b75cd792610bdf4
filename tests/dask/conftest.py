"""A real dask cluster for the dask backend's tests: `dask scheduler` and two `dask worker`
processes on 127.0.0.1, started as separate processes (as on other machines) once per module,
and the xparallel kernel whose notebook connects with `Client(scheduler_file=...)`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kernel_client import execute, start, stop


@dataclass
class Cluster:
    scheduler_file: Path
    address: str
    folder: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    workers: list[subprocess.Popen] = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen:
        """A `dask worker` (nanny and worker process) in its own process group and folder: it
        shares no working directory with the notebook."""
        folder = Path(tempfile.mkdtemp(prefix="worker-", dir=self.folder))
        worker = subprocess.Popen(
            ["dask", "worker", "--scheduler-file", str(self.scheduler_file), "--host",
             "127.0.0.1", "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
             "--local-directory", str(folder)],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=open(folder / "log", "wb"),
            start_new_session=True)
        self.processes.append(worker)
        self.workers.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen) -> None:
        """SIGKILL to the worker's whole process group (nanny and worker): no goodbye."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        self.workers.remove(worker)

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def connected_workers(address: str) -> int:
    from distributed import Client

    with Client(address, timeout=10) as client:
        return len(client.scheduler_info()["workers"])


@pytest.fixture(scope="module")
def cluster():
    folder = Path(tempfile.mkdtemp(prefix="xparallel-dask-"))
    scheduler_file = folder / "scheduler.json"
    scheduler = subprocess.Popen(
        ["dask", "scheduler", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=open(folder / "scheduler.log", "wb"),
        start_new_session=True)
    _wait_for(lambda: scheduler_file.exists() and scheduler_file.stat().st_size > 0, 60,
              "the scheduler file")
    address = json.loads(scheduler_file.read_text())["address"]
    found = Cluster(scheduler_file, address, folder, [scheduler])
    try:
        for _ in range(2):
            found.start_worker()
        _wait_for(lambda: connected_workers(address) == 2, 90, "two workers")
        yield found
    finally:
        found.close()


@pytest.fixture(scope="module")
def kernel(cluster):
    """The xparallel kernel, its notebook connected to the cluster with Client(scheduler_file=)."""
    km, kc = start("xparallel")
    run = execute(kc, "from dask.distributed import Client\n"
                      f"client = Client(scheduler_file={str(cluster.scheduler_file)!r})\n"
                      "print(len(client.scheduler_info()['workers']))")
    assert run.status == "ok" and run.stdout.strip() == "2", (run.stdout, run.stderr)
    yield km, kc
    execute(kc, "client.close()")
    stop(km, kc)


__all__ = ["Cluster", "connected_workers", "sys"]
