"""Whether a front end that renders widgets is attached.

ipywidgets' front end (Notebook 7, JupyterLab) opens a comm to the `jupyter.widget.control` target
when it connects to a kernel, to fetch widget state; nbconvert, nbclient and consoles never do.
xparallel listens on that target (handing the comm on to ipywidgets), so it knows whether to draw
widgets or to write the same facts as text."""

from __future__ import annotations

import os
from typing import Any

from IPython import get_ipython

CONTROL_TARGET = "jupyter.widget.control"
_seen_widget_front_end = False


def widgets_wanted() -> bool:
    forced = os.environ.get("XPARALLEL_PROGRESS", "").lower()
    if forced in ("widgets", "text"):
        return forced == "widgets"
    if _seen_widget_front_end:
        return True
    # In a stock ipykernel the front end may have opened its control comm before `%load_ext`:
    # there, fall back on whether the request allows stdin (Notebook and Lab do; nbclient and
    # nbconvert do not).
    try:
        kernel = get_ipython().kernel  # type: ignore[name-defined]  # noqa: F821
    except Exception:  # noqa: BLE001
        return False
    return bool(getattr(kernel, "_allow_stdin", False)) and type(kernel).__module__.startswith("ipykernel")


def _comm_manager() -> Any:
    try:
        import comm

        return comm.get_comm_manager()
    except Exception:  # noqa: BLE001 - no kernel (plain IPython)
        return None


def listen_for_widget_front_end() -> None:
    manager = _comm_manager()
    if manager is None or getattr(manager, "_xparallel_listening", False):
        return
    # ipywidgets' own handler for the target: there already if ipywidgets was imported, else
    # registered by importing it when a front end first connects.
    delegate = manager.targets.get(CONTROL_TARGET)

    def on_control_open(comm: Any, message: dict) -> None:
        global _seen_widget_front_end
        nonlocal delegate
        _seen_widget_front_end = True
        if delegate is None:
            import ipywidgets  # noqa: F401 - registers its control target, replacing ours

            registered = manager.targets.get(CONTROL_TARGET)
            delegate = registered if registered is not on_control_open else None
            manager.register_target(CONTROL_TARGET, on_control_open)  # keep listening
        if delegate is not None:
            delegate(comm, message)

    manager.register_target(CONTROL_TARGET, on_control_open)
    manager._xparallel_listening = True
