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
    """Notes every widget front end that connects, whoever handles its control comm.

    ipywidgets registers its own handler for the control target when it is imported, which may be
    after this (a first cell's `import ipywidgets`, while the front end's widget manager is still
    connecting): so every handler registered for the target is wrapped, not only the one there now.
    """
    manager = _comm_manager()
    if manager is None or getattr(manager, "_xparallel_listening", False):
        return
    register = manager.register_target

    def register_noting_front_ends(target_name: str, handler: Any) -> None:
        if target_name == CONTROL_TARGET and callable(handler):
            handler = _noting_front_end(manager, handler)
        register(target_name, handler)

    manager.register_target = register_noting_front_ends
    current = manager.targets.get(CONTROL_TARGET)
    register(CONTROL_TARGET, _noting_front_end(manager, current))
    manager._xparallel_listening = True


def _noting_front_end(manager: Any, handler: Any) -> Any:
    """The control target's handler, noting that a widget front end is attached first. Without a
    handler yet, importing ipywidgets registers its own (wrapped the same way), which then answers."""

    def on_control_open(comm: Any, message: dict) -> None:
        global _seen_widget_front_end
        _seen_widget_front_end = True
        if handler is not None:
            handler(comm, message)
            return
        import ipywidgets  # noqa: F401 - registers its control target through the wrapper above

        registered = manager.targets.get(CONTROL_TARGET)
        if registered is not None and registered is not on_control_open:
            registered(comm, message)

    return on_control_open
