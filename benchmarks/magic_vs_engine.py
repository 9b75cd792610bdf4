"""`%%parallel` against the engine under it and the standard library's pools, in one kernel (issue 23).

    python -m benchmarks.magic_vs_engine [--rounds N] [--quick]

One xparallel kernel, started through jupyter_client; every pool is made once before the timing
(warm, as a user keeps an executor) and every contender runs once per round, rounds interleaved,
so that drift on a shared machine hits all alike. Each figure is the median over the rounds, as
the client sees the cell (execute request to its reply; a cell that fails stops the run). Rows:

- CPU-bound: N × fib(n) on all cores: serial; `%%parallel -b interpreters --quiet` with fib defined
  in the notebook (recursive), with a notebook helper calling it, with fib imported from a module,
  and with the widgets on; the engine API; InterpreterPoolExecutor, ProcessPoolExecutor and mpire
  with the module's fib (they cannot run a notebook function in sub-interpreters);
- worker CPU per item (each item measures its own thread's CPU): the magic with the notebook's
  fib against InterpreterPoolExecutor with the module's, the mechanism of issue 23;
- large results: 300 × 1 MB `bytes`, the magic against InterpreterPoolExecutor;
- a warm cell of 2 trivial items, end to end, against `ipe.map` in a cell;
- an ordinary cell (no `%%parallel`) in ipykernel, the xparallel kernel, and the xparallel kernel
  with a warm pool, started side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

from .kernel import _start, _stop

WORKERS = min(2, os.process_cpu_count() or 1)

MODULE = '''
import time

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def fib_cpu(n):
    started = time.thread_time()
    fib(n)
    return time.thread_time() - started

def blob(i):
    return bytes(1_000_000)

def add_one(x):
    return x + 1
'''

SETUP = '''
import sys, time, json, os
sys.path.insert(0, {folder!r})
import benchfib
from concurrent.futures import InterpreterPoolExecutor, ProcessPoolExecutor
import multiprocessing
import xparallel.engine

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def fib_twice_half(n):  # a notebook helper calling a notebook function
    return fib(n - 1) + fib(n - 2)

def fib_cpu(n):
    started = time.thread_time()
    fib(n)
    return time.thread_time() - started

ipe = InterpreterPoolExecutor({workers})
ppe = ProcessPoolExecutor({workers}, mp_context=multiprocessing.get_context("forkserver"))
try:
    import mpire
    mp = mpire.WorkerPool({workers}, start_method="forkserver", keep_alive=True)
except ImportError:
    mp = None
for pool in (ipe, ppe):
    list(pool.map(benchfib.add_one, range(8)))
if mp is not None:
    mp.map(benchfib.add_one, range(8))
'''


def _cells(n: int, count: int) -> dict[str, str]:
    items = f"[{n}] * {count}"
    magic = f"%%parallel -b interpreters -w {WORKERS} --quiet\n"
    return {
        "serial (plain loop)": f"r = [fib(x) for x in {items}]",
        "%%parallel, notebook fib": f"{magic}r = [fib(x) for x in {items}]",
        "%%parallel, notebook helper": f"{magic}r = [fib_twice_half(x) for x in {items}]",
        "%%parallel, module fib": f"{magic}r = [benchfib.fib(x) for x in {items}]",
        # Drawn as widgets: the cell before it sets XPARALLEL_PROGRESS=widgets (no front end here).
        "%%parallel, notebook fib, widgets": (
            f"%%parallel -b interpreters -w {WORKERS}\nr = [fib(x) for x in {items}]"),
        "engine API, module fib": (
            f"_j = xparallel.engine.submit(lambda: benchfib.fib, {items}, workers={WORKERS})\n"
            "_j.wait(); r = list(_j.results)"),
        "InterpreterPoolExecutor, module fib": f"r = list(ipe.map(benchfib.fib, {items}))",
        "ProcessPoolExecutor, module fib": f"r = list(ppe.map(benchfib.fib, {items}))",
        "mpire, module fib": f"r = mp.map(benchfib.fib, {items}) if mp else None",
    }


def _checked(kc, code: str, timeout: float = 600) -> float:
    """Seconds from execute to idle; a cell that failed stops the benchmark (a failed cell is fast)."""
    started = time.perf_counter()
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"the cell failed: {code!r}: {reply['content'].get('evalue')}")
    return time.perf_counter() - started


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cpu_bound(kc, n: int, count: int, rounds: int) -> dict:
    cells = _cells(n, count)
    for code in cells.values():  # warm: every pool has run this work once
        _checked(kc, code)
    times: dict[str, list[float]] = {name: [] for name in cells}
    for _ in range(rounds):
        for name, code in cells.items():
            if "widgets" in name:
                _checked(kc, "import os; os.environ['XPARALLEL_PROGRESS'] = 'widgets'")
            times[name].append(_checked(kc, code))
            if "widgets" in name:
                _checked(kc, "os.environ.pop('XPARALLEL_PROGRESS', None)")
    serial = _median(times["serial (plain loop)"])
    return {name: {"s": _median(t), "speedup": serial / _median(t),
                   "spread": [min(t), max(t)]} for name, t in times.items()}


def worker_cpu(kc, n: int, count: int, rounds: int) -> dict:
    """Per-item CPU of the worker thread, as each item measures it."""
    cells = {
        "%%parallel, notebook fib": (f"%%parallel -b interpreters -w {WORKERS} --quiet\n"
                                     f"cpu = [fib_cpu(x) for x in [{n}] * {count}]"),
        "%%parallel, module fib": (f"%%parallel -b interpreters -w {WORKERS} --quiet\n"
                                   f"cpu = [benchfib.fib_cpu(x) for x in [{n}] * {count}]"),
        "InterpreterPoolExecutor, module fib": f"cpu = list(ipe.map(benchfib.fib_cpu, [{n}] * {count}))",
        "serial, notebook fib": f"cpu = [fib_cpu(x) for x in [{n}] * {count}]",
    }
    seen: dict[str, list[float]] = {name: [] for name in cells}
    for _ in range(rounds):
        for name, code in cells.items():
            _checked(kc, code)
            seen[name] += _value(kc, "cpu")
    return {name: {"ms_per_item": _median(v) * 1e3} for name, v in seen.items()}


def large_results(kc, rounds: int) -> dict:
    cells = {"%%parallel -b interpreters": (f"%%parallel -b interpreters -w {WORKERS} --quiet\n"
                                            "r = [benchfib.blob(i) for i in range(300)]"),
             "InterpreterPoolExecutor": "r = list(ipe.map(benchfib.blob, range(300)))"}
    for code in cells.values():
        _checked(kc, code)
    times: dict[str, list[float]] = {name: [] for name in cells}
    for _ in range(rounds):
        for name, code in cells.items():
            times[name].append(_checked(kc, code))
            _checked(kc, "del r")
    return {name: {"s": _median(t), "spread": [min(t), max(t)]} for name, t in times.items()}


def warm_cell(kc, rounds: int) -> dict:
    cells = {"%%parallel -b interpreters (2 items)": (f"%%parallel -b interpreters -w {WORKERS} "
                                                      "--quiet\nr = [x + 1 for x in range(2)]"),
             "ipe.map (2 items)": "r = list(ipe.map(benchfib.add_one, range(2)))",
             "an empty cell": "pass"}
    for code in cells.values():
        _checked(kc, code)
    times: dict[str, list[float]] = {name: [] for name in cells}
    for _ in range(rounds * 20):
        for name, code in cells.items():
            times[name].append(_checked(kc, code))
    empty = _median(times["an empty cell"])
    return {name: {"ms": _median(t) * 1e3, "ms_over_empty_cell": (_median(t) - empty) * 1e3}
            for name, t in times.items()}


def ordinary_cell(n: int, rounds: int) -> dict:
    """`[fib(n) for _ in range(8)]` in three kernels started side by side; best of the rounds."""
    code = f"r = [fib({n}) for _ in range(8)]"
    define = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)"
    kernels = {"ipykernel": _start("python3"), "xparallel kernel": _start("xparallel"),
               "xparallel kernel, warm pool": _start("xparallel")}
    try:
        for name, (_, kc, _) in kernels.items():
            _checked(kc, define)
            if "warm" in name:
                _checked(kc, f"%%parallel -b interpreters -w {WORKERS} --quiet\nw = [x for x in range(4)]")
            _checked(kc, code)
        times: dict[str, list[float]] = {name: [] for name in kernels}
        for _ in range(rounds):
            for name, (_, kc, _) in kernels.items():
                times[name].append(_checked(kc, code))
    finally:
        for km, kc, _ in kernels.values():
            _stop(km, kc)
    base = min(times["ipykernel"])
    return {name: {"best_s": min(t), "vs_ipykernel": min(t) / base} for name, t in times.items()}


def _value(kc, expression: str) -> Any:
    message = kc.execute(f"print(json.dumps({expression}))")
    out = ""
    while True:
        reply = kc.get_iopub_msg(timeout=60)
        if reply["parent_header"].get("msg_id") != message:
            continue
        if reply["msg_type"] == "stream":
            out += reply["content"]["text"]
        if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            return json.loads(out)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.magic_vs_engine")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller work, 2 rounds")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else args.rounds
    n, count = (24, 16) if args.quick else (28, 64)
    load_before = os.getloadavg()
    folder = tempfile.mkdtemp(prefix="xparallel-bench-")
    with open(os.path.join(folder, "benchfib.py"), "w") as handle:
        handle.write(MODULE)
    # On the kernel's path from its start: InterpreterPoolExecutor's interpreters do not see a
    # sys.path changed in the notebook (xparallel passes the notebook's own).
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (folder, os.environ.get("PYTHONPATH"))
                                               if p)
    km, kc, _ = _start("xparallel")
    try:
        _checked(kc, SETUP.format(folder=folder, workers=WORKERS), timeout=120)
        result = {"workers": WORKERS, "rounds": rounds, "fib": n, "items": count,
                  "cpu_bound": cpu_bound(kc, n, count, rounds),
                  "worker_cpu": worker_cpu(kc, n - 3, count, rounds),
                  "large_results": large_results(kc, rounds),
                  "warm_cell": warm_cell(kc, rounds)}
        _checked(kc, "ipe.shutdown(); ppe.shutdown()\nif mp: mp.terminate()")
    finally:
        _stop(km, kc)
    result["ordinary_cell"] = ordinary_cell(25 if args.quick else 27, 4 if args.quick else 8)
    result["load_average"] = {"before": load_before, "after": os.getloadavg()}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
