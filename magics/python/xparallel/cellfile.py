"""The file name and line numbers a %%parallel cell's code is compiled with: those of the notebook
cell itself, so that a debugger's breakpoints in the cell (setup lines; items on `serial` and
`threads`) are found in the code that runs, and tracebacks count lines as the editor does.

IPython compiles a cell from a name its compiler gives it (in ipykernel and the xparallel kernel, a
file named by a hash of the cell's code: the name the JupyterLab debugger sets breakpoints in). The
magic receives only the cell's body, so it looks up the running cell's code in the calling frames
and pads the body so that its lines keep their numbers in the whole cell (the `%%parallel` line is
line 1)."""

from __future__ import annotations

import linecache
import sys
from typing import Any

_MAGIC_CALLS = {"run_cell_magic": "cell", "run_line_magic": "line"}


def _running_cell(shell: Any) -> tuple[str, int, str] | None:
    """(file name, line, magic kind) of the notebook cell that called the magic, if any."""
    known = getattr(shell.compile, "_filename_map", None)
    if not known:
        return None
    frame = sys._getframe(2)
    called = ""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename in known and called in _MAGIC_CALLS:
            return filename, frame.f_lineno, _MAGIC_CALLS[called]
        called = frame.f_code.co_name
        frame = frame.f_back
    return None


def cell_code(shell: Any, source: str, python: str, number: int) -> tuple[str, str]:
    """(file name, code) to compile the magic's body `python` (transformed from `source`) with."""
    found = _running_cell(shell)
    if found is None:  # not called from a cell (a test's run_cell_magic): a name of its own
        return shell.compile.cache(python, number, raw_code=source), python
    filename, lineno, kind = found
    # A cell magic's body starts on the line after `%%parallel`; a line magic's statement is on
    # the line that calls it.
    before = lineno if kind == "cell" else lineno - 1
    outer = linecache.getlines(filename)
    body = python.splitlines(True)
    if body and not body[-1].endswith("\n"):
        body[-1] += "\n"
    after = outer[before + 1:] if kind == "line" else []
    lines = (outer[:before] + ["\n"] * (before - len(outer[:before])) + body + after)
    # Tracebacks and the names captured for the workers read the cell's lines from here.
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
    return filename, "\n" * before + python
