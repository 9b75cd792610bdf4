"""Live progress: one bar per worker and an overall bar (ipywidgets 8), or the same facts as text
when no widget front end is attached. Updated from the kernel's main thread, at most 10 times a
second (5 by default: each update is a handful of comm messages, and on a small machine the main
thread's time is the workers' loss), while the cell still runs.

When the run ends the widgets are replaced, in place, by a static rendering of the final bars and
the summary (HTML and text), and their comms are closed: a saved notebook shows the run without a
kernel (nbviewer, GitHub, a reopened notebook), and the kernel keeps no widget per cell."""

from __future__ import annotations

import html
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

from .frontend import widgets_wanted
from .records import WorkerState
from .report import plural, workers_phrase

UPDATE_INTERVAL = 0.2
LEGEND = ("Each worker's bar counts its own items (full when it has none left); CPU % is the share "
          "of the run's wall time that worker spent computing on a core.")
BAR_CHARS = 30
_EIGHTHS = " ▏▎▍▌▋▊▉"


def make_progress(backend: str, workers: int, total: int | None, reason: str,
                  quiet: bool, silent: bool = False, replaces: Any = None) -> "Progress":
    """`quiet`: the summary line only; `silent`: nothing shown (a run inside --compare, whose
    table and final summary come after every backend ran), the run still measured. `replaces`:
    the display a withdrawn attempt left (`Progress.withdraw`), drawn over in place."""
    if silent:
        return SilentProgress(backend, workers, total, reason)
    if quiet:
        return Progress(backend, workers, total, reason)
    if widgets_wanted():
        try:
            return WidgetProgress(backend, workers, total, reason, replaces=replaces)
        except ImportError:
            pass
    return TextProgress(backend, workers, total, reason)


def _eta(done: int, total: int | None, elapsed: float) -> str:
    if not total or done == 0 or done >= total:
        return ""
    seconds = elapsed * (total - done) / done
    return f" · ETA {seconds:.0f} s" if seconds >= 1 else " · ETA <1 s"


@dataclass
class Bar:
    name: str
    value: int
    maximum: int
    style: str         # "", info, success, danger (ipywidgets' bar styles)
    label: str


def text_bar(value: int, maximum: int, width: int = BAR_CHARS) -> str:
    """A bar of block characters that any renderer shows (GitHub strips inline styles)."""
    share = 0.0 if maximum <= 0 else min(1.0, value / maximum)
    eighths = round(share * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part else "")
    return bar + " " * (width - len(bar))


def bars(job: Any, expected_total: int | None, final: bool) -> list[Bar]:
    """The overall bar and one per worker, with what they mean:
    - a worker's bar is its items done over its own items: those done plus its share of what is
      not done yet while it works; full once it has nothing left (at the end, always);
    - with an unknown total no bar is full before the end."""
    dispatched, collected, total, per_worker = job.progress()
    elapsed = max(job.elapsed, 1e-9)
    known = total if total is not None else expected_total
    if final:
        overall_max = known if known is not None else collected
    else:
        overall_max = known if known is not None else max(dispatched, collected) + 1
    rate = collected / elapsed
    label = (f"{collected:,}" + (f" / {known:,}" if known is not None else "") + " items"
             + f" · {rate:,.0f} items/s" + ("" if final else _eta(collected, known, elapsed)))
    failed_any = any(p[4] for p in per_worker)
    style = ("danger" if failed_any else "success") if final else "info"
    rows = [Bar("all", collected, max(1, overall_max), style, label)]

    working = sum(1 for p in per_worker if p[3] == WorkerState.BUSY) or 1
    leader = max([p[0] for p in per_worker] + [0])
    for number, (done, cpu, busy, state, failed) in enumerate(per_worker, 1):
        if final:
            maximum = done
        elif known is None:
            maximum = math.ceil(leader * 1.25) + 1  # the leader stays short of full
        else:
            left = max(0, known - collected)
            if state == WorkerState.BUSY:
                maximum = done + max(1, math.ceil(left / working))
            else:  # idle: full once nothing is left to hand out
                maximum = done + (0 if known - dispatched <= 0 else math.ceil(left / working))
        name = "failed" if failed else ("done" if final else WorkerState(state).label)
        bar_style = {"failed": "danger", "working": "info", "done": "success"}.get(name, "")
        rows.append(Bar(f"w{number}", done, max(1, maximum), bar_style,
                        f"{plural(done, 'item')} · {name} · CPU {min(1.0, cpu / elapsed):.0%} "
                        "of the wall time"))
    return rows


def title_text(backend: str, workers: int, reason: str) -> str:
    return f"%%parallel on {workers_phrase(backend, workers)}" + (f" ({reason})" if reason else "")


# The widgets' own palette (ipywidgets' progress-bar styles), through the theme's variables so that
# light and dark themes colour the static bars as they colour the live ones; the fallbacks are
# JupyterLab's light theme, for renderers without those variables (nbviewer).
_FILL = {"success": "var(--jp-success-color1,#388e3c)", "danger": "var(--jp-error-color1,#d32f2f)",
         "info": "var(--jp-info-color1,#0097a7)", "": "var(--jp-brand-color1,#1976d2)"}
_TRACK = "var(--jp-layout-color2,#eee)"
_TEXT = ("font-size:var(--jp-widgets-font-size,var(--jp-ui-font-size1,13px));"
         "color:var(--jp-widgets-color,var(--jp-content-font-color1,inherit))")
