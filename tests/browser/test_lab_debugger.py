"""The JupyterLab 4 debugger with the xparallel kernel, in headless Chromium against a real JupyterLab
on 127.0.0.1, as a user drives it: the bug icon is enabled and switches the debugger on, a click in a
cell's gutter sets a breakpoint, running the cell stops there, the variables panel lists the paused
frame's values, and Continue lets the cell finish. ipykernel runs the same steps as the reference."""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from jupyter_browser import ARTIFACTS, headless_chromium, jupyter_server, wait_for

CELL = "a = 41\nb = a + 1\nc = b * 3\nprint('c is', c)"
BREAKPOINT_LINE = 2


BROWSER_SECONDS = 170  # the time limit (conftest.py) of each test here


def write_notebook(path, kernel: str, cell: str = CELL) -> None:
    notebook = {"cells": [{"cell_type": "code", "id": "debug-me", "metadata": {}, "source": cell,
                           "outputs": [], "execution_count": None}],
                "metadata": {"kernelspec": {"name": kernel, "display_name": kernel,
                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook))


def debugger_state(driver) -> dict:
    """What the debugger's parts of the page show (bounded, for assertions and messages)."""
    return driver.execute_script("""
        const text = (sel) => Array.from(document.querySelectorAll(sel))
            .map(e => e.textContent.trim()).join(' | ').slice(0, 600);
        // A <jp-button>: its title says what a click would do ("Enable" / "Disable Debugger").
        const button = document.querySelector('.jp-DebuggerBugButton');
        return {
            bug: button ? {disabled: button.hasAttribute('disabled') ||
                                     button.getAttribute('aria-disabled') === 'true',
                           on: (button.getAttribute('title') || '').startsWith('Disable')} : null,
            breakpoints: text('.jp-DebuggerBreakpoint'),
            callstack: text('.jp-DebuggerCallstackFrame'),
            variables: text('.jp-DebuggerVariables-body'),
            highlighted: text('.jp-Cell .jp-DebuggerEditor-highlight'),
            status: (document.querySelector('.jp-Notebook-ExecutionIndicator') || {getAttribute: () => null})
                    .getAttribute('data-status'),
            outputs: text('.jp-Cell .jp-OutputArea-output'),
        };""")


def click_gutter(driver, line: int) -> None:
    """A click in the breakpoint gutter of the cell's `line` (1-based), as a user sets one."""
    markers = driver.execute_script("""
        return Array.from(document.querySelectorAll('.jp-Cell .cm-breakpoint-gutter .cm-gutterElement'))
            .filter(e => e.getBoundingClientRect().height > 0 && getComputedStyle(e).visibility !== 'hidden');""")
    assert len(markers) >= line, f"{len(markers)} gutter lines"
    ActionChains(driver).move_to_element(markers[line - 1]).click().perform()


def open_with_debugger_on(driver, port: int, token: str) -> None:
    """Opens debug.ipynb, waits for its kernel, and switches the debugger on with the bug icon,
    which must be enabled for the kernel (JupyterLab reads that from the kernelspec)."""
    driver.get(f"http://127.0.0.1:{port}/lab/tree/debug.ipynb?token={token}")
    state = lambda: debugger_state(driver)  # noqa: E731
    wait_for(lambda: state()["status"] == "idle", 90, lambda: f"kernel never idle: {state()}")
    wait_for(lambda: state()["bug"] and not state()["bug"]["disabled"], 30,
             lambda: f"the debugger toggle stays disabled: {state()}")
    driver.find_element(By.CSS_SELECTOR, ".jp-DebuggerBugButton").click()
    wait_for(lambda: state()["bug"]["on"], 30, lambda: f"the debugger did not switch on: {state()}")
    wait_for(lambda: driver.execute_script(
        "return document.querySelectorAll('.jp-Cell .cm-breakpoint-gutter').length"), 30,
        "the cell has no breakpoint gutter")


def run_the_cell(driver) -> None:
    driver.find_element(By.CSS_SELECTOR, ".jp-Cell .cm-content").click()
    ActionChains(driver).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()


def show_panels(driver) -> None:
    """For a screenshot: the news prompt away, the variables and call stack panels open."""
    driver.execute_script("""
        for (const b of document.querySelectorAll('.jp-Notification-Toast-Close, .jp-toast-button'))
            if (/^(No|)$/.test(b.textContent.trim())) b.click();
        for (const t of document.querySelectorAll('.lm-AccordionPanel-title'))
            if (/variables|callstack/i.test(t.textContent) && t.getAttribute('aria-expanded') !== 'true')
                t.click();""")


def click_continue(driver) -> None:
    buttons = driver.find_elements(By.CSS_SELECTOR, "[title^='Continue'], [data-command='debugger:continue']")
    assert buttons, "no Continue button"
    buttons[0].click()


def wait_for_variables_panel(driver, text: str) -> None:
    wait_for(lambda: driver.execute_script("""
        const body = document.querySelector('.jp-DebuggerVariables-body');
        return !!body && body.getBoundingClientRect().height > 0 && body.innerText.includes(arguments[0]);""",
        text), 15, lambda: f"the open variables panel does not show {text}: {debugger_state(driver)}")


@pytest.mark.parametrize("kernel", ["xparallel", "python3"])
def test_the_lab_debugger_stops_at_a_gutter_breakpoint_and_shows_variables(kernel, tmp_path):
    write_notebook(tmp_path / "debug.ipynb", kernel)
    with jupyter_server("jupyterlab", tmp_path) as (port, token), headless_chromium() as driver:
        state = lambda: debugger_state(driver)  # noqa: E731
        open_with_debugger_on(driver, port, token)

        # A breakpoint by a click in the gutter, listed in the breakpoints panel.
        click_gutter(driver, BREAKPOINT_LINE)
        wait_for(lambda: state()["breakpoints"], 30,
                 lambda: f"no breakpoint listed after the gutter click: {state()}")

        # Running the cell stops at the breakpoint: the call stack shows the cell's frame and the
        # variables panel the values computed so far.
        run_the_cell(driver)
        wait_for(lambda: state()["callstack"], 60,
                 lambda: f"the cell did not stop at the breakpoint: {state()}")
        wait_for(lambda: "41" in state()["variables"], 30,
                 lambda: f"the variables panel does not show a = 41: {state()}")
        paused = state()
        show_panels(driver)
        wait_for_variables_panel(driver, "41")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        time.sleep(0.5)
        driver.save_screenshot(str(ARTIFACTS / f"lab-debugger-{kernel}.png"))
        assert "module" in paused["callstack"], paused
        assert "c is" not in paused["outputs"], "the cell ran past its breakpoint"

        # Continue: the cell runs to its end.
        click_continue(driver)
        wait_for(lambda: "c is 126" in state()["outputs"], 30,
                 lambda: f"the cell did not finish after Continue: {state()}")


PARALLEL_CELL = """%%parallel -b serial --quiet
offset = 100
def shift(x):
    y = x + offset
    return y
shifted = [shift(x) for x in range(3)]"""


def test_the_lab_debugger_stops_inside_a_parallel_items_function(tmp_path):
    """A %%parallel cell on -b serial: a gutter breakpoint inside the item's function stops there,
    with the item's value in the variables panel."""
    write_notebook(tmp_path / "debug.ipynb", "xparallel", PARALLEL_CELL)
    with jupyter_server("jupyterlab", tmp_path) as (port, token), headless_chromium() as driver:
        state = lambda: debugger_state(driver)  # noqa: E731
        open_with_debugger_on(driver, port, token)
        click_gutter(driver, 4)  # y = x + offset
        wait_for(lambda: state()["breakpoints"], 30,
                 lambda: f"no breakpoint listed after the gutter click: {state()}")
        run_the_cell(driver)
        wait_for(lambda: "shift" in state()["callstack"], 60,
                 lambda: f"the item did not stop at the breakpoint: {state()}")
        show_panels(driver)
        wait_for_variables_panel(driver, "x")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        time.sleep(0.5)
        driver.save_screenshot(str(ARTIFACTS / "lab-debugger-parallel-serial.png"))
        # The breakpoint off again (a second click), and the cell runs to its end.
        click_gutter(driver, 4)
        wait_for(lambda: not state()["breakpoints"], 30,
                 lambda: f"the breakpoint stays listed: {state()}")
        click_continue(driver)
        wait_for(lambda: "3 items in" in state()["outputs"], 30,
                 lambda: f"the cell did not finish after Continue: {state()}")
