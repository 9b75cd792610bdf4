"""What a worker needs to run a cell: the spec the notebook ships, and how a worker turns it into
the item function. Standard library (plus cloudpickle) only: it runs in sub-interpreters and in
worker processes alike."""

from __future__ import annotations

import builtins
import importlib
import linecache
import os
import pickle
import sys
import time
from typing import Any, Callable

from ._rebuilt_functions import rebuild_shipped_functions
from ._worker import apply
from .clock import wait_seconds
from .cell import FUNC, ITEM, plan_cell


def make_item_function(spec: dict) -> Callable[[Any], Any]:
    """Runs the cell's setup in a fresh namespace holding the captured names, and returns the
    item function. `spec`: source, filename, modules {alias: module}, captured (pickled dict)."""
    source, filename = spec["source"], spec["filename"]
    # Tracebacks in the worker then show the cell's own lines, and those of earlier cells that
    # shipped functions come from.
    for name, text in {**spec.get("sources", {}), filename: source}.items():
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    plan = plan_cell(source, filename)
    namespace: dict[str, Any] = {"__name__": "__xparallel__", "__builtins__": builtins}
    for alias, module_name in spec["modules"].items():
        namespace[alias] = importlib.import_module(module_name)
    if spec["captured"]:
        captured = pickle.loads(spec["captured"])
        rebuild_shipped_functions(captured)
        namespace.update(captured)
    exec(plan.setup_code(), namespace)
    if plan.function is not None:
        namespace[FUNC] = eval(plan.function_code(), namespace)
    exec(plan.item_code(), namespace)
    return namespace[ITEM]


def probe_import(module_name: str) -> Callable[[Any], Any]:
    """A factory that only imports a module: tells whether it loads in a sub-interpreter."""
    importlib.import_module(module_name)
    return lambda item: item


# ---- the processes backend's side ---------------------------------------------------------------
_process_cache: dict[bytes, Callable[[Any], Any] | BaseException] = {}


def run_chunk_in_process(key: bytes, spec: bytes, items: list, first_index: int,
                         stop_on_error: bool, sys_path: list[str] | None) -> tuple:
    """One chunk in a worker process: (pid, results, errors, start, end, cpu, wait). What it
    prints goes where the worker's streams go (`_live_output`: to the notebook, as it is
    written). Building the item function (the cell's setup, once per job) counts in the first
    chunk's time, as in the engine."""
    if sys_path is not None and sys.path != sys_path:  # None: a remote worker keeps its own
        sys.path[:] = sys_path
    clocks = time.time(), time.thread_time(), wait_seconds()
    function = _process_cache.get(key)
    if function is None:
        _process_cache.clear()
        try:
            function = make_item_function(pickle.loads(spec))
        except BaseException as error:  # noqa: BLE001 - reported as a setup error
            function = error
        _process_cache[key] = function
    if isinstance(function, BaseException):  # every item of the job fails with the setup
        from ._worker import describe

        error = function

        def setup_failed(*_: Any) -> tuple[list, list]:
            return [None] * len(items), [describe(first_index, "setup", error)]

        return (os.getpid(), *run_timed(None, items, first_index, stop_on_error, clocks,
                                        setup_failed))
    return (os.getpid(), *run_timed(function, items, first_index, stop_on_error, clocks))


def run_timed(function: Callable[[Any], Any] | None, items: list, first_index: int,
              stop_on_error: bool, clocks: tuple[float, float, float] | None = None,
              mapper: Callable[..., tuple[list, list]] = apply) -> tuple:
    """Maps `function` over a chunk on this thread: (results, errors, start, end, cpu, wait);
    start and end from time.time(), cpu this thread's CPU time, wait the time it was runnable
    but waiting for a core (`clocks`: those three read earlier, when the chunk began). Every
    Python backend times its chunks here (the engine in C++)."""
    start, cpu, wait = clocks or (time.time(), time.thread_time(), wait_seconds())
    results, errors = mapper(function, items, first_index, stop_on_error)
    cpu, wait = time.thread_time() - cpu, wait_seconds() - wait
    # Read after the wait: the chunk's interval holds every wait it reports.
    return results, errors, start, time.time(), cpu, wait
