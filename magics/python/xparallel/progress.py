"""Live progress: one bar per worker and an overall bar (ipywidgets 8), or the same facts as text
when no widget front end is attached. Updated from the kernel's main thread, at most 10 times a
second (5 by default: each update is a handful of comm messages, and on a small machine the main
thread's time is the workers' loss), while the cell still runs."""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from .frontend import widgets_wanted

STATE_NAMES = {0: "starting", 1: "idle", 2: "busy", 3: "stopped"}
UPDATE_INTERVAL = 0.2


def make_progress(backend: str, workers: int, total: int | None, reason: str,
                  quiet: bool) -> "Progress":
    if quiet:
        return Progress(backend, workers, total, reason)
    if widgets_wanted():
        try:
            return WidgetProgress(backend, workers, total, reason)
        except ImportError:
            pass
    return TextProgress(backend, workers, total, reason)


def _eta(done: int, total: int | None, elapsed: float) -> str:
    if not total or done == 0 or done >= total:
        return ""
    seconds = elapsed * (total - done) / done
    return f" · ETA {seconds:.0f} s" if seconds >= 1 else " · ETA <1 s"


class Progress:
    """--quiet: only the summary line, at the end."""

    def __init__(self, backend: str, workers: int, total: int | None, reason: str) -> None:
        self.backend = backend
        self.workers = workers
        self.total = total
        self.reason = reason
        self._last = 0.0

    def start(self, job: Any) -> None:
        pass

    def update(self, job: Any) -> None:
        now = time.monotonic()
        if now - self._last >= UPDATE_INTERVAL:
            self._last = now
            self.draw(job)

    def draw(self, job: Any) -> None:
        pass

    def finish(self, job: Any, report: Any) -> None:
        print(report.summary(), file=sys.stdout)


class TextProgress(Progress):
    """No widget front end (nbconvert, console): the summary and one line per worker."""

    def finish(self, job: Any, report: Any) -> None:
        super().finish(job, report)
        per_worker = job.progress()[3]
        wall = max(report.wall, 1e-9)
        for number, (done, cpu, busy, state, failed) in enumerate(per_worker, 1):
            status = "failed" if failed else "done"
            print(f"  w{number}: {done:,} items · {status} · computing {min(1.0, cpu / wall):.0%}"
                  " of the wall time", file=sys.stdout)


class WidgetProgress(Progress):
    def __init__(self, backend: str, workers: int, total: int | None, reason: str) -> None:
        super().__init__(backend, workers, total, reason)
        import ipywidgets as w
        from IPython.display import display

        self._w = w
        title = f"<b>%%parallel</b> on {workers} {backend}" + (f" <i>({reason})</i>" if reason else "")
        self.title = w.HTML(title)
        self.overall = w.IntProgress(min=0, max=max(1, total or 1), value=0, bar_style="info",
                                     description="all", layout=w.Layout(width="60%"))
        self.overall_label = w.Label("starting")
        self.bars = [w.IntProgress(min=0, max=1, value=0, description=f"w{i + 1}",
                                   layout=w.Layout(width="60%")) for i in range(workers)]
        self.labels = [w.Label("starting") for _ in range(workers)]
        rows = [w.HBox([self.overall, self.overall_label])]
        rows += [w.HBox([bar, label]) for bar, label in zip(self.bars, self.labels)]
        self.summary = w.HTML("")
        self.box = w.VBox([self.title, *rows, self.summary])
        self.box.add_class("xparallel-progress")
        display(self.box)

    def draw(self, job: Any, final: bool = False) -> None:
        dispatched, collected, total, per_worker = job.progress()
        elapsed = max(job.elapsed, 1e-9)
        known = total if total is not None else self.total
        # One message per widget and update: on 2 cores, the main thread's work is the workers' loss.
        with self.overall.hold_sync():
            self.overall.max = max(1, known if known is not None else max(dispatched, collected))
            self.overall.value = collected
        rate = collected / elapsed
        shown_total = f" / {known:,}" if known is not None else ""
        self.overall_label.value = (f"{collected:,}{shown_total} items · {rate:,.0f} items/s"
                                    + ("" if final else _eta(collected, known, elapsed)))
        expected = math.ceil(known / self.workers) if known else max(
            [p[0] for p in per_worker] + [1])
        for bar, label, (done, cpu, busy, state, failed) in zip(self.bars, self.labels, per_worker):
            name = "failed" if failed else ("done" if final else STATE_NAMES.get(state, "?"))
            with bar.hold_sync():
                bar.max = max(1, expected, done)
                bar.value = done
                bar.bar_style = {"failed": "danger", "busy": "info", "done": "success"}.get(name, "")
            label.value = f"{done:,} items · {name} · computing {min(1.0, cpu / elapsed):.0%}"

    def finish(self, job: Any, report: Any) -> None:
        self.draw(job, final=True)
        self.overall.bar_style = "danger" if report.status != "ok" else "success"
        self.summary.value = f"<code>{report.summary()}</code>"
