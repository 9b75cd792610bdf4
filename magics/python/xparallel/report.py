"""The run's report: `_parallel` in the notebook, also `%parallel_pool --last`."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from .measure import Usage
from .records import ItemError, WorkerError  # noqa: F401 - defined once, in records


class _Missing:
    """The marker `ParallelReport.partial()` puts where an item has no result: it failed, was
    interrupted, or never ran. One object, `xparallel.MISSING`; test with `is`."""

    _instance: "_Missing | None" = None

    def __new__(cls) -> "_Missing":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING = _Missing()


NOUNS = {"interpreters": ("interpreter", "interpreters"), "threads": ("thread", "threads"),
         "processes": ("process", "processes"), "dask": ("dask worker", "dask workers")}
COMPUTE_BOUND = 0.5   # (CPU + waits for a core) / wall at or above this: the run computed


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def workers_phrase(backend: str, workers: int) -> str:
    """"2 interpreters", "1 thread", "the main thread" (serial)."""
    if backend == "serial":
        return "the main thread"
    one, many = NOUNS.get(backend, (f"{backend} worker", f"{backend} workers"))
    return plural(workers, one, many)


def row_wait(row: tuple) -> float:
    """A timeline row's run-queue wait: its 7th field; rows of 6 fields predate it (0)."""
    return row[6] if len(row) > 6 else 0.0


@dataclass
class ParallelReport:
    """What ran where, when, and at what cost. `records` has one row per item:
    (index, worker, start s, end s, cpu s) — within a chunk, times and CPU are apportioned.

    The figures, the same wherever they appear (summary, widgets, `--compare`):
    - `cores_used`: CPU time of every thread of the process tree during the run (`usage`, from
      `measure.RunClock`; the chunks' own CPU when it was not measured) over the wall time.
    - `speedup`: measured against a real serial run of the same cell (`baseline`, set by
      `--compare`), else an estimate (`speedup_is_estimate`) that never counts time spent waiting
      for a core as work and never exceeds what the run could have done."""

    backend: str
    workers: int
    reason: str
    status: str                    # ok, failed, interrupted
    items: int
    wall: float
    timeline: list[tuple]          # (worker, first index, count, start, end, cpu[, wait]) per chunk
    errors: list[ItemError]
    results: list[Any] = field(repr=False, default_factory=list)
    skipped: int = 0
    comparison: list[dict] | None = None
    usage: Usage | None = None     # measured around the run: process-tree CPU, wall, wait
    baseline: float | None = None  # wall time of a real serial run of the same cell
    # Per item, in input order: what came back (None where an item failed), and the inputs the
    # run took (for --resume to compare, %parallel_debug to rerun); `total`: the input's length
    # when known (or found), else None.
    values: list[Any] = field(repr=False, default_factory=list)
    inputs: Any = field(repr=False, default=None)
    total: int | None = None
    reused: int = 0                # --resume: items whose results came from the resumed run
    retried: dict[int, int] = field(default_factory=dict)  # --retries: index -> extra attempts
    timed_out: list[int] = field(default_factory=list)      # --timeout: items that ran past it
    round_timed_out: bool = False  # this run was stopped by a timeout: the rest still has to run
    source: str = field(repr=False, default="")     # the cell, for %parallel_debug
    filename: str = field(repr=False, default="")

    def finished(self) -> set[int]:
        """Indices of the items that have a result (ran and did not fail)."""
        failed = {e.index for e in self.errors}
        return {i for i in range(len(self.values)) if i not in failed}

    def partial(self) -> list[Any]:
        """The results in input order, `xparallel.MISSING` where an item has none (it failed,
        was interrupted or never ran): what came back before an interrupt or a failure. Its
        length is the input's when known, else the items taken so far. An item's result is what
        it adds to the cell's form: a dict comprehension's is its (key, value) entry, one with
        inner for/if clauses a list of its elements."""
        size = self.total if self.total is not None else max(
            len(self.values), len(self.inputs) if self.inputs is not None else 0)
        done = self.finished()
        return [self.values[i] if i in done else MISSING for i in range(size)]

    @property
    def cpu(self) -> float:
        """CPU seconds of the run: every thread of the process tree when measured, else the
        chunks' own threads only."""
        if self.usage is not None:
            return self.usage.cpu
        return sum(row[5] for row in self.timeline)

    @property
    def wait(self) -> float | None:
        """Seconds the chunks' threads were runnable but had no core (a busy machine); None
        where the system does not report it (the run's usage says so: macOS, Windows)."""
        if self.usage is not None and self.usage.wait is None:
            return None
        return sum(row_wait(row) for row in self.timeline)

    @property
    def cores_used(self) -> float:
        """CPU time of every thread of the run over its wall time: near 1.0 with threads on pure
        Python (the GIL), near the worker count when every worker computes."""
        if self.usage is not None:
            return self.usage.cores_used
        return self.cpu / self.wall if self.wall > 0 else 0.0

    @property
    def items_time(self) -> float:
        """The chunks' wall time added up, less the time they waited for a core."""
        return sum(max(0.0, row[4] - row[3] - row_wait(row)) for row in self.timeline)

    @property
    def computed(self) -> bool:
        """Whether the run computed rather than waited: its process tree was on a core, or
        runnable and waiting for one, at least half of the wall time."""
        waited = (self.usage.wait if self.usage is not None else self.wait) or 0.0
        return self.wall > 0 and (self.cpu + waited) / self.wall >= COMPUTE_BOUND

    @property
    def serial_estimate(self) -> float:
        """What the items would take one after another, for runs without a measured serial
        baseline. A run that computed needs at least its CPU time serially, and its chunks' wall
        time also holds waits for a lock (the GIL with threads) or for threads an item started:
        the smaller of the two. A run that mostly waited (I/O, sleeps): the items' own time.
        Time spent waiting for a core is never counted, and the estimate never exceeds what
        `workers` could have done in the wall time."""
        if self.wall <= 0:
            return 0.0
        spent = self.items_time
        if self.computed:
            spent = min(spent, self.cpu)
        return min(spent, self.wall * max(1, self.workers))

    @property
    def measured_baseline(self) -> float | None:
        if self.baseline is not None:
            return self.baseline
        for row in self.comparison or []:
            if row.get("backend") == "serial":
                return row["wall"]
        return None

    @property
    def speedup_is_estimate(self) -> bool:
        return self.measured_baseline is None

    @property
    def speedup(self) -> float:
        """Serial wall over this run's wall: measured when there is a serial run to compare
        with, else `serial_estimate` over wall."""
        if self.wall <= 0:
            return 0.0
        baseline = self.measured_baseline
        return (baseline if baseline is not None else self.serial_estimate) / self.wall

    def speedup_text(self) -> str:
        if self.measured_baseline is not None:
            return (f"speedup {self.speedup:.2f}× measured against a serial run "
                    f"({self.measured_baseline:.2f} s)")
        return f"speedup ≈ {self.speedup:.2f}× (estimate; --compare measures it)"

    @property
    def records(self) -> list[tuple]:
        rows = []
        for worker, first, count, start, end, cpu, *_ in self.timeline:
            step = (end - start) / count if count else 0.0
            for k in range(count):
                rows.append((first + k, worker, start + k * step, start + (k + 1) * step,
                             cpu / count if count else 0.0))
        return rows

    def summary(self) -> str:
        text = (f"{plural(self.items, 'item')} in {self.wall:.2f} s on "
                f"{workers_phrase(self.backend, self.workers)} · cores used {self.cores_used:.2f}")
        if self.backend != "serial":
            text += f" · {self.speedup_text()}"
        if self.errors:
            failed = len({e.index for e in self.errors})
            text += f" · {failed} failed" + (f", {self.skipped} skipped" if self.skipped else "")
        if self.timed_out:
            text += f" · {plural(len(self.timed_out), 'item')} timed out"
        if self.retried:
            text += f" · {plural(len(self.retried), 'item')} retried"
        if self.status == "interrupted":
            text += " · interrupted"
        if self.reason:
            text += f" ({self.reason})"
        return text

    def __repr__(self) -> str:
        return f"<ParallelReport {self.summary()}>"

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(self.summary())}</code>"