# The live rows' geometry (ipywidgets' CSS): rows 28 px high with 2 px margins, the bar widget
# 60 % of the row, its 80 px right-aligned description 8 px before a 20 px track. Rendered HTML
# has 20 px of right padding that widget output has not (JupyterLab and Notebook 7): 60 % of the
# widget's row is 60 % of (this row + 20 px).
_ROW = "display:flex;align-items:center;height:28px;margin:2px 0"
_BAR = ("display:flex;align-items:center;width:calc((100% + 20px) * 0.6);flex:none;margin:0 2px;"
        "box-sizing:border-box")
_NAME = "width:80px;flex:none;text-align:right;margin-right:8px;overflow:hidden"


def static_html(title: str, rows: list[Bar], summary: str) -> str:
    """The final bars and the summary as plain HTML laid out as the live widgets are (same widths,
    heights and colours), so a saved notebook shows what the user watched. Where a renderer
    strips styles (GitHub) the names and labels still read; text/plain has block-character bars."""
    lines = []
    for bar in rows:
        share = 0.0 if bar.maximum <= 0 else min(1.0, bar.value / bar.maximum)
        lines.append(
            f"<div class='xparallel-row' data-bar='{html.escape(bar.name)}' style='{_ROW}'>"
            f"<div style='{_BAR}'><span style='{_NAME}'>{html.escape(bar.name)}</span>"
            f"<div class='xparallel-track' style='flex-grow:1;height:20px;background:{_TRACK}'>"
            f"<div class='xparallel-fill' style='width:{share:.1%};height:100%;"
            f"background:{_FILL.get(bar.style, _FILL[''])}'></div></div></div>"
            f"<span class='xparallel-label' style='margin:0 2px;white-space:nowrap;"
            f"overflow:hidden;text-overflow:ellipsis;min-width:0'>"
            f"{html.escape(bar.label)}</span></div>")
    return (f"<div class='xparallel-progress xparallel-static' style='{_TEXT}'>"
            f"<div style='margin:2px'><b>{html.escape(title)}</b></div>{''.join(lines)}"
            f"<div class='xparallel-summary' style='margin:2px'>{html.escape(summary)}</div>"
            f"<div style='margin:2px;font-size:smaller;opacity:0.7'>{html.escape(LEGEND)}</div>"
            "</div>")


def static_text(title: str, rows: list[Bar], summary: str) -> str:
    width = max(len(bar.name) for bar in rows)
    lines = [title]
    lines += [f"{bar.name:<{width}} |{text_bar(bar.value, bar.maximum)}| {bar.label}" for bar in rows]
    lines += [summary]
    return "\n".join(lines)


class Progress:
    """--quiet: only the summary line, at the end. The report it shows was measured by the run
    (`measure.RunClock` around it, for "cores used")."""

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

    def withdraw(self) -> Any:
        """Ends a run that did not count (auto moved it elsewhere): nothing of it stays shown.
        Returns the display the next run may draw in (None: nothing was displayed)."""
        return None


class SilentProgress(Progress):
    def finish(self, job: Any, report: Any) -> None:
        pass


class TextProgress(Progress):
    """No widget front end (nbconvert, console): the summary and one line per worker."""

    def finish(self, job: Any, report: Any) -> None:
        super().finish(job, report)
        for bar in bars(job, self.total, final=True)[1:]:
            print(f"  {bar.name}: {bar.label}", file=sys.stdout)


def _widget_tree(widget: Any) -> list[Any]:
    """The widget and everything it owns that has a comm (children, layouts, styles)."""
    found, stack = [], [widget]
    while stack:
        current = stack.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        stack.extend(getattr(current, "children", ()) or ())
        for owned in ("layout", "style"):
            stack.append(getattr(current, owned, None))
    return found


class WidgetProgress(Progress):
    def __init__(self, backend: str, workers: int, total: int | None, reason: str,
                 replaces: Any = None) -> None:
        super().__init__(backend, workers, total, reason)
        import ipywidgets as w
        from IPython.display import display

        self._title = title_text(backend, workers, reason)
        self.title = w.HTML(f"<b>{html.escape(self._title)}</b>")
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
        if replaces is not None:
            replaces.update(self.box)
            self._handle = replaces
        else:
            self._handle = display(self.box, display_id=True)

    def draw(self, job: Any, final: bool = False) -> list[Bar]:
        rows = bars(job, self.total, final)
        widgets = [(self.overall, self.overall_label),
                   *zip(self.bars, self.labels)]
        # One message per widget and update: on 2 cores, the main thread's work is the workers' loss.
        for (bar, label), row in zip(widgets, rows):
            with bar.hold_sync():
                bar.max = row.maximum
                bar.value = row.value
                bar.bar_style = row.style
            label.value = row.label
        return rows

    def finish(self, job: Any, report: Any) -> None:
        rows = bars(job, self.total, final=True)
        if report.status != "ok":
            rows[0].style = "danger"
        summary = report.summary()
        static = {"text/html": static_html(self._title, rows, summary),
                  "text/plain": static_text(self._title, rows, summary)}
        if self._handle is not None:
            self._handle.update(static, raw=True)
        else:  # no display id (a front end without them): the static copy below the widgets
            from IPython.display import publish_display_data

            publish_display_data(static)
        self._close_widgets()

    def withdraw(self) -> Any:
        super().withdraw()
        self._close_widgets()
        return self._handle

    def _close_widgets(self) -> None:
        for widget in _widget_tree(self.box):
            _close(widget)


def _close(widget: Any) -> None:
    """Closes the widget's comm and lets go of it: a closed comm that something still holds
    (a kernel's comm registry) must not keep the widget, its state and its callbacks alive."""
    comm = getattr(widget, "comm", None)
    widget.close()
    if comm is not None:
        comm.on_msg(None)
        comm.on_close(None)
