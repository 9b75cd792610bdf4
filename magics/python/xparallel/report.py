"""The run's report: `_parallel` in the notebook, also `%parallel_pool --last`."""

from __future__ import annotations

import html
import pickle
from dataclasses import dataclass, field
from typing import Any


class WorkerError(Exception):
    """An exception raised in a worker that could not be sent back as its own type."""


@dataclass
class ItemError:
    index: int
    worker: int
    kind: str          # item, setup, result
    type_name: str
    message: str
    traceback: str
    item: str          # short repr of the item
    pickled: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_tuple(cls, row: tuple) -> "ItemError":
        index, worker, kind, pickled, type_name, message, traceback, item = row
        return cls(index, worker, kind, type_name, message, traceback, item, pickled)

    def exception(self) -> BaseException:
        """The worker's exception as its own type where it pickles, with a note saying where it
        was raised and the worker's traceback."""
        error: BaseException | None = None
        if self.pickled is not None:
            try:
                error = pickle.loads(self.pickled)
            except Exception:  # noqa: BLE001
                error = None
        if error is None:
            error = WorkerError(f"{self.type_name}: {self.message}")
        where = (f"in the setup of worker w{self.worker}" if self.kind == "setup"
                 else f"in worker w{self.worker} on item {self.index}"
                 + (f" ({self.item})" if self.item else ""))
        error.add_note(f"[xparallel] raised {where}")
        worker_frames = _cell_frames(self.traceback)
        if worker_frames:
            error.add_note(f"[xparallel] worker traceback (most recent call last):\n{worker_frames}")
        return error


def _cell_frames(formatted: str) -> str:
    """The worker's traceback without xparallel's own frames: what the user wrote."""
    lines = formatted.splitlines()
    kept: list[str] = []
    skip = False
    for line in lines[1:-1]:  # drop "Traceback ..." and the final "Type: message"
        if line.startswith("  File "):
            skip = "/xparallel/" in line and "xp-cell" not in line
        if not skip:
            kept.append(line)
    return "\n".join(kept)


@dataclass
class ParallelReport:
    """What ran where, when, and at what cost. `records` has one row per item:
    (index, worker, start s, end s, cpu s) — within a chunk, times and CPU are apportioned."""

    backend: str
    workers: int
    reason: str
    status: str                    # ok, failed, interrupted
    items: int
    wall: float
    timeline: list[tuple]          # (worker, first index, count, start, end, cpu) per chunk
    errors: list[ItemError]
    results: list[Any] = field(repr=False, default_factory=list)
    skipped: int = 0
    comparison: list[dict] | None = None

    @property
    def cpu(self) -> float:
        return sum(row[5] for row in self.timeline)

    @property
    def cores_used(self) -> float:
        """Sum of the items' CPU time over wall time: near 1.0 with threads on pure Python."""
        return self.cpu / self.wall if self.wall > 0 else 0.0

    @property
    def serial_estimate(self) -> float:
        """What the items would take one after another. Threads wait for the GIL inside their
        chunk's wall time, so for them the estimate is the CPU time actually spent."""
        if self.backend == "threads":
            return self.cpu
        return sum(row[4] - row[3] for row in self.timeline)

    @property
    def speedup(self) -> float:
        return self.serial_estimate / self.wall if self.wall > 0 else 0.0

    @property
    def records(self) -> list[tuple]:
        rows = []
        for worker, first, count, start, end, cpu, *_ in self.timeline:  # 6 or 7 fields
            step = (end - start) / count if count else 0.0
            for k in range(count):
                rows.append((first + k, worker, start + k * step, start + (k + 1) * step,
                             cpu / count if count else 0.0))
        return rows

    def summary(self) -> str:
        noun = {"interpreters": "interpreters", "threads": "threads", "processes": "processes",
                "serial": "the main thread"}.get(self.backend, self.backend)
        on = "on the main thread" if self.backend == "serial" else f"on {self.workers} {noun}"
        text = (f"{self.items:,} items in {self.wall:.2f} s {on} · cores used {self.cores_used:.2f}"
                f" · speedup {self.speedup:.2f}× over the serial estimate")
        if self.errors:
            failed = len({e.index for e in self.errors})
            text += f" · {failed} failed" + (f", {self.skipped} skipped" if self.skipped else "")
        if self.status == "interrupted":
            text += " · interrupted"
        if self.reason:
            text += f" ({self.reason})"
        return text

    def __repr__(self) -> str:
        return f"<ParallelReport {self.summary()}>"

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(self.summary())}</code>"


class Comparison:
    """The --compare table: one row per backend."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def __repr__(self) -> str:
        head = f"{'backend':<13}{'workers':>8}{'wall s':>10}{'speedup':>10}{'cores used':>12}"
        lines = [head]
        for r in self.rows:
            lines.append(f"{r['backend']:<13}{r['workers']:>8}{r['wall']:>10.3f}"
                         f"{r['speedup']:>9.2f}×{r['cores_used']:>12.2f}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{r['backend']}</td><td>{r['workers']}</td><td>{r['wall']:.3f}</td>"
            f"<td>{r['speedup']:.2f}×</td><td>{r['cores_used']:.2f}</td></tr>" for r in self.rows)
        return ("<table class='xparallel-compare'><thead><tr><th>backend</th><th>workers</th>"
                "<th>wall s</th><th>speedup vs serial</th><th>cores used</th></tr></thead>"
                f"<tbody>{cells}</tbody></table>")
