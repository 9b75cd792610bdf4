"""What a debugger attached to the notebook (the JupyterLab debugger: debugpy) can reach in a
%%parallel cell, said when it cannot: items on a backend that does not share the notebook's
interpreter run in other interpreters or processes, which the notebook's debugger does not trace
(each backend says so in its `debugger_reaches` and `runs_in`)."""

from __future__ import annotations

import sys

def debugger_attached() -> bool:
    debugpy = sys.modules.get("debugpy")  # only ever imported by a debugger: never import it here
    try:
        return bool(debugpy is not None and debugpy.is_client_connected())
    except Exception:  # an older or partial debugpy: say nothing rather than fail the cell
        return False


def unreached_note(backend: str) -> str | None:
    """One line for the cell's output when the debugger cannot stop inside this run's items."""
    from .backends import backend_classes

    kinds = backend_classes()
    if kinds[backend].debugger_reaches or not debugger_attached():
        return None
    first, *others = [f"-b {name}" for name, kind in kinds.items() if kind.debugger_reaches]
    also = f" (or {' or '.join(others)})" if others else ""
    return (f"xparallel: the debugger stops in this cell's setup lines, not in its items: on "
            f"{backend} they run in other {kinds[backend].runs_in}. To stop at a breakpoint inside "
            f"an item, run the cell with {first}{also}; %parallel_debug reruns a failed item here.")