def compare_rows(reports: dict[str, ParallelReport]) -> list[dict]:
    """The --compare table from one run per backend, the serial one among them: every report
    gets the serial wall as its measured baseline, so its summary, `_parallel` and the table
    show the same speedup and cores used."""
    serial = reports.get("serial")
    rows = []
    for report in reports.values():
        if serial is not None:
            report.baseline = serial.wall
    for name, report in reports.items():
        rows.append({"backend": name, "workers": report.workers, "wall": report.wall,
                     "speedup": report.speedup, "cores_used": report.cores_used,
                     "measured": not report.speedup_is_estimate, "possible": True, "note": ""})
    for report in reports.values():
        report.comparison = rows
    return rows


class Comparison:
    """The --compare table: one row per backend, speedups measured against the serial row."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def __repr__(self) -> str:
        head = f"{'backend':<13}{'workers':>8}{'wall s':>10}{'speedup':>10}{'cores used':>12}"
        lines = [head]
        for r in self.rows:
            lines.append(f"{r['backend']:<13}{r['workers']:>8}{r['wall']:>10.3f}"
                         f"{r['speedup']:>9.2f}×{r['cores_used']:>12.2f}")
        lines.append("speedup: serial wall time / wall time, both measured in this cell; cores used:"
                     " CPU time of every thread of the run / wall time")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(r['backend'])}</td><td>{r['workers']}</td>"
            f"<td>{r['wall']:.3f}</td><td>{r['speedup']:.2f}×</td><td>{r['cores_used']:.2f}</td>"
            "</tr>" for r in self.rows)
        return ("<table class='xparallel-compare'><thead><tr><th>backend</th><th>workers</th>"
                "<th>wall s</th><th>speedup vs serial (measured)</th><th>cores used</th></tr>"
                f"</thead><tbody>{cells}</tbody></table>")
