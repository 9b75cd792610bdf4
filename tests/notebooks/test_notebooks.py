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
import ast  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402

import pytest  # noqa: E402

NOTEBOOKS = HERE.parents[1] / "notebooks"
TEACHING = ["01-tour", "02-processes-threads-gil", "03-embarrassingly-parallel",
            "04-subinterpreters-honestly", "05-exploring-data"]
# The notebooks read it in their first cell: 1 sizes the demos to watch (5-10 s on 2 cores).
SCALE = 0.1
SOLUTION = re.compile(r"```python\n(.*?)\n```", re.S)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def with_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as a student who solved every exercise runs it: each empty "your turn" cell
    holds the code of the solution that follows it."""
    for i, cell in enumerate(nb.cells):
        if "your-turn" in tags(cell):
            solution = next(c for c in nb.cells[i + 1:] if "solution" in tags(c))
            cell.source = SOLUTION.search(solution.source).group(1)
    return nb


@pytest.fixture(scope="module")
def run_teaching():
    done: dict[str, nbformat.NotebookNode] = {}
    os.environ["XPARALLEL_DEMO_SCALE"] = str(SCALE)  # the kernels nbclient starts inherit it

    def run(name: str) -> nbformat.NotebookNode:
        if name not in done:
            path = NOTEBOOKS / f"{name}.ipynb"
            nb = with_solutions(nbformat.read(path, as_version=4))
            NotebookClient(nb, kernel_name="xparallel", timeout=600,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            done[name] = nb
        return done[name]

    return run


def text_of(nb) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif output.get("output_type") == "error":
                parts.append(f"{output['ename']}: {output['evalue']}\n")
            elif "data" in output:
                parts.append(output["data"].get("text/plain", "") + "\n")
    return "".join(parts)


def code_cell(nb, marker: str):
    """The first code cell whose source contains `marker`."""
    return next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)


def pngs(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def no_errors(nb) -> None:
    """Only the cells tagged raises-exception (meant to show an error) may fail."""
    errors = [o for c in nb.cells if "raises-exception" not in tags(c)
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, [(e["ename"], e["evalue"]) for e in errors]
    for cell in nb.cells:
        if "raises-exception" in tags(cell):
            # An error, or IPython's one-line UsageError on stderr (what the magic raises).
            assert any(o.get("output_type") == "error" or (o.get("name") == "stderr" and "Error: "
                       in o.get("text", "")) for o in cell.outputs), cell.source


def no_widget_outputs(nb) -> None:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {})
            assert "VBox(children" not in output.get("data", {}).get("text/plain", "")


def test_saved_notebooks_carry_no_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count")
                   for c in nb.cells if c.cell_type == "code"), path.name


def test_exercises_have_a_prompt_an_empty_cell_and_a_hidden_solution():
    found = 0
    for name in TEACHING:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        assert not any("solution" in tags(c) for c in nb.cells if c.cell_type == "code"), name
        for i, cell in enumerate(nb.cells):
            if "exercise" not in tags(cell):
                continue
            found += 1
            prompt, empty, solution = nb.cells[i:i + 3]
            assert prompt.cell_type == "markdown" and prompt.source.startswith("### ")
            assert empty.cell_type == "code" and empty.source == "" and "your-turn" in tags(empty)
            assert solution.cell_type == "markdown" and "solution" in tags(solution)
            # Collapsed, the solution shows one line that gives nothing away; Run All skips it.
            first, *_ = solution.source.splitlines()
            assert first == "<details><summary>Show a solution</summary>", (name, first)
            assert solution.source.rstrip().endswith("</details>")
            assert SOLUTION.search(solution.source), (name, solution.source)
    assert found >= 8


def test_first_notebook_has_the_session_agenda():
    nb = nbformat.read(NOTEBOOKS / "01-tour.ipynb", as_version=4)
    agenda = next(c.source for c in nb.cells if "90-minute" in c.source)
    for notebook in ("`01`", "`02`", "`03`", "`04`"):
        assert notebook in agenda
    assert "pairs" in agenda and "85–90" in agenda


def test_demo_scale_is_read_in_the_first_code_cell():
    for name in ("01-tour", "02-processes-threads-gil", "03-embarrassingly-parallel", "05-exploring-data"):
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert 'os.environ.get("XPARALLEL_DEMO_SCALE", "1")' in first.source, name


def primes_below(n: int) -> list[int]:
    sieve = bytearray([1]) * n
    sieve[:2] = b"\0\0"
    for p in range(2, int(n ** 0.5) + 1):
        if sieve[p]:
            sieve[p * p::p] = bytearray(len(sieve[p * p::p]))
    return [i for i in range(n) if sieve[i]]


SUMMARY = r"[\d,]+ items? in [\d.]+ s on {} · cores used ([\d.]+) · speedup ≈ ([\d.]+)× \(estimate"


def test_tour(run_teaching):
    nb = run_teaching("01-tour")
    no_errors(nb)
    no_widget_outputs(nb)
    text = text_of(nb)
    primes = primes_below(int(1_500_000 * SCALE))
    assert f"({len(primes)}, {primes[:10]}, True)" in text
    assert "75025" in text  # fib(25) from a function defined in an earlier cell
    assert re.search(SUMMARY.format("2 interpreters"), text)
    assert "speedup" in text and "(estimated)" in text
    assert pngs(code_cell(nb, "--timeline")) == 1
    assert "ZeroDivisionError('division by zero')" in text
    assert "29,999 items in" in text  # the exercise's solution ran


def test_processes_threads_and_the_gil(run_teaching):
    nb = run_teaching("02-processes-threads-gil")
    no_errors(nb)
    no_widget_outputs(nb)
    text = text_of(nb)
    assert pngs(code_cell(nb, "The kitchen picture")) == 1
    thread_cores = float(re.search(r"on 2 threads · cores used ([\d.]+)", text).group(1))
    assert thread_cores < 1.3  # the GIL: one core at most, plus the kernel's own threads
    compare = code_cell(nb, "--compare").outputs
    assert any("image/png" in o.get("data", {}) for o in compare)
    assert any("xparallel-compare" in o.get("data", {}).get("text/html", "") for o in compare)
    # The figures agree: the table's interpreters row and `_parallel`'s summary.
    speedup, cores = re.search(r"interpreters: [\d.]+ s · speedup ([\d.]+)x \(measured\) · cores used "
                               r"([\d.]+)", text).groups()
    summary = next(line for line in text.splitlines() if "measured against a serial run" in line)
    assert f"cores used {cores}" in summary and f"speedup {speedup}×" in summary
    assert re.search(r"waiting on 16 threads: [\d.]+ s serial, [\d.]+ s threaded", text)
    lost = [int(n) for n in re.findall(r"after 2000 increments: (\d+) lost updates", text)]
    assert len(lost) == 2 and lost[0] > 0 and lost[1] == 0  # the race, then the fix (solution)
    assert "notebook counter: 0;" in text


def test_embarrassingly_parallel(run_teaching):
    nb = run_teaching("03-embarrassingly-parallel")
    no_errors(nb)
    no_widget_outputs(nb)
    text = text_of(nb)
    assert re.search(r"NumPy on 2 threads: [\d.]+ s serial, [\d.]+ s threaded: measured speedup", text)
    assert "processes - auto: processes, because numpy cannot load in a sub-interpreter" in text
    assert "4,000 items in" in text  # exercise A's solution
    assert len(re.findall(r"OMP_NUM_THREADS=[12]: two 1000×1000 products in", text)) == 2
    assert pngs(code_cell(nb, "product_walls = {}")) == 1
    assert re.search(r"a 2-process pool starts and runs 2 items in \d+ ms", text)
    assert "no answer after 10 s" in text  # multiprocessing.Pool on a notebook function, 3.14
    assert "[0, 2, 4, 6]" in text  # ... and %%parallel on the same function
    assert re.search(r"8 items in [\d.]+ s on 2 processes", text)  # exercise B
    rows = re.findall(r"^ +(\d) × (\d) +([\d.]+) +([\d.]+)x +([\d.]+) +([\d.]+)$", text, re.M)
    assert [(p, t) for p, t, *_ in rows] == [("1", "1"), ("2", "1"), ("1", "2"), ("2", "2"), ("4", "4")]
    assert "4 × 1:" in text  # exercise C
    assert pngs(code_cell(nb, "ax.loglog")) == 1 and "error at n=10,000" in text
    photos = max(8, int(200 * SCALE))
    assert f"{photos} signatures; serial" in text
    assert re.search(r"1 workers: [\d.]+ s, 2 workers: [\d.]+ s, 4 workers: [\d.]+ s", text)
    assert pngs(next(c for c in nb.cells if "your-turn" in tags(c) and "walls = {}" in c.source)) == 1


def test_subinterpreters_honestly(run_teaching):
    nb = run_teaching("04-subinterpreters-honestly")
    no_errors(nb)
    no_widget_outputs(nb)
    text = text_of(nb)
    started, memory = re.search(r"started in (\d+) ms, about ([\d.]+) MB each", text).groups()
    assert float(memory) < 15
    assert "interpreters pool: 2 workers (w1 idle, w2 idle)" in text
    assert "100,000 items in" in text
    assert "`lock` (lock) is needed by the workers but cannot be sent" in text
    assert "numpy cannot be imported in a sub-interpreter" in text
    assert "processes - auto: processes" in text
    assert "terminated abruptly" in text  # the segfault ended a worker process...
    assert "the kernel survived the crash" in text  # ...not the kernel
    assert "[0, 1, 4, 9, 16]" in text
    for source in (c.source for c in nb.cells if c.cell_type == "code"):
        assert "_engine" not in source and "run_cell_magic" not in source


def test_exploring_data(run_teaching):
    nb = run_teaching("05-exploring-data")
    no_errors(nb)
    no_widget_outputs(nb)
    text = text_of(nb)
    documents = max(40, int(3500 * SCALE))
    top = re.search(rf"documents: {documents} · most frequent words overall: (\[.*\])", text).group(1)
    assert len(ast.literal_eval(top)) == 5
    assert re.search(r"serial [\d.]+ s, 2 interpreters: [\d.]+ s: measured speedup", text)
    assert re.search(r"pi ≈ 3\.1[0-9]{3}", text)
    assert sum(pngs(c) for c in nb.cells) == 2  # the statistics plot and the timeline
    assert "def statistics" not in "".join(c.source for c in nb.cells)


@pytest.mark.timeout(300)
def test_a_saved_notebook_shows_the_bars_and_the_summary_without_a_kernel(tmp_path, monkeypatch):
    # As in Notebook 7: widgets drawn live (forced, since nbclient is no widget front end), then
    # replaced in place. Saved, read back and converted to HTML (what nbviewer and GitHub show):
    # the bars and the summary are there, no widget model is needed.
    monkeypatch.setenv("XPARALLEL_PROGRESS", "widgets")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "xparallel", "language": "python",
                                                           "display_name": "xparallel"}})
    nb.cells = [nbformat.v4.new_code_cell("%%parallel -w 2 --chunksize 1\nimport time\n"
                                          "r = [time.sleep(0.1) or x for x in range(12)]"),
                nbformat.v4.new_code_cell("print(_parallel.summary())")]
    NotebookClient(nb, kernel_name="xparallel", timeout=120).execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    saved = nbformat.read(path, as_version=4)
    [output] = saved.cells[0].outputs
    summary = saved.cells[1].outputs[0]["text"].strip()
    assert set(output["data"]) == {"text/html", "text/plain"}
    assert "xparallel-progress" in output["data"]["text/html"]
    for text in output["data"].values():
        assert summary in text.replace("&#x27;", "'") and "12 / 12 items" in text
        assert "VBox(children" not in text
    assert "█" * 30 in output["data"]["text/plain"]
    # (nbclient also keeps the closed widgets' last state in the notebook's metadata, which no
    # output refers to; Notebook 7 and JupyterLab save only live widgets.)

    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_notebook_node(saved)
    assert "xparallel-progress" in page and "12 / 12 items" in page
    # No output is a widget view that a viewer would need a model for.
    assert '<script type="application/vnd.jupyter.widget-view+json">' not in page
