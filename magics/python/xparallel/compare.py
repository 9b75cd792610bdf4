"""--compare: the same cell on serial, threads, processes and interpreters in turn (and dask when
the notebook has a client), as a table of wall time, speedup and cores used. A backend that
cannot run the cell (interpreters on a NumPy cell) gets a row that says why."""

from __future__ import annotations

import html
import math
from typing import Any

from IPython.core.error import UsageError

from .backends import compared_backends
from .choose import refusal_advice
from .report import Comparison, ParallelReport, compare_rows


class ComparisonTable(Comparison):
    """The table, with a line for each backend that could not run the cell."""

    def _possible(self) -> Comparison:
        return Comparison([r for r in self.rows if r.get("possible", True)])

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


def compare(cell: Any) -> tuple[ComparisonTable, ParallelReport]:
    """Runs `cell` (a run.CellRun whose setup already ran) on every compared backend; returns the
    table and the report whose results the cell keeps (interpreters, else processes)."""
    __tracebackhide__ = True  # noqa: F841
    modules, captured = cell.capture()
    rows: list[dict] = []
    reports: dict[str, ParallelReport] = {}
    for name in compared_backends():
        report = cell.run_on(name, "", modules, captured, show=False)
        if report.errors:
            advice = refusal_advice(report.errors)
            if name == "interpreters" and advice:  # not possible here: say why, go on
                rows.append({"backend": name, "workers": report.workers, "wall": math.nan,
                             "speedup": math.nan, "cores_used": math.nan, "possible": False,
                             "note": advice.split(": ")[0]})
                continue
            first = min(report.errors, key=lambda e: e.index)
            raise UsageError(f"%%parallel --compare: the {name} run failed: "
                             f"{advice or first.type_name + ': ' + first.message}")
        reports[name] = report
    rows += compare_rows(reports)  # every report gets the serial wall as measured baseline
    order = list(compared_backends())
    rows.sort(key=lambda row: order.index(row["backend"]))
    final = reports.get("interpreters") or reports["processes"]
    final.comparison = rows
    return ComparisonTable(rows), final
