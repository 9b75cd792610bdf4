"""The workloads, each run over every contender in the same run.

Every workload returns {"title", "what", "columns", "rows": {contender: {...}}, ...}: a row holds
the figures, `spread` (the range over the repeats), `ok` (its results equal the serial loop's),
or `missing` (why it could not run). Figures are medians of interleaved rounds: drift in the
machine's speed (a shared VM) then hits every contender alike.
"""

from __future__ import annotations

import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from . import contenders as c
from .memory import PeakSampler

ROOT = str(Path(__file__).resolve().parent.parent)
MB = 1 << 20


def _missing(error: BaseException) -> dict:
    if isinstance(error, c.Missing):
        return {"missing": str(error)}
    return {"missing": f"failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
            if str(error) else f"failed: {type(error).__name__}"}


def _spread(values: list[float]) -> list[float]:
    return [min(values), max(values)]


_opened: list[c.Contender] | None = None
_failed: dict[str, dict] = {}


def opened(log) -> tuple[list[c.Contender], dict[str, dict]]:
    """Every contender, opened once for the in-process workloads (an ipyparallel cluster takes
    many seconds to start); close_all() ends them."""
    global _opened
    if _opened is None:
        _opened = []
        for contender in c.all_contenders():
            try:
                contender.open()
                _opened.append(contender)
            except Exception as error:  # noqa: BLE001
                _failed[contender.name] = _missing(error)
                log(f"  {contender.name}: {_failed[contender.name]['missing']}")
    return list(_opened), dict(_failed)


def close_all() -> None:
    global _opened
    for contender in _opened or []:
        try:
            contender.close()
        except Exception:  # noqa: BLE001
            pass
    _opened = None
    _failed.clear()


def interleaved(rounds: int, run: Callable[[c.Contender], tuple[float, Any]],
                expected: Callable[[c.Contender], Any],
                log: Callable[[str], None]) -> tuple[dict[str, list[float]], dict[str, dict]]:
    """Runs `rounds` rounds of every contender in turn. Returns the times per contender and the
    rows of those that could not run or gave wrong results."""
    contenders, rows = opened(log)
    times: dict[str, list[float]] = {}
    for round_ in range(rounds):
        for contender in list(contenders):
            try:
                seconds, values = run(contender)
            except Exception as error:  # noqa: BLE001
                rows[contender.name] = _missing(error)
                contenders.remove(contender)
                log(f"  {contender.name}: {rows[contender.name]['missing']}")
                continue
            if values != expected(contender):
                rows[contender.name] = {"missing": "wrong results"}
                contenders.remove(contender)
                continue
            times.setdefault(contender.name, []).append(seconds)
        log(f"  round {round_ + 1}/{rounds} done")
    return times, rows


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    values = function()
    return time.perf_counter() - started, values


# ---- CPU-bound ------------------------------------------------------------------------------------
def cpu_bound(n: int, count: int, rounds: int, log) -> dict:
    from . import workloads as w

    items = [n] * count
    want = [w.fib(n)] * count
    times, rows = interleaved(rounds, lambda k: timed(lambda: k.map("fib", items)),
                              lambda k: want, log)
    serial = statistics.median(times["serial (plain loop)"])
    for name, t in times.items():
        rows[name] = {"seconds": statistics.median(t), "speedup": serial / statistics.median(t),
                      "spread": sorted(serial / x for x in _spread(t)), "ok": True}
    return {"title": f"CPU-bound: {count} × fib({n}), speedup over the serial loop",
            "what": f"wall time of mapping fib({n}) over {count} items with {c.WORKERS} workers; "
                    f"speedup = serial loop's median / the contender's median over {rounds} "
                    "interleaved rounds (spread: its fastest and slowest round)",
            "key": "speedup", "unit": "×", "higher_is_better": True, "rows": rows}


