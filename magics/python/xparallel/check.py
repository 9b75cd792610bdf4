"""`python -m xparallel.check`: what works on this laptop for the Parallel Python session, and what
to do where something does not.

Students run it before the session (the teacher's guide asks them to), so every check must work
without the rest of xparallel: each one is guarded on its own and says what to do otherwise. The
exit status is 1 when something the session cannot do without is missing, 0 otherwise (warnings
included). `--json` prints the same facts for scripts and tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from . import platform_reads
# Notebooks import these two from here; they live with the other platform reads.
from .platform_reads import physical_cores, usable_cpus  # noqa: F401

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"


@dataclass
class Finding:
    name: str
    status: str
    detail: str
    advice: str = ""
    facts: dict = field(default_factory=dict)


def check_python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    facts = {"version": version, "free_threaded": not getattr(sys, "_is_gil_enabled", lambda: True)()}
    if sys.version_info >= (3, 13):
        return Finding("python", OK, f"Python {version}", facts=facts)
    if sys.version_info >= (3, 12):
        return Finding("python", WARN, f"Python {version}: own-GIL interpreters exist, xparallel "
                       "needs 3.13", "use Python 3.13 or 3.14 (conda: the project's environment.yml)",
                       facts)
    return Finding("python", FAIL, f"Python {version}: no own-GIL sub-interpreters before 3.12",
                   "install Python 3.13 or 3.14 (conda: the project's environment.yml); the "
                   "threads and processes parts of the session work on any Python 3", facts)


def check_interpreters() -> Finding:
    """Creates one own-GIL interpreter with the standard library and runs a statement in it."""
    advice = "use Python 3.13+ (CPython, not PyPy); until then -b processes does what -b interpreters does"
    try:
        try:
            from concurrent import interpreters  # 3.14

            interp = interpreters.create()
            try:
                interp.exec("import math; assert math.isqrt(49) == 7")
            finally:
                interp.close()
        except ImportError:
            import _interpreters  # type: ignore[import-not-found]  # 3.13

            ident = _interpreters.create("isolated")
            try:
                _interpreters.exec(ident, "import math; assert math.isqrt(49) == 7")
            finally:
                _interpreters.destroy(ident)
    except Exception as error:  # noqa: BLE001 - any failure means: not available here
        return Finding("interpreters", FAIL, f"own-GIL sub-interpreters: not available "
                       f"({type(error).__name__}: {error})", advice)
    return Finding("interpreters", OK, "own-GIL sub-interpreters: created one and ran code in it")


def check_engine() -> Finding:
    try:
        from . import __version__
        from . import _engine  # noqa: F401 - the C++ engine, built with the package
    except Exception as error:  # noqa: BLE001
        return Finding("engine", FAIL, f"xparallel's engine does not load ({type(error).__name__}: "
                       f"{error})", "build and install xparallel (README: `scripts/devroot build`, "
                       "or `pip install .` into a Python 3.13+ environment)")
    return Finding("engine", OK, f"xparallel {__version__}: the engine loads (%load_ext xparallel "
                   "works in any IPython kernel)", facts={"version": __version__})


def check_kernel() -> Finding:
    advice = ("in a stock Python kernel (ipykernel) run `%load_ext xparallel` first: every "
              "notebook's first cell does; or install the kernel (README: Install)")
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return Finding("kernel", WARN, "jupyter_client is not installed: cannot look for kernels",
                       "install Jupyter (Notebook 7 or JupyterLab 4)")
    try:
        spec = KernelSpecManager().get_kernel_spec("xparallel")
    except NoSuchKernel:
        return Finding("kernel", WARN, "the xparallel kernel is not installed", advice)
    found = Path(spec.argv[0]).exists() or any(
        (Path(p) / spec.argv[0]).exists() for p in os.environ.get("PATH", "").split(os.pathsep))
    if not found:
        return Finding("kernel", WARN, f"the xparallel kernel's program {spec.argv[0]} is missing",
                       advice)
    return Finding("kernel", OK, f"kernel \"{spec.display_name}\" installed ({spec.resource_dir})",
                   facts={"display_name": spec.display_name})


def check_widgets() -> Finding:
    try:
        import ipywidgets
    except ImportError:
        return Finding("widgets", WARN, "ipywidgets is not installed: progress is printed as text "
                       "when a cell ends", "install ipywidgets 8 (pip or conda) for live bars")
    major = int(ipywidgets.__version__.split(".")[0])
    if major < 8:
        return Finding("widgets", WARN, f"ipywidgets {ipywidgets.__version__}: too old for the "
                       "live bars", "install ipywidgets 8", {"version": ipywidgets.__version__})
    return Finding("widgets", OK, f"ipywidgets {ipywidgets.__version__}: live progress bars",
                   facts={"version": ipywidgets.__version__})


def check_cores() -> Finding:
    logical, physical, usable = platform_reads.logical_cpus(), physical_cores(), usable_cpus()
    facts = {"logical": logical, "physical": physical, "usable": usable}
    detail = f"cores: {logical} logical, {physical or '?'} physical, {usable} usable by this process"
    if physical and physical < logical:
        detail += (f" (hyperthreading: {logical // physical} logical per physical core; a CPU-bound "
                   f"speedup tops out nearer {physical}x than {logical}x)")
    if usable < 2:
        return Finding("cores", WARN, detail, "one core: nothing runs in parallel here; pair with a "
                       "neighbour for the measurements", facts)
    return Finding("cores", INFO, detail, facts=facts)


def check_blas() -> Finding:
    try:
        import numpy
    except ImportError:
        return Finding("blas", WARN, "NumPy is not installed", "install NumPy for the NumPy and "
                       "BLAS-thread parts (pip's and conda's bring a threaded BLAS)")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return Finding("blas", WARN, f"NumPy {numpy.__version__}, but threadpoolctl is not "
                       "installed: the BLAS-thread exercises need it", "install threadpoolctl",
                       {"numpy": numpy.__version__})
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return blas_finding(numpy.__version__, blas, platform_reads.numpy_config())


def blas_finding(numpy_version: str, blas: list[dict], config: dict | None) -> Finding:
    """From what threadpoolctl lists (`blas`) and NumPy's build configuration."""
    facts = {"numpy": numpy_version, "built_with": platform_reads.blas_name(config),
             "libraries": [{k: p.get(k) for k in ("internal_api", "num_threads",
                                                  "threading_layer", "version", "filepath")}
                           for p in blas]}
    if platform_reads.uses_accelerate(config, blas):
        return accelerate_finding(numpy_version, facts)
    if not blas:
        return Finding("blas", WARN, f"NumPy {numpy_version}: threadpoolctl sees no BLAS it can "
                       "control (a reference BLAS is single-threaded)",
                       "use pip's or conda's NumPy (OpenBLAS or MKL); on Debian/Ubuntu install "
                       "libopenblas0-pthread", facts)
    best = max(blas, key=lambda p: p.get("num_threads") or 0)
    name = f"{best.get('internal_api')} {best.get('version') or ''}".strip()
    layer = best.get("threading_layer") or "?"
    if (best.get("num_threads") or 1) > 1:
        return Finding("blas", OK, f"BLAS: {name}, {best['num_threads']} threads ({layer}): matrix "
                       "products use several cores", facts=facts)
    advice = ("unset OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS in the shell that "
              "starts Jupyter" if any(os.environ.get(v) for v in
                                      ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))
              else "use pip's or conda's NumPy (OpenBLAS or MKL), or on Debian/Ubuntu install "
              "libopenblas0-pthread")
    if usable_cpus() < 2:
        return Finding("blas", INFO, f"BLAS: {name}, 1 thread (one core here)", facts=facts)
    return Finding("blas", WARN, f"BLAS: {name}, 1 thread: the BLAS-thread exercises will show no "
                   "speedup", advice, facts)


