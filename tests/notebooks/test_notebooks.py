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


# ---- the teaching notebooks ----------------------------------------------------------------------
import re  # noqa: E402

import pytest  # noqa: E402

NOTEBOOKS = HERE.parents[1] / "notebooks"


@pytest.fixture(scope="module")
def run_teaching():
    done: dict[str, nbformat.NotebookNode] = {}

    def run(name: str) -> nbformat.NotebookNode:
        if name not in done:
            done[name] = execute_notebook(NOTEBOOKS / f"{name}.ipynb")
        return done[name]

    return run


def text_of(nb) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "data" in output:
                parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def code_cell(nb, marker: str):
    """The first code cell whose source contains `marker`."""
    return next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)


def no_errors(nb) -> None:
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, [(e["ename"], e["evalue"]) for e in errors]


def test_saved_notebooks_carry_no_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count")
                   for c in nb.cells if c.cell_type == "code"), path.name


def test_tour(run_teaching):
    nb = run_teaching("01-tour")
    no_errors(nb)
    text = text_of(nb)
    assert "(6057, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29], True)" in text
    assert "75025" in text  # fib(25) from a function defined in an earlier cell
    assert re.search(r"59,998 items in [\d.]+ s on 2 interpreters · cores used", text)
    timeline = [o for o in code_cell(nb, "--timeline").outputs if "image/png" in o.get("data", {})]
    assert len(timeline) == 1
    assert "ZeroDivisionError('division by zero')" in text


def test_processes_threads_and_the_gil(run_teaching):
    nb = run_teaching("02-processes-threads-gil")
    no_errors(nb)
    text = text_of(nb)
    threads, interpreters = map(float, re.search(
        r"threads ([\d.]+)x, interpreters ([\d.]+)x", text).groups())
    assert interpreters > 1.3 * threads, (threads, interpreters)  # the GIL, made visible
    thread_cores = float(re.search(r"on 2 threads · cores used ([\d.]+)", text).group(1))
    interp_cores = float(re.search(r"on 2 interpreters · cores used ([\d.]+)", text).group(1))
    assert thread_cores < 1.2 and interp_cores > 1.5
    compare = code_cell(nb, "--compare").outputs
    assert any("image/png" in o.get("data", {}) for o in compare)
    assert any("xparallel-compare" in o.get("data", {}).get("text/html", "") for o in compare)
    lost = int(re.search(r"(\d+) lost updates", text).group(1))
    assert lost > 0
    assert "counter = 2000 after 2000 increments with a lock" in text
    assert "notebook counter: 0;" in text


def test_embarrassingly_parallel(run_teaching):
    nb = run_teaching("03-embarrassingly-parallel")
    no_errors(nb)
    text = text_of(nb)
    speedup = float(re.search(r"threads on NumPy work: speedup ([\d.]+)x", text).group(1))
    assert speedup > 1.1  # NumPy releases the GIL
    assert "processes - auto: processes, because numpy cannot load in a sub-interpreter" in text
    assert re.search(r"a 2-process pool starts and runs 2 items in \d+ ms", text)
    hidden = [c for c in nb.cells if "solution" in c.get("metadata", {}).get("tags", [])]
    assert hidden and all(c.metadata["jupyter"]["source_hidden"] for c in hidden)


def test_subinterpreters_honestly(run_teaching):
    nb = run_teaching("04-subinterpreters-honestly")
    no_errors(nb)
    text = text_of(nb)
    started, memory = re.search(r"started in (\d+) ms, about ([\d.]+) MB each", text).groups()
    assert float(memory) < 15
    assert "`lock` (lock) is needed by the workers but cannot be sent" in text
    assert "numpy cannot be imported in a sub-interpreter" in text
    assert "processes - auto: processes" in text


def test_exploring_data(run_teaching):
    nb = run_teaching("05-exploring-data")
    no_errors(nb)
    text = text_of(nb)
    assert "documents: 400" in text
    assert re.search(r"pi ≈ 3\.1[0-9]{3}", text)
    pngs = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(pngs) == 2  # the statistics plot and the timeline
