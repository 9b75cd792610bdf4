"""Kernel memory per %%parallel cell with a widget front end attached (not a test: a measurement).

    scripts/devroot run python3 tests/progress/memory_per_cell.py [cells] [widgets|quiet|plain]

Starts the xparallel kernel, makes it think Notebook 7's widget manager is connected, runs a
short %%parallel cell many times and prints the kernel's RSS growth per cell after a warm-up."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]

from kernel_client import execute, start, stop  # noqa: E402
from test_progress import attach_widget_front_end  # noqa: E402

CELLS = {"widgets": "%%parallel -b interpreters -w 2 --chunksize 1\nr = [x * x for x in range(8)]",
         "quiet": "%%parallel -b interpreters -w 2 --chunksize 1 --quiet\nr = [x * x for x in range(8)]",
         "plain": "r = [x * x for x in range(8)]"}


def rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main(cells: int = 180, kind: str = "widgets", warm_up: int = 20) -> dict:
    cell = CELLS[kind]
    km, kc = start("xparallel")
    try:
        attach_widget_front_end(kc)
        pid = km.provisioner.process.pid
        for _ in range(warm_up):
            assert execute(kc, cell).status == "ok"
        before = rss_kb(pid)
        for _ in range(cells):
            assert execute(kc, cell).status == "ok"
        after = rss_kb(pid)
    finally:
        stop(km, kc)
    figures = {"cells": cells, "kind": kind, "rss_before_kb": before, "rss_after_kb": after,
               "kb_per_cell": (after - before) / cells}
    print(f"| cell | count | RSS before | RSS after | per cell |\n|---|---|---|---|---|\n"
          f"| {kind} | {cells} | {before} KB | {after} KB | {figures['kb_per_cell']:.1f} KB |")
    return figures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 180, sys.argv[2] if len(sys.argv) > 2 else "widgets")
