"""Issue 23: the `--compare` picture. A measured ratio above the cores used (or from a serial run
too short to measure) is never shown as a speedup; the chart's texts keep apart, as matplotlib's
renderer lays them out."""

from __future__ import annotations

import math
from itertools import combinations

import pytest

from xparallel import timeline
from xparallel.measure import Usage
from xparallel.report import Comparison, ParallelReport, compare_rows


def run(backend: str, workers: int, wall: float, cpu: float, chunks: int = 8) -> ParallelReport:
    """A run of 64 items as the backend would report it: `cpu` s over the process tree."""
    step = wall / max(1, chunks // workers)
    timeline_rows = [(1 + k % workers, 8 * k, 8, (k // workers) * step, (k // workers + 1) * step,
                      cpu / chunks, 0.0) for k in range(chunks)]
    return ParallelReport(backend=backend, workers=workers, reason="", status="ok", items=64,
                          wall=wall, timeline=timeline_rows, errors=[],
                          usage=Usage(cpu=cpu, wall=wall))


def jupyterlab_run() -> dict[str, ParallelReport]:
    """The figures the issue saw: 64 × fib(24), serial first and slower than the work is."""
    return {"serial": run("serial", 1, 0.37, 0.37), "threads": run("threads", 2, 0.316, 0.32),
            "processes": run("processes", 2, 0.20, 0.34),
            "interpreters": run("interpreters", 2, 0.16, 0.285)}


def shown(rows: list[dict], final: ParallelReport) -> str:
    table = Comparison(rows)
    return "\n".join([repr(table), table._repr_html_(), final.summary()])


# ---- what the figures may claim -------------------------------------------------------------------
def test_a_speedup_above_the_cores_used_is_not_shown():
    runs = jupyterlab_run()
    rows = {r["backend"]: r for r in compare_rows(runs)}
    text = shown(list(rows.values()), runs["interpreters"])
    for name in ("threads", "processes", "interpreters"):
        report, row = runs[name], rows[name]
        ratio = runs["serial"].wall / report.wall
        assert ratio > report.cores_used  # what the measurement gave...
        assert math.isnan(row["speedup"]) and math.isnan(report.speedup)  # ...is not a speedup
        assert "slower than the work is" in row.get("speedup_note", "")
        assert f"{ratio:.2f}×" not in text, text
    assert "not measurable" in repr(Comparison(list(rows.values())))
    assert "speedup not measurable" in runs["interpreters"].summary()
    assert "measured against a serial run" not in runs["interpreters"].summary()


def test_a_speedup_within_the_cores_used_is_shown():
    runs = {"serial": run("serial", 1, 1.52, 1.52), "threads": run("threads", 2, 1.55, 1.56),
            "interpreters": run("interpreters", 2, 0.81, 1.59)}
    rows = {r["backend"]: r for r in compare_rows(runs)}
    assert rows["interpreters"]["speedup"] == pytest.approx(1.52 / 0.81)
    assert rows["interpreters"].get("speedup_note", "") == ""
    assert "1.88×" in repr(Comparison(list(rows.values())))
    assert "speedup 1.88× measured against a serial run (1.52 s)" in runs["interpreters"].summary()


def test_waits_that_run_side_by_side_are_a_real_speedup():
    # Items that sleep: the serial run waited 3.2 s, 8 threads overlap the waits with no core.
    runs = {"serial": run("serial", 1, 3.2, 0.01), "threads": run("threads", 8, 0.41, 0.02)}
    rows = {r["backend"]: r for r in compare_rows(runs)}
    assert rows["threads"]["speedup"] == pytest.approx(3.2 / 0.41)
    assert rows["threads"]["speedup"] > rows["threads"]["cores_used"]


def test_a_serial_run_too_short_to_measure_gives_no_speedup():
    runs = {"serial": run("serial", 1, 0.012, 0.012), "interpreters": run("interpreters", 2, 0.01, 0.012)}
    rows = {r["backend"]: r for r in compare_rows(runs)}
    assert math.isnan(rows["interpreters"]["speedup"])
    assert "under the 50 ms" in rows["interpreters"].get("speedup_note", "")
    assert "not measurable" in runs["interpreters"].summary()


# ---- the chart's layout, as the renderer places it ------------------------------------------------
def drawn(monkeypatch, show, *args) -> object:
    """The figure `show(*args)` would display, laid out as it would be saved."""
    figures = []
    monkeypatch.setattr(timeline, "_show", figures.append)
    show(*args)
    assert len(figures) == 1
    figure = figures[0]
    if not hasattr(figure.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(figure)
    figure.canvas.draw()
    return figure


def boxes(figure, texts) -> list[tuple[str, object]]:
    renderer = figure.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts
            if t.get_visible() and t.get_text().strip()]


def apart(named: list[tuple[str, object]]) -> None:
    for (a, box_a), (b, box_b) in combinations(named, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"


def drawn_ticks(axis) -> list:
    """The tick labels the axis draws: those within its view (the locator offers more)."""
    low, high = sorted(axis.get_view_interval())
    index = 0 if axis.axis_name == "x" else 1
    return [label for label in axis.get_ticklabels()
            if low - 1e-9 <= label.get_position()[index] <= high + 1e-9]


def check_layout(figure) -> None:
    whole = figure.bbox
    titles = ([figure._suptitle] if figure._suptitle is not None else [])
    for axes in figure.axes:
        apart(boxes(figure, drawn_ticks(axes.xaxis)))
        apart(boxes(figure, drawn_ticks(axes.yaxis)))
        titles += [axes.title, axes._left_title, axes._right_title]
    written = [t for axes in figure.axes for t in axes.texts]
    apart(boxes(figure, titles) + boxes(figure, written))  # no figure runs into a title
    renderer = figure.canvas.get_renderer()
    for axes in figure.axes:
        inside = axes.get_window_extent(renderer)
        for text, box in boxes(figure, axes.texts):
            assert inside.x0 <= box.x0 and box.x1 <= inside.x1, f"{text!r} leaves its panel"
            assert inside.y0 <= box.y0 and box.y1 <= inside.y1, f"{text!r} leaves its panel"
    everything = titles + written + [t for axes in figure.axes for t in
                                     drawn_ticks(axes.xaxis) + drawn_ticks(axes.yaxis)
                                     + [axes.xaxis.label, axes.yaxis.label]]
    for text, box in boxes(figure, everything):
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1 + 0.5, f"{text!r} is cut off"
        assert whole.y0 <= box.y0 and box.y1 <= whole.y1 + 0.5, f"{text!r} is cut off"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backends", ["four", "with dask", "milliseconds"])
def test_the_comparison_chart_keeps_its_texts_apart(monkeypatch, backends):
    runs = jupyterlab_run()
    if backends == "milliseconds":  # 8 tiny items, as the browser test runs
        runs = {name: run(name, 1 if name == "serial" else 2, wall, wall * 0.9) for name, wall
                in (("serial", 0.0012), ("threads", 0.0017), ("processes", 0.0053),
                    ("interpreters", 0.0026))}
    if backends == "with dask":
        runs["dask"] = run("dask", 2, 0.9, 0.5)
        runs["serial"] = run("serial", 1, 12.0, 12.0)  # long and short bars in one panel
    figure = drawn(monkeypatch, timeline.show_comparison, Comparison(compare_rows(runs)))
    check_layout(figure)
    for axes in figure.axes:  # the wall time's own axis never claims to be a speedup
        labels = " ".join([axes.get_xlabel(), axes.get_ylabel()])
        if "wall time" in labels:
            assert "speedup measured against serial" not in labels + axes.get_title()


@pytest.mark.timeout(60)
def test_the_timeline_keeps_its_texts_apart(monkeypatch):
    figure = drawn(monkeypatch, timeline.show_timeline, jupyterlab_run()["interpreters"])
    check_layout(figure)


# ---- how the walls are taken: every backend alike, in bounded time -------------------------------
def test_each_backend_runs_first_in_some_round_and_last_in_another():
    from xparallel.compare import rounds_order

    names = ["serial", "threads", "processes", "interpreters"]
    orders = [rounds_order(names, k) for k in range(len(names))]
    assert {order[0] for order in orders} == set(names)
    assert {order[-1] for order in orders} == set(names)
    assert all(sorted(order) == sorted(names) for order in orders)


@pytest.mark.parametrize("round_seconds, expected", [(15.0, 1), (2.4, 2), (1.2, 4), (0.05, 5)])
def test_rounds_stop_within_the_budget(round_seconds, expected):
    from xparallel.compare import MAX_ROUNDS, ROUNDS_BUDGET, more_rounds

    rounds = 1  # the first round always runs: a 5 s cell's --compare costs one round
    while more_rounds(rounds, rounds * round_seconds):
        rounds += 1
    assert rounds == expected
    assert rounds == 1 or rounds * round_seconds <= ROUNDS_BUDGET
    assert rounds <= MAX_ROUNDS


def test_a_serial_run_that_waited_for_a_core_says_so():
    serial = ParallelReport(backend="serial", workers=1, reason="", status="ok", items=64,
                            wall=1.0, timeline=[(1, 0, 64, 0.0, 1.0, 0.6, 0.4)], errors=[],
                            usage=Usage(cpu=0.6, wall=1.0, wait=0.4))
    runs = {"serial": serial, "interpreters": run("interpreters", 2, 0.4, 0.62)}
    rows = {r["backend"]: r for r in compare_rows(runs)}
    assert math.isnan(rows["interpreters"]["speedup"])  # 2.5 over 1.55 cores
    assert "0.40 s of it waiting for a core" in rows["interpreters"]["speedup_note"]


def test_clock_granularity_is_not_taken_for_waits_to_overlap():
    # A CPU-bound serial run whose CPU reads 20 ms short of its wall (10 ms ticks): no waits.
    runs = {"serial": run("serial", 1, 0.37, 0.35), "interpreters": run("interpreters", 2, 0.19, 0.36)}
    rows = {r["backend"]: r for r in compare_rows(runs)}
    # 1.95 over 1.89 cores: counted as a wait to overlap, the 20 ms would have let it through.
    assert math.isnan(rows["interpreters"]["speedup"])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scale", [1.0, 0.01], ids=["tenths of seconds", "milliseconds"])
def test_the_timelines_under_compare_keep_their_texts_apart(monkeypatch, scale):
    runs = {name: run(name, report.workers, report.wall * scale, report.cpu * scale)
            for name, report in jupyterlab_run().items()}
    figure = drawn(monkeypatch, timeline.show_comparison_timelines, runs,
                   Comparison(compare_rows(runs)))
    check_layout(figure)
    assert len(figure.axes) == 4  # one panel per backend
