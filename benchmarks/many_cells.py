"""A long session: 500 `%%parallel` cells with widgets in the xparallel kernel, a widget front end
attached (the control comm Notebook 7's manager opens). The kernel's memory (RSS and PSS) after
cell 50, and how much it grows over the cells that follow (goal: ≤ 10 MB).

    scripts/devroot run python3 -m benchmarks.many_cells [--cells 500] [--after 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CELL = "%%parallel -b interpreters -w 2 --chunksize 1\nr = [x * x for x in range(8)]"


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of the kernel process, in KB."""
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--after", type=int, default=50, help="the baseline: after this cell")
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "progress")]
    from kernel_client import execute, start, stop
    from test_progress import attach_widget_front_end

    km, kc = start("xparallel")
    marks: list[tuple[int, int, int, float]] = []
    try:
        attach_widget_front_end(kc)
        pid = km.provisioner.process.pid
        started = time.perf_counter()
        step = max(1, (args.cells - args.after) // 4)
        for number in range(1, args.cells + 1):
            run = execute(kc, CELL)
            assert run.status == "ok", run.stderr
            assert run.of_type("comm_open"), "no widgets: is a widget front end attached?"
            if number == args.after or (number > args.after and
                                        (number - args.after) % step == 0) or number == args.cells:
                marks.append((number, *memory_kb(pid), time.perf_counter() - started))
    finally:
        stop(km, kc)
    base = marks[0]
    print(f"load average {os.getloadavg()[0]:.2f}; {args.cells} cells with widgets, "
          f"baseline after cell {args.after}")
    print(f"{'after cell':>10}{'RSS MB':>10}{'PSS MB':>10}{'RSS growth MB':>15}{'KB/cell':>10}"
          f"{'s':>8}")
    for number, rss, pss, seconds in marks:
        cells = number - base[0]
        growth = (rss - base[1]) / 1024
        print(f"{number:>10}{rss / 1024:>10.1f}{pss / 1024:>10.1f}{growth:>15.2f}"
              f"{(rss - base[1]) / cells if cells else 0:>10.1f}{seconds:>8.1f}")
    last = marks[-1]
    return {"cells": args.cells, "after": args.after, "growth_mb": (last[1] - base[1]) / 1024,
            "marks": marks}


if __name__ == "__main__":
    main()
