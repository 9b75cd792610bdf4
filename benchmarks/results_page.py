"""Writes benchmarks/RESULTS.md (one table per workload, every contender), results.png and the
run's JSON from one run of the suite (`python -m benchmarks --write`)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from .report import chart, table

# Measured before the shared-memory change (commit 3137277, the processes backend sending the
# pickled spec, array inside, with every chunk), with the same measure of memory (shared pages
# once), by the script that became `python -m benchmarks --only numpy_kernel` (the processes
# cell alone, 256 MB), under a load average of about 9.
BEFORE = ("Before this change (main at 3137277), the issue's cell on a 256 MB array took **95.1 s** "
          "and raised the kernel tree's peak by **1,955 MB (7.6× the array)** (load average 9; "
          "the issue measured 26.3 s and +2.5 GB on a quieter machine); the regression tests of "
          "`tests/processes` measured, before the change, 512 MB read by the workers through "
          "their pipes for a 32 MB array in 16 chunks, and a peak rise of 979 MB for a 128 MB "
          "array.")


# Measured during development at a lower load (average 6-8), for comparison with the run below.
AT_LOWER_LOAD = ("At a lower load (average 6–8), during development: `python -m benchmarks --quick "
                 "--only numpy` (64 MB array, fresh processes) gave `%%parallel -b processes` "
                 "0.14 s and a peak rise of 1.00× the array, joblib 0.90 s and 1.29×, "
                 "ProcessPoolExecutor 0.39 s, mpire (fork) 0.14 s; the issue's cell in a kernel "
                 "on a 64 MB array ran in 0.08–0.13 s over 4 warm runs against joblib's 0.10 s.")


def _overload_warning(m: dict) -> list[str]:
    """Under a load well above the core count, timings say how much of contended cores each
    contender got, not how well it parallelises: say so where a reader will see it."""
    try:
        load = float(str(m.get("load_before", "0")).split(",")[0])
        cpus = int(m.get("cpus") or 1)
    except ValueError:
        return []
    if load < 2 * cpus:
        return []
    return [f"**This run is not a fair measure of speed**: the load average was {load:.0f} on "
            f"{cpus} cores (other builds and test suites ran on the machine), so every "
            "contender waited for a core most of the time. A speedup then says how large a "
            "share of the contended cores a tool's threads and processes won (more runnable "
            "threads win more, which is why thread pools look fast on pure-Python work here), "
            "not how well it parallelises, and wall times are several times those of a quiet "
            "machine. What stays meaningful: results equal, memory (peak rises do not depend on "
            "the load), and which tools could not run or start. Rerun `scripts/devroot bench "
            "--write` on a quiet machine for the timings.", ""]


def _groups(workload: dict) -> dict[str, str]:
    from .__main__ import group_of

    return {name: group_of(name) for name in workload["rows"]}


def _figures(name: str, figures: Any) -> str:
    if isinstance(figures, dict) and "failed" in figures:
        return f"**{name}: failed** — {figures['failed']}"
    lines = ["| figure | value |", "|---|---|"]
    for key, value in (figures or {}).items():
        if isinstance(value, float):
            value = f"{value:.3g}"
        elif isinstance(value, list):
            value = ", ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in value)
        lines.append(f"| {key} | {value} |")
    return "\n".join(lines)


def write(results: dict[str, Any], folder: Path) -> None:
    stamp = results["started"][:10]
    raw = folder / f"results-{stamp}.json"
    raw.write_text(json.dumps(results, indent=2, default=str))
    groups: dict[str, str] = {}
    for workload in results["workloads"].values():
        groups.update(_groups(workload))
    chart(results, groups, str(folder / "results.png"))
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    minutes = results.get("total_seconds", 0) / 60
    out = [
        "# Benchmark results",
        "",
        "xparallel against what people use instead to parallelise a notebook loop: the standard "
        "library's pools, joblib, mpire, tqdm's maps, ipyparallel and dask.distributed, every "
        "contender on the same machine in the same run, each workload's results checked equal to "
        "the serial loop's. Made by `scripts/devroot bench --write` (= `python -m benchmarks "
        "--write` against the installed build; `--quick`, `--only cpu,numpy`, `--list`).",
        "",
        f"**Machine**: {m.get('cpus')} cores ({m.get('cpu_model', '?')}), "
        f"{m.get('memory_gb', '?')} GB, {m.get('platform', '')}; Python {m.get('python')}; "
        f"{versions}. Run started {results['started']} UTC, took {minutes:.0f} min"
        f"{' (quick mode)' if results.get('quick') else ''}"
        f"{'' if results.get('complete', True) else ' and was stopped before its end: workloads not shown here were not run'}.",
        "",
        f"**How noisy**: load average (1, 5, 15 min) {m.get('load_before')} before the run and "
        f"{m.get('load_after')} after it: the machine is a shared 2-core VM on which other work "
        "ran at the same time, so absolute times are slower than on a quiet machine and vary by "
        "tens of percent between runs. Figures are medians over interleaved rounds (every "
        "contender once per round, so drift hits all alike); *spread* is the fastest and slowest "
        "round. Compare the ratios within a table, not across runs.",
        "",
        *_overload_warning(m),
        "**Memory** is the peak, during the first run, of the process tree (the benchmark's "
        "process or the kernel, and every worker) minus its value just before, with shared pages "
        "counted once: the sum over processes of PSS without shared memory, plus every "
        "shared-memory object (/dev/shm files, deleted or not) once (`benchmarks/memory.py`). "
        "Summing RSS instead would count an array that two workers map twice. Memory workloads "
        "run each contender in a fresh process (`benchmarks/isolated.py`), so that no allocator "
        "keeps what an earlier contender freed.",
        "",
        "![every workload, every contender](results.png)",
        "",
        "xparallel is red, the standard library blue, other tools grey, the serial loop green; "
        "error bars are the spread.",
        "",
    ]
    numpy_kernel = results["workloads"].get("numpy_kernel")
    out += ["## NumPy to processes without copies (issue 13)", "", BEFORE, "", AT_LOWER_LOAD, ""]
    if numpy_kernel:
        rows = numpy_kernel["rows"]
        after = rows.get("%%parallel -b processes -w 2", {})
        joblib_row = rows.get("joblib.Parallel(n_jobs=2)", {})
        if "seconds" in after and "seconds" in joblib_row:
            out += [f"After it, in this run: **{after['seconds']:.2f} s** and a peak rise of "
                    f"**{after['rise_of_array']:.2f}× the array**, against joblib's "
                    f"{joblib_row['seconds']:.2f} s and {joblib_row['rise_of_array']:.2f}× in the "
                    "same kernel (goal: at most joblib's time and 1.2× the array).", ""]
    out += [
        "How: captured values are pickled with their large buffers out of band "
        "(`xparallel/outofband.py`, no copy); the processes backend writes the spec and those "
        "buffers once into one POSIX shared-memory segment (`backends/shared_buffers.py`); a "
        "chunk carries only the segment's name; each worker maps it copy-on-write once per job; "
        "the kernel unlinks it when the job ends (done, failed, interrupted, or the kernel "
        "gone: multiprocessing's resource tracker).",
        "",
    ]
    for key, workload in results["workloads"].items():
        out += [f"## {workload['title']}", "", f"*Measured*: {workload['what']}.", "",
                table(workload, _groups(workload)), ""]
    for key, figures in results.get("figures", {}).items():
        out += [f"## {key}", "", _figures(key, figures), ""]
    if results.get("modules"):
        out += ["## Other modules", ""]
        for name, module in results["modules"].items():
            out.append(f"### benchmarks/{name}.py")
            out.append("")
            if "missing" in module:
                out.append(f"Not run: {module['missing']}.")
            else:
                out.append(module.get("printed", "").strip() or
                           "```\n" + json.dumps(module.get("figures"), indent=2, default=str)
                           + "\n```")
            out.append("")
    out += [f"The run's raw figures: [`{raw.name}`]({raw.name}).", ""]
    (folder / "RESULTS.md").write_text("\n".join(out))


if __name__ == "__main__":  # rewrite the page from a saved run
    import sys

    saved = json.loads(Path(sys.argv[1]).read_text())
    write(saved, Path(__file__).resolve().parent)
    print(datetime.datetime.now().isoformat(), "written")
