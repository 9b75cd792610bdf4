"""Charts after a run: the per-worker timeline (--timeline) and the backend comparison (--compare),
as matplotlib figures shown inline (PNG)."""

from __future__ import annotations

from typing import Any

from IPython.display import display


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
    """One row per worker, one bar per chunk, coloured by share of the chunk spent on CPU."""
    figure = _figure(8, 0.6 + 0.45 * report.workers)
    axes = figure.add_subplot()
    for worker, first, count, start, end, cpu, *_ in report.timeline:  # 6 or 7 fields
        busy = min(1.0, cpu / (end - start)) if end > start else 1.0
        axes.barh(worker, end - start, left=start, height=0.6,
                  color=(0.12, 0.31 + 0.3 * (1 - busy), 0.47), edgecolor="white", linewidth=0.5)
    axes.set_yticks(range(1, report.workers + 1), [f"w{i}" for i in range(1, report.workers + 1)])
    axes.invert_yaxis()
    axes.set_xlabel("seconds since the cell started")
    axes.set_title(f"{report.items:,} items on {report.workers} {report.backend}: one bar per chunk")
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
    for i, r in enumerate(rows):
        wall.annotate(f"{r['speedup']:.2f}×", (i, r["wall"]), ha="center", va="bottom")
    cores.bar(names, [r["cores_used"] for r in rows], color="#f2c14e")
    cores.set_ylabel("cores used")
    figure.suptitle("the same cell on each backend")
    figure.tight_layout()
    _show(figure)
