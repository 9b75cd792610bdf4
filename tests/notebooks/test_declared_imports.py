"""What the notebooks import is declared where students install from: environment.yml (conda) and
the pip package's `notebooks` extra."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).parents[2]
NOTEBOOKS = ROOT / "notebooks"
# Where the name a notebook imports is not the name it is installed by.
DISTRIBUTIONS = {"PIL": ("pillow",), "dask.distributed": ("dask", "distributed")}
# conda-forge's names, where they differ from pip's.
CONDA = {"matplotlib": "matplotlib-base"}


def python_of(source: str) -> list[str]:
    """The Python in a code cell: IPython's syntax turned into calls, and the body of a cell magic
    whose body is Python (%%parallel, %%writefile of a .py module) as code of its own."""
    first, _, body = source.partition("\n")
    if first.startswith("%%parallel") or (first.startswith("%%writefile") and first.endswith(".py")):
        return [body]
    return [TransformerManager().transform_cell(source)]


def written_modules(cells: list) -> set[str]:
    return {m.group(1) for c in cells
            if (m := re.match(r"%%writefile (\w+)\.py\n", c.source))}


def imported() -> set[str]:
    """Every distribution the notebooks' code cells import, beyond the standard library, the
    modules the notebooks write themselves and xparallel."""
    cells = [c for path in sorted(NOTEBOOKS.glob("*.ipynb"))
             for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    own = written_modules(cells) | {"xparallel"}
    names: set[str] = set()
    for cell in cells:
        for code in python_of(cell.source):
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module)
    found = set()
    for name in names:
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top in own:
            continue
        found.update(next((d for prefix, d in DISTRIBUTIONS.items()
                           if name == prefix or name.startswith(prefix + ".")), (top,)))
    return found


def requirement_name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")


@pytest.mark.timeout(60)
def test_the_notebooks_imports_are_declared_in_environment_yml_and_the_notebooks_extra():
    needed = imported()
    # The parse sees through magics and %%writefile: the BLAS grid's module imports threadpoolctl.
    assert {"numpy", "matplotlib", "threadpoolctl", "psutil", "pillow", "dask",
            "distributed"} <= needed, needed
    conda = {m.group(1).lower() for m in re.finditer(r"^\s*-\s*([A-Za-z0-9_.-]+)",
                                                     (ROOT / "environment.yml").read_text(), re.M)}
    missing = {d for d in needed if CONDA.get(d, d) not in conda}
    assert not missing, f"environment.yml does not declare {sorted(missing)}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = {requirement_name(r) for r in project["optional-dependencies"]["notebooks"]}
    missing = needed - extra
    assert not missing, f"pyproject.toml's notebooks extra does not declare {sorted(missing)}"
