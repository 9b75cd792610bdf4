"""What the kernel leaves out of its start: parts of IPython a Jupyter kernel never uses.

Importing anything from IPython runs `IPython/__init__.py`, which imports the terminal shell
(`IPython.terminal.embed`: prompt_toolkit, the terminal debugger, the terminal app), and
`IPython.core.completer` imports jedi; asttokens tries astroid, xeus-python-shell urllib3. Leaving
them out took the kernel's start from 0.96x ipykernel's to 0.66-0.69x (benchmarks/kernel.py, same
run). This kernel uses none of them: front ends talk to it over ZeroMQ, and it completes without
jedi (`use_jedi=False`, as before).

- `IPython.terminal.embed` starts as a placeholder. Anything taken from it other than `embed` (a
  class, a function) imports the real module at that moment, so `from IPython.terminal.embed import
  InteractiveShellEmbed` works as anywhere. `IPython.embed()` itself starts a terminal IPython on the
  kernel's stdin, which a Jupyter kernel does not have: here it says so instead of hanging.
- Optional imports that only serve elsewhere are refused while the kernel imports IPython (below,
  each with what it serves); afterwards `import jedi` and the others work as usual.
"""

from __future__ import annotations

import importlib
import sys
import types
from contextlib import contextmanager
from typing import Any, Iterator

_TERMINAL_EMBED = "IPython.terminal.embed"


class _TerminalEmbedPlaceholder(types.ModuleType):
    """Stands in for `IPython.terminal.embed` until something other than `embed` is asked of it."""

    @staticmethod
    def embed(**kwargs: Any) -> None:
        raise RuntimeError(
            "IPython.embed() starts a terminal IPython, and a Jupyter kernel has no terminal: run "
            "the code in a cell instead, or use %debug / breakpoint() to look inside a frame")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system asking what this is (`__path__`, ...)
            raise AttributeError(name)
        return getattr(_load_terminal_embed(), name)


def _load_terminal_embed() -> types.ModuleType:
    if isinstance(sys.modules.get(_TERMINAL_EMBED), _TerminalEmbedPlaceholder):
        del sys.modules[_TERMINAL_EMBED]
    return importlib.import_module(_TERMINAL_EMBED)


# Optional imports that IPython and xeus-python-shell try at import time, and what they serve.
LEFT_OUT = {
    "jedi": "IPython's completer; this kernel completes without jedi (use_jedi=False)",
    "urllib3": "xeus-python-shell, only in the browser (emscripten)",
    "pyodide_http": "xeus-python-shell, only in the browser (emscripten)",
    "astroid": "asttokens' support for pylint's trees; IPython's tracebacks use ast's",
}


class _RefuseLeftOut:
    """A meta path finder that makes the imports in LEFT_OUT fail, so that their importer skips
    them (each sits in a `try: import ... except ImportError`)."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in LEFT_OUT:
            raise ImportError(f"{name} is not loaded at the xparallel kernel's start", name=name)


@contextmanager
def lean_ipython_import() -> Iterator[None]:
    """Around the kernel's first import of IPython."""
    if "IPython" in sys.modules:  # already loaded by someone else: nothing to leave out
        yield
        return
    sys.modules.setdefault(_TERMINAL_EMBED, _TerminalEmbedPlaceholder(_TERMINAL_EMBED))
    refuse = _RefuseLeftOut()
    sys.meta_path.insert(0, refuse)
    try:
        yield
    finally:
        sys.meta_path.remove(refuse)
