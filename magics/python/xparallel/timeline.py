"""Charts after a run: the per-worker timeline (--timeline) and the backend comparison (--compare),
as matplotlib figures shown inline (PNG). Each chart is built by a function that returns the
figure (what the layout tests measure) and shown by another.

Made to be projected: horizontal bars, so backend names never collide; a constrained layout, so
titles, tick labels and the figures written beside the bars keep apart; every figure written
inside its panel (the panel widens to hold it)."""

from __future__ import annotations

from typing import Any

from IPython.display import display

from .platform_reads import NOT_MEASURED
from .report import baseline_backend, plural, speedup_cells, workers_phrase

FONT = 11
WIDTH = 7.2  # inches at 100 dpi: 720 px, the output width of JupyterLab on a 1024 px projector
WALL_COLOUR, CORES_COLOUR = "#1f4e79", "#f2c14e"
LEGEND = "one bar per chunk; darker: more CPU; hatched: waiting for a core"


def legend(report: Any) -> str:
    """Where waits are not measured (macOS, Windows) no chunk is hatched: the legend says why."""
    if getattr(report, "wait", 0.0) is not None:
        return LEGEND
    return f"one bar per chunk; darker: more CPU; waiting for a core: {NOT_MEASURED}"


def seconds(value: float) -> str:
    """"0.37 s", "12 ms", "0.4 ms": a short run's time still reads (not "0.00 s")."""
    if value >= 0.1:
        return f"{value:.2f} s"
    return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # a renderer to measure texts with, and to save the PNG
    return figure


def _show(figure: Any) -> None:
    import io

    from IPython.display import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    display(Image(buffer.getvalue(), format="png"))


def _draw_chunks(axes: Any, report: Any) -> None:
    """One row per worker, one bar per chunk, coloured by share of the chunk spent on CPU; a
    chunk's time spent waiting for a core (a busy machine) is hatched at its end."""
    for worker, first, count, start, end, cpu, *rest in report.timeline:
        wait = min(rest[0] if rest else 0.0, max(0.0, end - start))
        busy = min(1.0, cpu / (end - start)) if end > start else 1.0
        axes.barh(worker, end - start, left=start, height=0.6,
                  color=(0.12, 0.31 + 0.3 * (1 - busy), 0.47), edgecolor="white", linewidth=0.5)
        if wait > 0:
            axes.barh(worker, wait, left=end - wait, height=0.6, color="none",
                      edgecolor="#f2c14e", hatch="///", linewidth=0)
    axes.set_yticks(range(1, report.workers + 1), [f"w{i}" for i in range(1, report.workers + 1)])
    axes.set_ylim(report.workers + 0.6, 0.4)  # w1 on top
    axes.tick_params(labelsize=FONT - 1)


def timeline_figure(report: Any) -> Any:
    figure = _figure(WIDTH, 1.3 + 0.4 * report.workers)
    axes = figure.add_subplot()
    _draw_chunks(axes, report)
    axes.set_xlabel("seconds since the run started", fontsize=FONT)
    axes.set_title(f"{plural(report.items, 'item')} on "
                   f"{workers_phrase(report.backend, report.workers)}\n{legend(report)}", fontsize=FONT)
    return figure


def show_timeline(report: Any) -> None:
    _show(timeline_figure(report))


