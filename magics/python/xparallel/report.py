"""The run's report: `_parallel` in the notebook, also `%parallel_pool --last`."""

from __future__ import annotations

import html
import math
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


COMPUTE_BOUND = 0.5   # (CPU + waits for a core) / wall at or above this: the run computed
# A serial run shorter than this measures start-up and dispatch costs, not a backend's speed: its
# ratios are shown as not measurable (`%%parallel?` says so).
MEASURABLE_SERIAL = 0.05
IDLE_SHARE = 0.1   # a serial run idle (I/O, sleeps) for less of its wall than this computed


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def workers_phrase(backend: str, workers: int) -> str:
    """"2 interpreters", "1 thread", "the main thread" (serial): the backend's own nouns."""
    from .backends import traits

    kind = traits(backend)
    if kind is None:  # a report of a backend this kernel does not have
        return plural(workers, f"{backend} worker", f"{backend} workers")
    return kind.workers_phrase(workers)


def baseline_backend() -> str:
    """The backend speedups are measured against."""
    from .backends import baseline_name

    return baseline_name()


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
    # Of that serial run's wall, the seconds it neither computed nor waited for a core (I/O,
    # sleeps): the one part of it that running items side by side overlaps beyond the cores used.
    baseline_idle: float = 0.0
    baseline_wait: float = 0.0     # of it, the seconds it was runnable with no core (a busy machine)
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
            if row.get("backend") == baseline_backend():
                return row["wall"]
        return None

    @property
    def speedup_is_estimate(self) -> bool:
        return self.measured_baseline is None

    @property
    def ratio(self) -> float:
        """Serial wall (measured, else estimated) over this run's wall, as it came out."""
        if self.wall <= 0:
            return 0.0
        baseline = self.measured_baseline
        return (baseline if baseline is not None else self.serial_estimate) / self.wall

    @property
    def speedup_problem(self) -> str:
        """Why a measured ratio is not a speedup ("" when it is one):
        - the serial run took under MEASURABLE_SERIAL: fixed costs, not the work, make the ratio;
        - the ratio exceeds the cores used (plus what overlapping the serial run's idle waits can
          add): no run does the same work in less than its CPU time, so the serial run was
          slower than the work is (warm-up, a slower interpreter, noise). A defect, not a result."""
        baseline = self.measured_baseline
        if baseline is None or self.backend == baseline_backend() or self.wall <= 0:
            return ""
        if baseline < MEASURABLE_SERIAL:
            return (f"the serial run took {baseline * 1000:.0f} ms, under the "
                    f"{MEASURABLE_SERIAL * 1000:.0f} ms a speedup needs: give the cell more work")
        ceiling = self.cores_used + self.baseline_idle / self.wall
        if round(self.ratio, 2) > round(ceiling, 2):
            why = (f", {self.baseline_wait:.2f} s of it waiting for a core (a busy machine)"
                   if self.baseline_wait >= 0.1 * baseline else "")
            return (f"the serial run ({baseline:.2f} s{why}) was slower than the work is: its "
                    "wall time exceeds the CPU time the parallel run spent on the same items; run "
                    "the cell again, or give it more work")
        return ""

    @property
    def speedup(self) -> float:
        """Serial wall over this run's wall: measured when there is a serial run to compare
        with, else `serial_estimate` over wall. NaN when the measured ratio is not a speedup
        (`speedup_problem` says why): such a figure is never shown as a result."""
        return math.nan if self.speedup_problem else self.ratio

    def speedup_text(self) -> str:
        if self.measured_baseline is not None:
            if self.speedup_problem:
                return f"speedup not measurable: {self.speedup_problem}"
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
        if self.backend != baseline_backend():
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
    gets the serial wall as its measured baseline (and the serial run's idle waits), so its
    summary, `_parallel` and the table show the same speedup and cores used. A row's `speedup`
    is NaN when the measured ratio (`ratio`) is not one; `speedup_note` says why."""
    serial = reports.get(baseline_backend())
    if serial is not None:
        core_wait = serial.usage.wait if serial.usage is not None else serial.wait
        idle = max(0.0, serial.wall - serial.cpu - core_wait)
        # Under a tenth of the wall, "idle" is the CPU clocks' granularity (ticks of 10 ms over
        # the process tree), not waits: counted, it would let noise through as a speedup.
        idle = idle if idle >= IDLE_SHARE * serial.wall else 0.0
        for report in reports.values():
            report.baseline, report.baseline_idle = serial.wall, idle
            report.baseline_wait = core_wait
    rows = []
    for name, report in reports.items():
        rows.append({"backend": name, "workers": report.workers, "wall": report.wall,
                     "speedup": report.speedup, "ratio": report.ratio,
                     "speedup_note": report.speedup_problem, "cores_used": report.cores_used,
                     "measured": not report.speedup_is_estimate, "possible": True, "note": ""})
    for report in reports.values():
        report.comparison = rows
    return rows


_MARKS = "¹²³⁴⁵⁶⁷⁸⁹"
METHOD = ("speedup: serial wall time / wall time, both measured in this cell; cores used: CPU time "
          "of every thread of the run / wall time")


def speedup_cells(rows: list[dict]) -> tuple[list[str], list[str]]:
    """Each row's speedup as shown ("1.17×", or "not measurable¹"), and the numbered notes."""
    notes: list[str] = []
    cells = []
    for r in rows:
        note = r.get("speedup_note", "")
        if note:
            if note not in notes:
                notes.append(note)
            cells.append(f"not measurable{_MARKS[min(notes.index(note), len(_MARKS) - 1)]}")
        else:
            cells.append(f"{r['speedup']:.2f}×")
    return cells, [f"{_MARKS[min(i, len(_MARKS) - 1)]} {n}" for i, n in enumerate(notes)]


class Comparison:
    """The --compare table: one row per backend, speedups measured against the serial row.
    `method`: how the walls were taken (warm-up, rounds), said under the table."""

    def __init__(self, rows: list[dict], method: str = "") -> None:
        self.rows = rows
        self.method = method

    def _footer(self) -> list[str]:
        notes = speedup_cells(self.rows)[1]
        return notes + [METHOD + (f"; {self.method}" if self.method else "")]

    def __repr__(self) -> str:
        speedups, _ = speedup_cells(self.rows)
        width = max([len("speedup")] + [len(text) for text in speedups])
        head = (f"{'backend':<13}{'workers':>8}{'wall s':>10}  {'speedup':>{width}}"
                f"{'cores used':>12}")
        lines = [head]
        for r, speedup in zip(self.rows, speedups):
            lines.append(f"{r['backend']:<13}{r['workers']:>8}{r['wall']:>10.3f}  "
                         f"{speedup:>{width}}{r['cores_used']:>12.2f}")
        return "\n".join(lines + self._footer())

    def _repr_html_(self) -> str:
        # nowrap: a cell never breaks inside a figure or a word; the notes under the table wrap
        # between words only (JupyterLab breaks plain output anywhere, `seria l run`).
        cell = "style='white-space:nowrap;text-align:{}'"
        speedups, _ = speedup_cells(self.rows)
        body = "".join(
            f"<tr><td {cell.format('left')}>{html.escape(r['backend'])}</td>"
            f"<td {cell.format('right')}>{r['workers']}</td>"
            f"<td {cell.format('right')}>{r['wall']:.3f}</td>"
            f"<td {cell.format('right')}>{html.escape(speedup)}</td>"
            f"<td {cell.format('right')}>{r['cores_used']:.2f}</td></tr>"
            for r, speedup in zip(self.rows, speedups))
        heads = "".join(f"<th {cell.format(align)}>{title}</th>" for title, align in (
            ("backend", "left"), ("workers", "right"), ("wall s", "right"),
            ("speedup vs serial (measured)", "right"), ("cores used", "right")))
        footer = "".join(f"<p class='xparallel-compare-note' style='{WORDS}'>{html.escape(line)}</p>"
                         for line in self._footer())
        return (f"<table class='xparallel-compare'><thead><tr>{heads}</tr></thead>"
                f"<tbody>{body}</tbody></table>{footer}")


# Text that wraps between words only, whatever the output area's own rule.
WORDS = "white-space:normal;word-break:normal;overflow-wrap:normal;margin:2px 0"


def summary_html(text: str) -> str:
    """A summary line as HTML that wraps between words (stdout in JupyterLab breaks anywhere)."""
    return f"<div class='xparallel-summary' style='{WORDS}'>{html.escape(text)}</div>"
