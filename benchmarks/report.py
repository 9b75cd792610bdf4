"""The suite's results as markdown tables (one per workload, every contender) and one chart."""

from __future__ import annotations

import math
from typing import Any

GROUP_COLOURS = {"xparallel": "#d62728", "stdlib": "#1f77b4", "peer": "#7f7f7f",
                 "baseline": "#2ca02c"}


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ordered(workload: dict) -> list[tuple[str, dict]]:
    key, higher = workload["key"], workload["higher_is_better"]
    done = [(n, r) for n, r in workload["rows"].items() if key in r]
    done.sort(key=lambda item: -item[1][key] if higher else item[1][key])
    return done + [(n, r) for n, r in workload["rows"].items() if key not in r]


def table(workload: dict, groups: dict[str, str]) -> str:
    key, unit = workload["key"], workload["unit"]
    second = workload.get("second")
    head = ["contender", "kind", f"{unit} (median)", "spread"]
    if second:
        head.append(second[1])
    head += ["results"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in ordered(workload):
        kind = groups.get(name, "")
        shown = f"**{name}**" if kind == "xparallel" else name
        if key not in row:
            cells = [shown, kind, "–", "–"] + (["–"] if second else []) + \
                [f"not run: {row.get('missing', '?')}"]
        else:
            low, high = row["spread"]
            cells = [shown, kind, _fmt(row[key]), f"{_fmt(low)}–{_fmt(high)}"]
            if second:
                cells.append(_fmt(row[second[0]]) if second[0] in row else "–")
            extra = f" ({row['items']:,} items)" if "items" in row else ""
            cells.append(("equal" if row.get("ok") else "**differ**") + extra)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(results: dict[str, Any], groups: dict[str, str], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(name, w) for name, w in results["workloads"].items() if w.get("rows")]
    extra = [(name, w) for name, w in panels if w.get("second")]
    count = len(panels) + len(extra)
    columns = 2
    rows_ = math.ceil(count / columns)
    figure, axes = plt.subplots(rows_, columns, figsize=(16, 4.2 * rows_), squeeze=False,
                                layout="constrained")
    cells = iter(axes.flat)
    for name, workload in panels + [(n, {**w, "key": w["second"][0], "unit": w["second"][1],
                                         "higher_is_better": False, "spreadless": True})
                                    for n, w in extra]:
        ax = next(cells)
        items = ordered(workload)
        labels, values, colours, errors = [], [], [], [[], []]
        for contender, row in items:
            short = contender.replace(" (2 items, magic end to end)", " (2 items)")
            labels.append(short if len(short) <= 30 else short[:29] + "…")
            value = row.get(workload["key"])
            values.append(value if value is not None else 0)
            colours.append(GROUP_COLOURS.get(groups.get(contender, ""), "#bbbbbb")
                           if value is not None else "#eeeeee")
            if value is not None and "spread" in row and not workload.get("spreadless"):
                errors[0].append(max(0, value - row["spread"][0]))
                errors[1].append(max(0, row["spread"][1] - value))
            else:
                errors[0].append(0)
                errors[1].append(0)
        positions = range(len(items))
        ax.barh(positions, values, color=colours, xerr=errors, capsize=2,
                error_kw={"elinewidth": 0.8})
        ax.set_yticks(list(positions), labels, fontsize=8)
        ax.invert_yaxis()
        positive = [v for v in values if v > 0]
        logarithmic = workload["key"] in ("us_per_item", "ms") and positive and \
            max(positive) / min(positive) > 50
        if logarithmic:
            ax.set_xscale("log")
        floor = min(positive) if logarithmic else 0
        for position, (value, (_, row)) in enumerate(zip(values, items)):
            text = _fmt(value) if workload["key"] in row else "not run"
            ax.text(max(value, floor), position, " " + text, va="center", fontsize=7)
        better = "higher is better" if workload["higher_is_better"] else "lower is better"
        ax.set_title(f"{workload['title'] if not workload.get('spreadless') else workload['title'] + ': peak memory'}"
                     f"\n{workload['unit']}, {better}", fontsize=9)
        if "ideal_seconds" in workload and workload["key"] == "of_ideal":
            ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    for ax in cells:
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in GROUP_COLOURS.values()]
    figure.legend(handles, list(GROUP_COLOURS), loc="outside upper right", ncol=4,
                  frameon=False)
    machine = results.get("machine", {})
    figure.suptitle(f"xparallel against what users pick instead — {machine.get('cpus')} cores, "
                    f"Python {machine.get('python')}, load average {machine.get('load_before', '?')}",
                    fontsize=11)
    figure.savefig(path, dpi=80)
    plt.close(figure)
