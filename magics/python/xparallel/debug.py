"""%parallel_debug: a failed item of the last run, run again in the notebook's own interpreter
with the cell's setup, then IPython's debugger post-mortem at the frame that raised (as %debug
does for a local error). The debugger reads from stdin, which the kernel forwards as input
requests: it works in Notebook 7, JupyterLab and jupyter console alike."""

from __future__ import annotations

import signal
import sys
from typing import Any

from IPython.core.error import UsageError

from .cell import plan_cell
from .notebook import local_item_function, run_setup
from .records import ErrorKind
from .report import ItemError, ParallelReport


def failed_item(report: ParallelReport | None, number: int | None) -> ItemError:
    if report is None:
        raise UsageError("%parallel_debug: no %%parallel cell has run yet in this kernel")
    failed = sorted({e.index: e for e in report.errors if e.kind.of_an_item}.values(),
                    key=lambda e: e.index)
    if not failed:
        setup = [e for e in report.errors if e.kind is ErrorKind.SETUP]
        raise UsageError("%parallel_debug: the last %%parallel run had no failed item"
                         + (" (its setup failed: fix the setup lines and run the cell again)"
                            if setup else ""))
    number = 1 if number is None else number
    if not 1 <= number <= len(failed):
        raise UsageError(f"%parallel_debug: the last run has {len(failed)} failed "
                         f"item{'s' if len(failed) > 1 else ''}: give a number from 1 to "
                         f"{len(failed)} (items {', '.join(str(e.index) for e in failed[:10])}"
                         f"{', ...' if len(failed) > 10 else ''})")
    return failed[number - 1]


def debug_failed_item(shell: Any, report: ParallelReport | None, number: int | None) -> None:
    __tracebackhide__ = True  # noqa: F841 - the traceback shown starts at the user's code
    error = failed_item(report, number)
    inputs = report.inputs
    if inputs is None or error.index >= len(inputs) or not report.source:
        raise UsageError(f"%parallel_debug: the input of item {error.index} was not kept; run "
                         "the cell again, then %parallel_debug")
    item = inputs[error.index]
    plan = plan_cell(report.source, report.filename)
    namespace = shell.user_ns
    print(f"%parallel_debug: item {error.index} ({error.item}), which raised "
          f"{error.type_name} in worker w{error.worker}; running the cell's setup, then the "
          "item, in this kernel")
    run_setup(plan, namespace)
    function = local_item_function(plan, namespace)
    try:
        function(item)
    except Exception as raised:  # noqa: BLE001 - whatever the item raises is debugged
        sys.last_type, sys.last_value = type(raised), raised
        sys.last_traceback, sys.last_exc = raised.__traceback__, raised
        shell.showtraceback((type(raised), raised, raised.__traceback__))
        shell.InteractiveTB.tb = None
        # Pdb installs its own SIGINT handler (an interrupt then breaks into the debugger)
        # and leaves it there: the kernel's stop button would no longer raise
        # KeyboardInterrupt in the cells that follow.
        handler = signal.getsignal(signal.SIGINT)
        try:
            shell.debugger(force=True)
        finally:
            if signal.getsignal(signal.SIGINT) is not handler:
                signal.signal(signal.SIGINT, handler)
        return
    print(f"%parallel_debug: item {error.index} ran without an error here. What failed in the "
          "worker depends on where it ran (a module, a file, a variable the notebook changed "
          "since, or chance): try the cell with -b serial.")
