"""xparallel against what users pick instead, every contender in the same run, as ratios.

    python -m benchmarks                      the whole suite (about 15 minutes on 2 cores)
    python -m benchmarks --quick              smaller sizes and fewer rounds: a smoke run
    python -m benchmarks --only cpu,numpy     some workloads (--list names them)
    python -m benchmarks --write              also rewrite benchmarks/RESULTS.md and results.png

It also runs the other benchmark modules (benchmarks/robustness.py, kernel.py, dask.py: each
`main(argv) -> dict`); one that is missing or fails is reported as such. Timing goals are ratios
measured in the same run, never absolute timings in tests (DESIGN §6).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import importlib.util
import io
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from . import contenders as c
from . import own, suite

HERE = Path(__file__).resolve().parent
MODULES = ("robustness", "kernel", "dask")


def group_of(name: str) -> str:
    if name.startswith(("%%parallel", "xparallel")):
        return "xparallel"
    if name.startswith("serial"):
        return "baseline"
    if "Executor" in name or name.startswith("multiprocessing"):
        return "stdlib"
    return "peer"


def workloads(quick: bool, repeat: int | None) -> dict[str, tuple[str, Callable[[Callable], Any]]]:
    r = repeat or (1 if quick else 3)
    return {  # in this order: what issue 13 is about first
        "numpy_kernel": ("NumPy cell in a kernel",
                         lambda log: own.numpy_in_kernel(64 if quick else 256, r)),
        "numpy": ("NumPy slices", lambda log: suite.numpy_map(64 if quick else 512, r, log)),
        "cpu": ("CPU-bound speedup", lambda log: suite.cpu_bound(22 if quick else 27,
                                                                 16 if quick else 64, r, log)),
        "tiny": ("tiny items", lambda log: suite.tiny_items(20_000 if quick else 200_000, r, log)),
        "skew": ("skewed costs", lambda log: suite.skewed(0.3 if quick else 1.5,
                                                          0.002 if quick else 0.01, 300, r, log)),
        "results": ("large results", lambda log: suite.large_results(60 if quick else 300, r, log)),
        "cold": ("cold start", lambda log: suite.cold_start(2 if quick else 5, log)),
        "warm": ("magic vs library", lambda log: own.warm_cell(10 if quick else 50, log)),
        "memory": ("memory per worker", lambda log: own.memory_per_worker(4)),
        "progress": ("progress cost", lambda log: own.progress_cost(22 if quick else 28, 64,
                                                                    2 if quick else 5)),
        "kernel_start": ("kernel start", lambda log: own.kernel_start(2 if quick else 5)),
    }


def machine() -> dict:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        info["cpu_model"] = next(line.split(":", 1)[1].strip()
                                 for line in open("/proc/cpuinfo") if line.startswith("model name"))
        info["memory_gb"] = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    except (OSError, StopIteration, ValueError):
        pass
    versions = {}
    for package in ("joblib", "mpire", "tqdm", "ipyparallel", "distributed", "numpy", "cloudpickle"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # noqa: BLE001
            versions[package] = "missing"
    info["versions"] = versions
    return info


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def run_module(name: str, quick: bool) -> dict:
    """Another helper's benchmark module: its main(argv) -> dict, and the markdown it printed."""
    if importlib.util.find_spec(f"benchmarks.{name}") is None:
        return {"missing": f"benchmarks/{name}.py is not in this checkout"}
    printed = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text: str) -> int:
            sys.__stdout__.write(text)
            return printed.write(text)

    try:
        module = importlib.import_module(f"benchmarks.{name}")
        if not hasattr(module, "main"):
            return {"missing": f"benchmarks/{name}.py has no main()"}
        with contextlib.redirect_stdout(Tee()):
            figures = module.main(["--quick"] if quick else [])
        return {"figures": figures, "printed": printed.getvalue()}
    except BaseException as error:  # noqa: BLE001 - one module's failure is reported, not fatal
        if isinstance(error, KeyboardInterrupt):
            raise
        return {"missing": f"failed: {type(error).__name__}: {error}",
                "traceback": traceback.format_exc(limit=5), "printed": printed.getvalue()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one round")
    parser.add_argument("--only", default="", help="comma-separated workloads and modules")
    parser.add_argument("--repeat", type=int, help="rounds per workload (default 3, quick 1)")
    parser.add_argument("--list", action="store_true", help="name the workloads and modules")
    parser.add_argument("--no-modules", action="store_true",
                        help="skip the other helpers' modules (robustness, kernel, dask)")
    parser.add_argument("--write", action="store_true",
                        help="rewrite benchmarks/RESULTS.md, results.png and a dated JSON")
    parser.add_argument("--out", default=os.environ.get("XPARALLEL_BUILD", "build")
                        + "/benchmarks/results.json")
    args = parser.parse_args(argv)
    table = workloads(args.quick, args.repeat)
    if args.list:
        for key, (title, _) in table.items():
            print(f"{key:14} {title}")
        for name in MODULES:
            print(f"{name:14} benchmarks/{name}.py (another helper's module)")
        return {}
    chosen = [x for x in args.only.split(",") if x] or [*table, *MODULES]
    unknown = [x for x in chosen if x not in table and x not in MODULES]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; --list names them")
    if args.no_modules:
        chosen = [x for x in chosen if x not in MODULES]

    sys.setrecursionlimit(10_000)
    c.setup_environment(str(HERE.parent))
    if str(HERE.parent) not in sys.path:
        sys.path.insert(0, str(HERE.parent))
    results: dict[str, Any] = {"machine": machine(), "workloads": {}, "figures": {},
                               "modules": {}, "quick": args.quick,
                               "started": datetime.datetime.now(datetime.UTC).isoformat(
                                   timespec="seconds")}
    results["machine"]["load_before"] = load()
    started = time.monotonic()

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    for key in chosen:
        if key in MODULES:
            log(f"## module {key}")
            results["modules"][key] = run_module(key, args.quick)
            continue
        if key not in ("cpu", "tiny", "skew"):
            suite.close_all()  # the in-process workloads' pools are not needed now
        title, step = table[key]
        log(f"## {key}: {title} (load {load()})")
        t0 = time.monotonic()
        try:
            figure = step(log)
        except Exception as error:  # noqa: BLE001 - one workload's failure is reported
            figure = {"failed": f"{type(error).__name__}: {error}",
                      "traceback": traceback.format_exc(limit=8)}
            log(figure["traceback"])
        target = "workloads" if isinstance(figure, dict) and "rows" in figure else "figures"
        results[target][key] = figure
        results.setdefault("seconds", {})[key] = time.monotonic() - t0
        if target == "workloads":
            from .report import table as markdown

            print(f"\n### {figure['title']}\n\n{markdown(figure, _groups(figure))}\n", flush=True)
        else:
            print(f"\n### {key}\n{json.dumps(figure, indent=2, default=str)}\n", flush=True)
        save(results, started, args)  # after every workload: a run cut short keeps what it did
    suite.close_all()
    save(results, started, args, final=True)
    return results


def save(results: dict, started: float, args: argparse.Namespace, final: bool = False) -> None:
    results["machine"]["load_after"] = load()
    results["total_seconds"] = time.monotonic() - started
    results["complete"] = final
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    if args.write:
        from .results_page import write

        write(results, HERE)
    if final:
        print(f"written to {out}" + (f", {HERE / 'RESULTS.md'} and {HERE / 'results.png'}"
                                     if args.write else "")
              + f" ({results['total_seconds']:.0f} s)", file=sys.stderr, flush=True)


def _groups(workload: dict) -> dict[str, str]:
    return {name: group_of(name) for name in workload["rows"]}


if __name__ == "__main__":
    main()
