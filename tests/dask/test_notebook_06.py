"""notebooks/06-beyond-one-machine.ipynb executed through the xparallel kernel with nbclient."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "06-beyond-one-machine.ipynb"


def text_of(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
        elif output.get("output_type") == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)


def cell_with(nb, fragment: str):
    return next(c for c in nb.cells if c.cell_type == "code" and fragment in c.source)


@pytest.mark.timeout(300)
def test_beyond_one_machine(monkeypatch):
    monkeypatch.setenv("XPARALLEL_DEMO_SCALE", "0.1")  # the kernel reads it: demos sized smaller
    saved = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in saved.cells if c.cell_type == "code")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="xparallel", timeout=240,
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    interpreters = text_of(cell_with(nb, "%%parallel -b interpreters"))
    processes = text_of(cell_with(nb, "%%parallel -b processes"))
    dask = text_of(cell_with(nb, "%%parallel -b dask\non_dask"))
    items = int(re.search(r"(\d+) items of fib\(24\)", text_of(cell_with(nb, "items = [24]"))).group(1))
    assert re.search(rf"{items} items in [\d.]+ s on \d+ interpreters", interpreters)
    assert re.search(rf"{items} items in [\d.]+ s on \d+ processes", processes)
    assert re.search(rf"{items} items in [\d.]+ s on 2 dask .*dask cluster tcp://127\.0\.0\.1:\d+", dask)
    same, workers, reason = text_of(cell_with(nb, "on_interpreters == on_processes")).splitlines()
    assert same == "True"
    assert workers.startswith("dask 2 [")  # the two dask workers, by name
    assert reason.startswith("dask cluster tcp://127.0.0.1:")
    pool = text_of(cell_with(nb, "%parallel_pool"))
    assert "dask cluster (the notebook's client): scheduler tcp://127.0.0.1:" in pool
    assert "2 workers" in pool and "2 threads" in pool
    printed = [line for line in text_of(cell_with(nb, "def where")).splitlines() if " item " in line]
    assert len(printed) == 8 and all(line.startswith("[worker-") for line in printed)
    assert text_of(cell_with(nb, "type(v).__name__")).strip() == \
        "['int', 'int', 'int', 'ValueError', 'int', 'int']"
    measured = text_of(cell_with(nb, "overhead_s = measured"))
    overhead = float(re.search(r"machinery per item: ([\d.]+) µs", measured).group(1))
    rate = float(re.search(r"transfer: (\d+) MB/s", measured).group(1))
    assert 0 < overhead < 1000 and rate > 0
    work = re.search(r"one fib\(24\): ([\d.]+) ms of work; summing a 1 MB array: ([\d.]+) ms of work",
                     measured).groups()
    # Each verdict follows from the figures printed above it: worth sending when the work is at
    # least 10 times the cost of shipping the item (machinery per item + its size at the rate).
    verdicts = text_of(cell_with(nb, "for size_mb in"))
    assert "worth it if" in verdicts
    lines = re.findall(r"computes ([\d.]+) ms.*, costs ([\d.]+) ms to ship: it (pays off|does not pay "
                       r"off)", verdicts)
    assert [w for w, _, _ in lines] == list(work)
    for work_ms, cost_ms, said in lines:
        expected = "pays off" if float(work_ms) >= 10 * float(cost_ms) else "does not pay off"
        near = abs(float(work_ms) - 10 * float(cost_ms)) <= 0.01 + 0.0005 * 10
        assert said == expected or near, (work_ms, cost_ms, said)
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