def comparison_timelines_figure(reports: dict[str, Any]) -> Any:
    """Every backend's fastest run, one panel each, on one time axis: the same work, side by side."""
    heights = [0.8 + 0.4 * report.workers for report in reports.values()]
    figure = _figure(WIDTH, 1.0 + sum(heights))
    panels = figure.subplots(len(reports), 1, sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": heights})[:, 0]
    for axes, (name, report) in zip(panels, reports.items()):
        _draw_chunks(axes, report)
        axes.set_title(f"{name}: {seconds(report.wall)} on {workers_phrase(name, report.workers)}",
                       fontsize=FONT, loc="left")
    panels[-1].set_xlim(0, None)  # every run from its own start
    panels[-1].set_xlabel("seconds since the backend's run started", fontsize=FONT)
    figure.suptitle(f"When each chunk ran ({legend(next(iter(reports.values())))})", fontsize=FONT)
    return figure


def show_comparison_timelines(reports: dict[str, Any], table: Any) -> None:
    """--timeline under --compare: every backend's timeline, or one line saying why not."""
    if not reports or not any(report.timeline for report in reports.values()):
        print("--timeline: no backend ran a chunk, so there is no timeline to show")
        return
    _show(comparison_timelines_figure(reports))
    skipped = [r["backend"] for r in table.rows if not r.get("possible", True)]
    if skipped:
        print(f"--timeline: no timeline for {', '.join(skipped)} (it could not run this cell)")


def _fit_texts(figure: Any, axes: Any, texts: list[Any]) -> None:
    """Widens `axes`' x range until every text written beside a bar ends inside the panel."""
    for _ in range(3):
        figure.draw_without_rendering()
        renderer = figure.canvas.get_renderer()
        right = axes.get_window_extent(renderer).x1
        reach = max((t.get_window_extent(renderer).x1 for t in texts), default=right)
        if reach <= right - 4:
            return
        low, high = axes.get_xlim()
        box = axes.get_window_extent(renderer)
        per_pixel = (high - low) / max(1.0, box.width)
        axes.set_xlim(low, high + (reach - right + 12) * per_pixel)


def comparison_figure(comparison: Any) -> Any:
    """Wall time (with each speedup beside its bar) and cores used, one bar per backend."""
    from matplotlib.ticker import MaxNLocator

    rows = comparison.rows
    speedups, _ = speedup_cells(rows)
    figure = _figure(WIDTH, 1.4 + 0.45 * len(rows))
    wall, cores = figure.subplots(1, 2, sharey=True, width_ratios=[3, 2])
    names = [r["backend"] for r in rows]
    places = range(len(rows))
    # A short run's walls in ms: tick labels such as 0.0025 would run into each other.
    scale, unit = (1000, "ms") if max(r["wall"] for r in rows) < 0.1 else (1, "s")
    wall.barh(places, [r["wall"] * scale for r in rows], height=0.6, color=WALL_COLOUR)
    wall.set_yticks(places, names, fontsize=FONT)
    wall.invert_yaxis()  # serial on top, as in the table
    texts = []
    for place, r, speedup in zip(places, rows, speedups):
        baseline = baseline_backend()
        said = f"{baseline} baseline" if r["backend"] == baseline else (
            f"{speedup} vs {baseline}" if speedup.endswith("×") else "speedup " + speedup)
        texts.append(wall.annotate(f" {seconds(r['wall'])} · {said}", (r["wall"] * scale, place),
                                   ha="left", va="center", fontsize=FONT - 1))
    wall.set_xlabel(f"wall time ({unit}): shorter is faster", fontsize=FONT)
    wall.set_title("wall time and speedup", fontsize=FONT)
    cores.barh(places, [r["cores_used"] for r in rows], height=0.6, color=CORES_COLOUR)
    marks = [cores.annotate(f" {r['cores_used']:.2f}", (r["cores_used"], place), ha="left",
                            va="center", fontsize=FONT - 1) for place, r in zip(places, rows)]
    cores.tick_params(axis="y", left=False, labelleft=False)
    cores.set_xlabel("CPU time / wall time", fontsize=FONT)
    cores.set_title("cores used", fontsize=FONT)
    for axes in (wall, cores):
        axes.tick_params(axis="x", labelsize=FONT - 1)
        axes.xaxis.set_major_locator(MaxNLocator(nbins=5))  # few ticks, however wide the range
        axes.set_xlim(0, None)
    figure.suptitle("The same cell on each backend (speedups measured against the serial run)",
                    fontsize=FONT + 1)
    _fit_texts(figure, wall, texts)
    _fit_texts(figure, cores, marks)
    return figure


def show_comparison(comparison: Any, quiet: bool = False) -> None:
    if quiet or not comparison.rows:
        return
    _show(comparison_figure(comparison))