def accelerate_finding(numpy_version: str, facts: dict) -> Finding:
    """NumPy on Apple's Accelerate: it picks its own threads and threadpoolctl cannot change
    them, so every point of a BLAS-thread sweep runs the same library the same way."""
    return Finding("blas", WARN, f"NumPy {numpy_version} uses Apple's Accelerate: threadpoolctl "
                   "cannot set its threads, so the BLAS-thread lessons (notebook 03: the thread "
                   "sweep, processes x BLAS threads) will show a flat sweep, every thread count "
                   "as fast as the first, because Accelerate ignores the setting",
                   "expected on a Mac with pip's NumPy: read the sweep with a neighbour on "
                   "Linux or Windows, or use a NumPy on OpenBLAS (conda: `conda install numpy "
                   "\"libblas=*=*openblas\"`)", facts)


def check_platform() -> Finding:
    """What this system lets xparallel measure: what the notebooks' tables show, or show as
    "not measured here"."""
    platform = platform_reads.current()
    memory = platform_reads.memory()
    reads = {
        "memory (RSS)": memory.rss is not None,
        "memory (PSS, shared pages split)": memory.pss is not None,
        "peak memory": memory.peak is not None,
        "CPU time of each thread": platform_reads.threads_cpu() is not None,
        "CPU time of worker processes": platform_reads.descendants_cpu() is not None,
        "time waiting for a core": platform_reads.core_waits_measured(),
    }
    methods = platform_reads.start_methods()
    facts = {"platform": platform, "measured": reads, "start_methods": methods,
             "worker_start_method": platform_reads.worker_start_method()}
    missing = [name for name, ok in reads.items() if not ok]
    if missing:
        detail = (f"platform {platform}: measures " + ", ".join(n for n, ok in reads.items() if ok)
                  + f"; start methods {', '.join(methods)}")
    else:
        detail = (f"platform {platform}: every figure the notebooks show is measured here; start "
                  f"methods {', '.join(methods)}")
    if missing:
        detail += f"; {platform_reads.NOT_MEASURED}: {', '.join(missing)}"
        advice = ("nothing to fix: the notebooks print \"not measured here\" for these figures"
                  + ("" if platform_reads.threads_cpu() is not None or platform == "linux"
                     else "; install psutil for the thread and process CPU figures"))
        return Finding("platform", INFO, detail, advice, facts)
    return Finding("platform", INFO, detail, facts=facts)


