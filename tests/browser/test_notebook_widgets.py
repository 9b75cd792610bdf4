"""A real Jupyter Notebook 7 and a real JupyterLab 4 on 127.0.0.1 with the xparallel kernel, driven
by headless Chromium: the per-worker bars are on the page, drawn with real height, and moving while a
%%parallel cell runs."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import sys
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.remote_connection import RemoteConnection
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

ARTIFACTS = Path(os.environ.get("XPARALLEL_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

# Items that wait rather than spin: on a 2-core machine, spinning workers would starve the browser
# and the server of the CPU they need to draw the bars while the cell runs.
CELL = ("%%parallel -b interpreters -w 2 --chunksize 1\n"
        "import time\n"
        "r = [time.sleep(0.25) or x for x in range(64)]")
# The widget library's front-end code loads on first use: the cell runs once to warm up, then again
# to be measured, so that the measured run shows what a user sees in a warm notebook. It runs with
# Ctrl+Enter in the one cell: in headless Chromium, Notebook 7 (with ipykernel as with xparallel)
# froze now and then when the active cell changed (Shift+Enter, or a click on the next cell).


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Each front end: the module that serves it and the page that opens a notebook in it.
FRONT_ENDS = {"notebook": ("notebook", "notebooks"), "jupyterlab": ("jupyterlab", "lab/tree")}


@pytest.fixture(scope="module", params=sorted(FRONT_ENDS))
def server(request, tmp_path_factory):
    module, page = FRONT_ENDS[request.param]
    root = tmp_path_factory.mktemp(request.param)
    notebook = {"cells": [{"cell_type": "code", "id": "run-me", "metadata": {}, "source": CELL,
                           "outputs": [], "execution_count": None}],
                "metadata": {"kernelspec": {"name": "xparallel", "display_name": "xparallel",
                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (root / "bars.ipynb").write_text(json.dumps(notebook))
    port, token = free_port(), secrets.token_hex(16)
    log = open(root / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}",
         # Its own workspace and settings: JupyterLab restores the layout an earlier test left
         # (the debugger's sidebar open, the notebook narrowed).
         f"--LabApp.workspaces_dir={root / 'workspaces'}",
         f"--LabApp.user_settings_dir={root / 'settings'}"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("Jupyter did not start: " + (root / "server.log").read_text())
    yield f"http://127.0.0.1:{port}/{page}", token, request.param
    process.terminate()
    process.wait(timeout=20)


BROWSER_SECONDS = 180  # the time limit (conftest.py) of each test here


def page_summary(driver) -> str:
    """A bounded description of the page, for failure messages (never the whole page's text)."""
    return driver.execute_script("""
        const outputs = document.querySelectorAll('.jp-OutputArea-output');
        const text = Array.from(outputs).map(o => o.textContent.slice(0, 300)).join(' | ');
        return `${outputs.length} outputs: ${text.slice(0, 1500)}`;""")


@pytest.fixture()
def browser():  # a fresh browser per front end: the first one's page must not slow the second
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(flag)
    # The test waits for what it needs itself. With chromedriver's default, every command also
    # waited for the page to finish "loading", which Notebook 7 does not while a cell runs: a key
    # press that ran a cell returned only when the cell ended, or timed out after 60 s.
    options.page_load_strategy = "none"
    # chromedriver and the browser it starts in a process group of their own, so that teardown
    # can end them all: a browser left behind by a failed test kept a core busy and starved the
    # tests after it.
    service = Service(CHROMEDRIVER, popen_kw={"start_new_session": True})
    RemoteConnection.set_timeout(60)
    driver = webdriver.Chrome(service=service, options=options)
    # Every browser command is bounded, so that a page that stops answering fails the test
    # instead of hanging the run (pytest-timeout's alarm does not cover a hung teardown).
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    yield driver
    quitter = threading.Thread(target=driver.quit, daemon=True)
    quitter.start()
    quitter.join(timeout=15)
    if service.process is not None:
        try:
            os.killpg(service.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def running_cell_outputs(driver) -> str:
    """What the cell's output area holds, by kind (for failure messages)."""
    return driver.execute_script("""
        const cell = document.querySelector('.jp-Cell');
        if (!cell) return 'no cell';
        const kinds = Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(o =>
            o.querySelector('.xparallel-progress .widget-hprogress') ? 'widgets' :
            o.querySelector('.jupyter-widgets') ? 'other widgets' :
            o.querySelector('.xparallel-progress') ? 'static html' :
            'text: ' + o.textContent.slice(0, 60));
        return kinds.join(', ') || 'nothing';""")


def bar_widths(driver) -> dict[str, float]:
    """Per bar (by its description): the filled share, as the page draws it."""
    return driver.execute_script("""
        const out = {};
        for (const box of document.querySelectorAll('.xparallel-progress .widget-hprogress')) {
            const label = box.querySelector('.widget-label');
            const bar = box.querySelector('.progress-bar');
            const track = box.querySelector('.progress');
            if (label && bar && track && track.getBoundingClientRect().width > 0)
                out[label.textContent.trim()] = bar.getBoundingClientRect().width /
                                                 track.getBoundingClientRect().width;
        }
        return out;""")


def bar_geometry(driver, static: bool) -> dict:
    """Where w1's bar track sits in the cell's output, its size, colours and label font: the live
    widget's or the static rendering's."""
    return driver.execute_script("""
        const static_ = arguments[0];
        const cell = document.querySelector('.jp-Cell .jp-OutputArea');
        let track, label;
        if (static_) {
            const row = document.querySelector('.xparallel-static [data-bar="w1"]');
            if (!row) return null;
            track = row.querySelector('.xparallel-track');
            label = row.querySelector('.xparallel-label');
        } else {
            const box = Array.from(document.querySelectorAll('.xparallel-progress .widget-hprogress'))
                .find(b => (b.querySelector('.widget-label') || {}).textContent === 'w1');
            if (!box) return null;
            track = box.querySelector('.progress');
            label = box.parentElement.querySelector('.widget-label:not(.widget-hprogress *)')
                    || box.parentElement.lastElementChild;
        }
        if (!cell || !track || !label) return null;
        const probe = document.createElement('div');
        probe.style.background = 'var(--jp-success-color1)';
        cell.appendChild(probe);
        const success = getComputedStyle(probe).backgroundColor;
        probe.remove();
        const r = track.getBoundingClientRect(), c = cell.getBoundingClientRect();
        const fill = static_ ? track.firstElementChild : track.querySelector('.progress-bar');
        if (!fill || r.width === 0) return null;
        return {left: r.left - c.left, width: r.width, height: r.height,
                track: getComputedStyle(track).backgroundColor,
                fill: getComputedStyle(fill).backgroundColor, success: success,
                font: getComputedStyle(label).fontSize, color: getComputedStyle(label).color};""",
        static)


def test_worker_bars_are_drawn_and_move_while_the_cell_runs(server, browser):
    url, token, front_end = server
    browser.get(f"{url}/bars.ipynb?token={token}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kernel started and idle
        status = browser.execute_script(
            "const e = document.querySelector('.jp-Notebook-ExecutionIndicator');"
            "return e ? e.getAttribute('data-status') : null;")
        if status == "idle":
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"kernel never became idle (status {status})")
    time.sleep(1.0)  # the widget manager opens its control comm on connect

    def run_the_cell():
        ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()

    def the_run_ended() -> bool:
        return browser.execute_script(
            "const p = document.querySelector('.jp-Cell .xparallel-progress');"
            "return !!p && !p.querySelector('.widget-hprogress') && p.textContent.includes('items in');")

    browser.find_element(By.CSS_SELECTOR, ".jp-Cell .cm-content").click()
    run_the_cell()  # the warm-up run
    deadline = time.monotonic() + 60
    while not the_run_ended():
        assert time.monotonic() < deadline, "the warm-up run never ended: " + page_summary(browser)
        time.sleep(0.3)
    run_the_cell()

    samples, shown, live = [], [], None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        widths = bar_widths(browser)
        shown.append(running_cell_outputs(browser))
        live = bar_geometry(browser, static=False) or live
        if {"w1", "w2", "all"} <= set(widths):
            samples.append(widths)
        if samples and samples[-1].get("all", 0) >= 0.999:
            break
        time.sleep(0.25)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.5)
    browser.save_screenshot(str(ARTIFACTS / f"{front_end}-progress-bars.png"))

    assert samples, ("no per-worker bars appeared; while running the cell showed: "
                     + " / ".join(dict.fromkeys(shown)) + "; at the end: " + page_summary(browser))
    running = [s for s in samples if s["all"] < 0.999]
    assert len(running) >= 3, f"bars seen only {len(running)} times while running: {samples}"
    for name in ("w1", "w2", "all"):
        seen = [s[name] for s in samples]
        assert seen == sorted(seen), (name, seen)
        assert seen[-1] > seen[0], (name, seen)
    assert live is not None and live["height"] > 5, f"the bars have no height (widget CSS missing): {live}"
    text = browser.find_element(By.CSS_SELECTOR, ".xparallel-progress").text
    assert "64 items in" in text and "cores used" in text

    # The static rendering left after the run looks like the live bars did: the same place and
    # size, the same track and text, and the theme's colour for a finished bar.
    deadline = time.monotonic() + 30
    while not the_run_ended():
        assert time.monotonic() < deadline, "the run never ended: " + page_summary(browser)
        time.sleep(0.3)
    browser.save_screenshot(str(ARTIFACTS / f"{front_end}-progress-static.png"))
    static = bar_geometry(browser, static=True)
    assert live is not None and static is not None, (live, static)
    for key in ("left", "width", "height"):
        assert abs(static[key] - live[key]) <= 3, (key, live, static)
    for key in ("track", "font", "color"):
        assert static[key] == live[key], (key, live, static)
    assert static["fill"] == static["success"], static
