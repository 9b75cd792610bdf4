"""The README's first command, minus the toolchain wrapper: `scripts/tasks notebook` builds, then
serves notebooks/ with the xparallel kernel, on 127.0.0.1 only, behind Jupyter's token."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@pytest.mark.timeout(360)
@pytest.mark.parametrize("task", ["notebook", "lab"])
def test_notebook_task_serves_the_notebooks_locally_behind_a_token(tmp_path, task):
    port, token = free_port(), secrets.token_hex(16)
    log = open(tmp_path / "notebook.log", "w")
    server = subprocess.Popen([str(ROOT / "scripts" / "tasks"), task, f"--port={port}",
                               f"--IdentityProvider.token={token}"],
                              stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 300  # the task builds first
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "notebook.log").read_text()
                assert time.monotonic() < deadline, "the notebook server did not start"
                time.sleep(0.5)
        base = f"http://127.0.0.1:{port}"
        status, body = get(f"{base}/api/kernelspecs?token={token}")
        specs = json.loads(body)
        assert status == 200 and {"xparallel", "python3"} <= set(specs["kernelspecs"])
        # What File -> New -> Notebook offers: a newcomer's first notebook has %%parallel.
        assert specs["default"] == "xparallel", specs["default"]
        status, body = get(f"{base}/api/contents?token={token}")
        names = {item["name"] for item in json.loads(body)["content"]}
        assert {"01-tour.ipynb", "05-exploring-data.ipynb"} <= names
        assert get(f"{base}/api/contents")[0] == 403  # token authentication stays on
        listening = [c.laddr.ip for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert listening and set(listening) <= {"127.0.0.1"}, listening
    finally:
        server.terminate()
        server.wait(timeout=30)