# ---- tiny items -----------------------------------------------------------------------------------
def tiny_items(count: int, rounds: int, log) -> dict:
    sizes: dict[str, int] = {}

    def run(k: c.Contender) -> tuple[float, Any]:
        sizes[k.name] = size = min(count, k.sample)
        seconds, values = timed(lambda: k.map("add_one", list(range(size)), chunk=1000))
        return seconds / size, (values == list(range(1, size + 1)))

    times, rows = interleaved(rounds, run, lambda k: True, log)
    for name, t in times.items():
        rows[name] = {"us_per_item": statistics.median(t) * 1e6,
                      "spread": [x * 1e6 for x in _spread(t)], "items": sizes[name], "ok": True}
    return {"title": f"Tiny items: {count:,} × `x + 1`, cost per item",
            "what": f"wall time / items, mapping `x + 1` over {count:,} items (fewer for those "
                    "that pay 10 µs or more an item: `items` says how many) with "
                    f"{c.WORKERS} workers; chunks of 1000 for tools that need to be told "
                    "(ProcessPoolExecutor, tqdm process_map, ipyparallel), every other tool "
                    "with its defaults",
            "key": "us_per_item", "unit": "µs/item", "higher_is_better": False, "rows": rows}


# ---- skewed costs -----------------------------------------------------------------------------------
def skewed(slow: float, fast: float, count: int, rounds: int, log) -> dict:
    items = [fast] * count
    items[count // 2] = slow
    ideal = max(slow, sum(items) / c.WORKERS)
    times, rows = interleaved(rounds, lambda k: timed(lambda: k.map("busy", items)),
                              lambda k: items, log)
    for name, t in times.items():
        rows[name] = {"seconds": statistics.median(t), "of_ideal": statistics.median(t) / ideal,
                      "spread": [x / ideal for x in _spread(t)], "ok": True}
    return {"title": f"Skewed costs: one {slow} s item among {count} of {fast * 1000:g} ms",
            "what": f"wall time / the ideal max(slowest, total / {c.WORKERS}) = {ideal:.3f} s; "
                    f"items burn CPU time (the slow one is item {count // 2}); "
                    f"{rounds} interleaved rounds",
            "key": "of_ideal", "unit": "× ideal", "higher_is_better": False, "rows": rows,
            "ideal_seconds": ideal}


# ---- cold start ---------------------------------------------------------------------------------
def cold_start(rounds: int, log) -> dict:
    from . import workloads as w

    rows: dict[str, dict] = {}
    for contender in c.all_contenders():
        if contender.name.startswith(("%%parallel", "serial")):
            continue  # the magic's pools are the engine's and the stdlib's: measured below
        times = []
        repeat = min(rounds, 2) if contender.group == "peer" and "tqdm" not in contender.name \
            else rounds
        try:
            for _ in range(repeat):
                seconds, values = timed(contender.cold)
                assert values == [2, 3], values
                times.append(seconds)
        except Exception as error:  # noqa: BLE001
            rows[contender.name] = _missing(error)
            continue
        rows[contender.name] = {"ms": statistics.median(times) * 1e3,
                                "spread": [x * 1e3 for x in _spread(times)], "ok": True}
        log(f"  {contender.name}: {rows[contender.name]['ms']:.0f} ms")
    # The engine's pool itself (the contender above reuses the process's warm pool).
    import cloudpickle

    from xparallel import _engine
    from xparallel.backends.interpreters import engine_job

    def engine_cold() -> list:
        pool = _engine.Pool(c.WORKERS, list(sys.path))
        pool.start()
        job = engine_job(cloudpickle.dumps(w.add_one_factory), iter([1, 2]), c.WORKERS, 0, True,
                         2, pool=pool)
        job.wait(every=0.01)
        results = list(job.results)
        pool.shutdown()
        return results

    times = [timed(engine_cold)[0] for _ in range(rounds)]
    rows["xparallel engine API (interpreters)"] = {
        "ms": statistics.median(times) * 1e3, "spread": [x * 1e3 for x in _spread(times)],
        "ok": True}
    return {"title": f"Cold start: {c.WORKERS} workers started, 2 items, shut down",
            "what": f"wall time from nothing to 2 results and the pool shut down (median of "
                    f"{rounds}; 2 for ipyparallel, dask, joblib and mpire); tqdm's maps make "
                    "a pool per call anyway",
            "key": "ms", "unit": "ms", "higher_is_better": False, "rows": rows}


# ---- isolated memory workloads -------------------------------------------------------------------
def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def isolated(workload: str, name: str, repeats: int, size: int, timeout: float) -> dict:
    """Runs benchmarks.isolated in a child; returns its walls, results check and peak rise."""
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.isolated", workload, name,
                              str(repeats), str(size)], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    errors: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(child.stdout, lines), daemon=True).start()
    threading.Thread(target=_reader, args=(child.stderr, errors), daemon=True).start()
    deadline = time.monotonic() + timeout

    def expect() -> str:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        if line is None:
            tail = []
            while not errors.empty():
                tail.append(errors.get() or "")
            raise RuntimeError("the child ended: " + " | ".join(t for t in tail[-3:] if t))
        return line

    sampler = PeakSampler(child.pid, interval=0.02)
    try:
        line = expect()
        if line.startswith("MISSING"):
            return {"missing": line[len("MISSING "):]}
        assert line == "READY", line
        time.sleep(0.3)  # let the warm-up's garbage go before the baseline
        sampler.start()
        child.stdin.write("go\n")
        child.stdin.flush()
        first = expect()
        sampler.stop()
        child.stdin.write("go\n")
        child.stdin.flush()
        import json

        result = json.loads(expect())
        result["rise_mb"] = sampler.rise / MB
        return result
    except queue.Empty:
        return {"missing": f"did not finish within {timeout:.0f} s"}
    except Exception as error:  # noqa: BLE001
        return _missing(error)
    finally:
        if sampler._thread is not None and sampler._thread.is_alive():
            sampler.stop()
        _end(child)


