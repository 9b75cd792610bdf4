"""A real Jupyter server on 127.0.0.1 and a headless Chromium driven by Selenium, started and ended
reliably (the same recipe as test_notebook_widgets.py: token auth on, chromedriver and its browser
in a process group of their own, every browser command bounded)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.remote_connection import RemoteConnection

ARTIFACTS = Path(os.environ.get("XPARALLEL_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "build" / "artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_server(module: str, root: Path) -> Iterator[tuple[int, str]]:
    """`python -m module` (jupyterlab, notebook) serving `root`; yields (port, token)."""
    port, token = free_port(), secrets.token_hex(16)
    with open(root / "server.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={port}", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}",
             # Its own workspace and settings: nothing restored from another test's session.
             f"--LabApp.workspaces_dir={root / 'workspaces'}",
             f"--LabApp.user_settings_dir={root / 'settings'}"],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("Jupyter did not start: "
                                           + (root / "server.log").read_text()[-3000:])
                    time.sleep(0.3)
            yield port, token
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextmanager
def headless_chromium(size: str = "1400,900") -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", f"--window-size={size}"):
        options.add_argument(flag)
    # The test waits for what it needs itself (a page with a running cell never ends "loading").
    options.page_load_strategy = "none"
    # chromedriver and its browser in a process group of their own, ended whole at the end.
    service = Service(CHROMEDRIVER, popen_kw={"start_new_session": True})
    RemoteConnection.set_timeout(60)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        quitter = threading.Thread(target=driver.quit, daemon=True)
        quitter.start()
        quitter.join(timeout=15)
        if service.process is not None:
            try:
                os.killpg(service.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def wait_for(condition, timeout: float, message) -> object:
    """Polls `condition()` until it returns something true; fails with `message()` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.3)
