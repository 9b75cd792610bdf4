"""--compare: the same cell on serial, threads, processes and interpreters (and dask when the
notebook has a client), as a table of wall time, speedup and cores used. A backend that cannot
run the cell (interpreters on a NumPy cell) gets a row that says why.

How it times them, so that neither warm-up nor order can make a speedup:
- the input is taken once, up front, and every run gets the same items;
- warm-up: every backend first runs one item per worker, untimed (pools started, the cell's
  function shipped and its code warmed);
- then timed rounds of every backend, each round in a rotated order (a backend is first in one
  round, last in another), at most MAX_ROUNDS, and a further round only while the timed rounds
  stay within ROUNDS_BUDGET seconds: a cell whose round takes 5 s gets one, a 0.3 s one five;
- each backend's figures are its fastest round's (noise only ever adds time).
The checks on what comes out (too short, above the cores used) are the report's
(`ParallelReport.speedup_problem`)."""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from .backends import auto_choices, backend_class, compared_backends
from .backends.base import default_workers
from .choose import refusal_advice
from .notebook import evaluate_iterable
from .report import Comparison, ParallelReport, compare_rows

MAX_ROUNDS = 5
ROUNDS_BUDGET = 5.0   # seconds of timed rounds after which no further round starts


class ComparisonTable(Comparison):
    """The table, with a line for each backend that could not run the cell."""

    def _possible(self) -> Comparison:
        return Comparison([r for r in self.rows if r.get("possible", True)], self.method)

    def _impossible(self) -> list[dict]:
        return [r for r in self.rows if not r.get("possible", True)]

    def __repr__(self) -> str:
        lines = [repr(self._possible())]
        lines += [f"{r['backend']:<13}not possible: {r['note']}" for r in self._impossible()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        notes = "".join(f"<p>{html.escape(r['backend'])}: not possible: {html.escape(r['note'])}"
                        "</p>" for r in self._impossible())
        return self._possible()._repr_html_() + notes


@dataclass
class Compared:
    """What --compare found: the table, the report whose results the cell keeps (interpreters,
    else processes), and each backend's fastest run (for --timeline)."""

    table: ComparisonTable
    final: ParallelReport
    reports: dict[str, ParallelReport]


def rounds_order(names: list[str], round_number: int) -> list[str]:
    """Round k starts from the k-th backend: over the rounds each one runs first and last."""
    shift = round_number % len(names) if names else 0
    return names[shift:] + names[:shift]


def more_rounds(done: int, spent: float) -> bool:
    """Whether another timed round fits: fewer than MAX_ROUNDS so far, and one more of the
    rounds' mean length keeps them within ROUNDS_BUDGET."""
    return done < MAX_ROUNDS and spent + spent / max(1, done) <= ROUNDS_BUDGET


def method_text(rounds: int) -> str:
    taken = "the fastest of " + (f"{rounds} rounds" if rounds > 1 else "1 round")
    return (f"every backend warmed up on one item per worker first, then {taken} in rotated "
            "order")


def compare(cell: Any) -> Compared:
    """Runs `cell` (a run.CellRun whose setup already ran) on every compared backend."""
    __tracebackhide__ = True  # noqa: F841
    plan = cell.plan
    modules, captured = cell.capture()
    items = list(evaluate_iterable(plan, cell.namespace))
    names = list(compared_backends())
    impossible: list[dict] = []

    def run(name: str, subset: list) -> ParallelReport | None:
        report = cell.run_on(name, "", modules, captured, show=False, items=subset)
        if not report.errors:
            return report
        advice = refusal_advice(report.errors)
        if advice:  # a module refusing sub-interpreters: not possible here, say why, go on
            impossible.append({"backend": name, "workers": report.workers, "wall": math.nan,
                               "speedup": math.nan, "ratio": math.nan, "speedup_note": "",
                               "cores_used": math.nan, "possible": False,
                               "note": advice.split(": ")[0]})
            return None
        first = min(report.errors, key=lambda e: e.index)
        raise UsageError(f"%%parallel --compare: the {name} run failed: "
                         f"{advice or first.type_name + ': ' + first.message}")

    workers = cell.options.workers or default_workers()
    for name in list(names):  # the warm-up, untimed
        if run(name, items[:1 if backend_class(name).baseline else workers]) is None:
            names.remove(name)

    best: dict[str, ParallelReport] = {}
    rounds, spent = 0, 0.0
    while names and (rounds == 0 or more_rounds(rounds, spent)):
        started = time.monotonic()
        for name in rounds_order(names, rounds):
            report = run(name, items)
            if report is None:
                names.remove(name)
            elif name not in best or report.wall < best[name].wall:
                best[name] = report  # only the fastest is kept: results can be large
        rounds += 1
        spent += time.monotonic() - started

    order = list(compared_backends())
    reports = {name: best[name] for name in order if name in best}
    rows = compare_rows(reports) + impossible
    rows.sort(key=lambda row: order.index(row["backend"]))
    final = next(reports[name] for name in auto_choices() if name in reports)
    for report in reports.values():
        report.comparison = rows
    return Compared(ComparisonTable(rows, method_text(rounds)), final, reports)