def _end(child: subprocess.Popen) -> None:
    """Waits for the child to close its pools and exit; if it does not, ends it and every
    process it started (a pool's workers would be left running otherwise)."""
    import psutil

    try:
        descendants = psutil.Process(child.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    try:
        child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    _, alive = psutil.wait_procs(descendants, timeout=5)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def memory_workload(workload: str, names: list[str], repeats: int, size: int, timeout: float,
                    log) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for name in names:
        result = isolated(workload, name, repeats, size, timeout)
        if "missing" in result:
            rows[name] = result
            log(f"  {name}: {result['missing']}")
            continue
        walls = result["walls"]
        rows[name] = {"seconds": statistics.median(walls), "spread": _spread(walls),
                      "rise_mb": result["rise_mb"], "check": result["check"],
                      "count": result["count"]}
        log(f"  {name}: {rows[name]['seconds']:.2f} s, +{result['rise_mb']:.0f} MB")
    serial = rows.get("serial (plain loop)", {}).get("check")
    for row in rows.values():
        if "check" in row:
            row["ok"] = row.pop("check") == serial
    return rows


def large_results(count: int, repeats: int, log) -> dict:
    names = [k.name for k in c.all_contenders()]
    rows = memory_workload("results", names, repeats, count, 600, log)
    for row in rows.values():
        if "rise_mb" in row:
            row["rise_per_result_mb"] = row["rise_mb"] / count
    return {"title": f"Large results: {count} × 1 MB",
            "what": f"mapping a function that returns 1 MB of bytes over {count} items, "
                    f"{c.WORKERS} workers; wall time (median of {repeats} runs in one process, "
                    "spread: fastest and slowest) and the rise of the peak memory of that "
                    "process and its workers during the first run (shared pages counted once; "
                    f"the results themselves are {count} MB)",
            "key": "seconds", "unit": "s", "higher_is_better": False, "rows": rows,
            "second": ("rise_mb", "MB peak rise")}


def numpy_map(size_mb: int, repeats: int, log) -> dict:
    from .isolated import NUMPY_CONTENDERS

    rows = memory_workload("numpy", NUMPY_CONTENDERS, repeats, size_mb, 600, log)
    for row in rows.values():
        if "rise_mb" in row:
            row["rise_of_array"] = row["rise_mb"] / size_mb
    return {"title": f"NumPy: 64 slice sums of a {size_mb} MB float64 array",
            "what": f"`float(a[i*n:(i+1)*n].sum())` for 64 slices, {c.WORKERS} workers, each "
                    "tool with its idiom for an array every task reads (xparallel: the array "
                    "captured by the cell; threads: shared; ProcessPoolExecutor, "
                    "multiprocessing.Pool, tqdm process_map: the slices as items; joblib: the "
                    "array as an argument, memory-mapped by joblib; mpire: shared_objects over "
                    "fork, a pool per run; ipyparallel: pushed to the engines; dask: scattered "
                    "to the workers; getting the array to the workers is part of every run). "
                    f"Wall time (median of {repeats} runs in one process) and the peak memory "
                    "rise of that process and its workers during the first run (shared pages "
                    "counted once; `× array` is the rise over the array's size)",
            "key": "seconds", "unit": "s", "higher_is_better": False, "rows": rows,
            "second": ("rise_of_array", "× array peak rise")}
