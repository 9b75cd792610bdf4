"""What a debugger attached to the notebook (the JupyterLab debugger: debugpy) can reach in a
%%parallel cell, said when it cannot: items on `interpreters`, `processes` and `dask` run in other
interpreters or processes, which the notebook's debugger does not trace."""

from __future__ import annotations

import sys

REACHED = ("serial", "threads")


def debugger_attached() -> bool:
    debugpy = sys.modules.get("debugpy")  # only ever imported by a debugger: never import it here
    try:
        return bool(debugpy is not None and debugpy.is_client_connected())
    except Exception:  # an older or partial debugpy: say nothing rather than fail the cell
        return False


def unreached_note(backend: str) -> str | None:
    """One line for the cell's output when the debugger cannot stop inside this run's items."""
    if backend in REACHED or not debugger_attached():
        return None
    where = "processes" if backend in ("processes", "dask") else "sub-interpreters"
    return (f"xparallel: the debugger stops in this cell's setup lines, not in its items: on "
            f"{backend} they run in other {where}. To stop at a breakpoint inside an item, run the "
            f"cell with -b serial (or -b threads); %parallel_debug reruns a failed item here.")
