"""Charts after a run: the per-worker timeline (--timeline) and the backend comparison (--compare),
as matplotlib figures shown inline (PNG)."""

from __future__ import annotations

from typing import Any

from IPython.display import display

from .platform_reads import NOT_MEASURED
from .report import plural, workers_phrase


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    return Figure(figsize=(width, height), dpi=100)


def _show(figure: Any) -> None:
    import io

    from IPython.display import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    display(Image(buffer.getvalue(), format="png"))


def show_timeline(report: Any) -> None:
    """One row per worker, one bar per chunk, coloured by share of the chunk spent on CPU; a
    chunk's time spent waiting for a core (a busy machine) is hatched at its end."""
    figure = _figure(8, 0.6 + 0.45 * report.workers)
    axes = figure.add_subplot()
    for worker, first, count, start, end, cpu, *rest in report.timeline:
        wait = min(rest[0] if rest else 0.0, max(0.0, end - start))
        busy = min(1.0, cpu / (end - start)) if end > start else 1.0
        axes.barh(worker, end - start, left=start, height=0.6,
                  color=(0.12, 0.31 + 0.3 * (1 - busy), 0.47), edgecolor="white", linewidth=0.5)
        if wait > 0:
            axes.barh(worker, wait, left=end - wait, height=0.6, color="none",
                      edgecolor="#f2c14e", hatch="///", linewidth=0)
    axes.set_yticks(range(1, report.workers + 1), [f"w{i}" for i in range(1, report.workers + 1)])
    axes.invert_yaxis()
    axes.set_xlabel("seconds since the cell started")
    # Where waits are not measured (macOS, Windows) no chunk is hatched: the legend says why.
    waits = ("hatched: waiting for a core" if report.wait is not None
             else f"waiting for a core: {NOT_MEASURED}")
    axes.set_title(f"{plural(report.items, 'item')} on {workers_phrase(report.backend, report.workers)}"
                   f": one bar per chunk (darker: more CPU; {waits})")
    figure.tight_layout()
    _show(figure)


def show_comparison(comparison: Any, quiet: bool = False) -> None:
    if quiet:
        return
    rows = comparison.rows
    figure = _figure(8, 3)
    wall, cores = figure.subplots(1, 2)
    names = [r["backend"] for r in rows]
    wall.bar(names, [r["wall"] for r in rows], color="#1f4e79")
    wall.set_ylabel("wall time (s)")
    wall.set_title("speedup measured against serial", fontsize=9)
    for i, r in enumerate(rows):
        wall.annotate(f"{r['speedup']:.2f}×", (i, r["wall"]), ha="center", va="bottom")
    cores.bar(names, [r["cores_used"] for r in rows], color="#f2c14e")
    cores.set_ylabel("cores used")
    cores.set_title("CPU of every thread / wall time", fontsize=9)
    figure.suptitle("the same cell on each backend")
    figure.tight_layout()
    _show(figure)
