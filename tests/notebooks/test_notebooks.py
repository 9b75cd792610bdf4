"""Notebooks executed through the xparallel kernel with nbclient, as nbconvert would."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent


def execute_notebook(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="xparallel", timeout=timeout,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def outputs_of(cell) -> list[dict]:
    return [dict(o) for o in cell.get("outputs", [])]


def test_kernel_smoke_notebook_runs_with_rich_outputs():
    nb = execute_notebook(HERE / "kernel_smoke.ipynb")
    version, html, plot, total = (outputs_of(c) for c in nb.cells)
    assert version[0]["name"] == "stdout" and version[0]["text"].startswith("(3, 1")
    assert html[0]["data"]["text/html"] == "<i>rich</i>"
    assert any("image/png" in o.get("data", {}) for o in plot)
    assert total[0]["data"]["text/plain"] == "45" and total[0]["execution_count"] == 4