def check_start_method() -> Finding:
    import multiprocessing

    method = multiprocessing.get_start_method(allow_none=False)
    detail = f"multiprocessing start method: {method}"
    if method != "fork":
        detail += (" (a Pool cannot run functions defined in a notebook: notebook 03 shows why and "
                   "the fix)")
    return Finding("start_method", INFO, detail, facts={"method": method})


CHECKS: list[Callable[[], Finding]] = [check_python, check_interpreters, check_engine, check_kernel,
                                       check_widgets, check_cores, check_platform, check_blas,
                                       check_start_method]


def run_checks() -> list[Finding]:
    findings = []
    for check in CHECKS:
        try:
            findings.append(check())
        except Exception as error:  # noqa: BLE001 - one broken check must not hide the others
            findings.append(Finding(check.__name__.removeprefix("check_"), WARN,
                                    f"the check itself failed: {type(error).__name__}: {error}"))
    return findings


def render(findings: list[Finding]) -> str:
    lines = ["xparallel pre-session check (Parallel Python)"]
    for finding in findings:
        lines.append(f"  {finding.status:<5} {finding.detail}")
        if finding.advice:
            lines.append(f"        do: {finding.advice}")
    failed = [f.name for f in findings if f.status == FAIL]
    warned = [f.name for f in findings if f.status == WARN]
    if failed:
        lines.append(f"NOT READY: {', '.join(failed)} must be fixed (see the 'do' lines); the "
                     "threads and processes parts still work")
    elif warned:
        lines.append(f"READY, with warnings ({', '.join(warned)}): see the 'do' lines")
    else:
        lines.append("READY: everything the session uses works here")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xparallel.check", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = parser.parse_args(argv)
    findings = run_checks()
    if args.json:
        print(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        print(render(findings))
    return 1 if any(f.status == FAIL for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
