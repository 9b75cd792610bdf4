"""IPython's shell as the xparallel kernel runs it (on top of xeus-python-shell)."""

from __future__ import annotations

from typing import Any

import _xparallel_kernel as bridge
from xeus_python_shell.compiler import XCachingCompiler
from xeus_python_shell.display import XDisplayHook, XDisplayPublisher
from xeus_python_shell.shell import XPythonShell, XPythonShellApp


class Shell(XPythonShell):
    """Keeps the last error with its real exception name, and publishes it at once."""

    last_error: tuple[str, str, list[str]] | None = None
    publish_error: Any = None

    def ask_exit(self) -> None:
        # `exit` / `quit`: the front end ends its session (jupyter console quits) on this payload,
        # as with ipykernel; the kernel itself is the front end's to shut down.
        self.payload_manager.write_payload({"source": "ask_exit", "keepkernel": False})

    def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        self.last_error = (etype.__name__, str(evalue), list(stb))
        if self.publish_error is not None:
            self.publish_error(*self.last_error)


class CellCompiler(XCachingCompiler):
    """Compiles each cell from a file named by a hash of its code, the name the JupyterLab
    debugger computes for the cell (debugInfo: hashMethod, hashSeed, tmpFilePrefix...), so that
    the breakpoints it sets in a cell are found in the code that runs. IPython's caching keeps
    each cell's source for tracebacks ("Cell In[3], line 2") under that name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.get_filename = bridge.cell_file_name


class ShellApp(XPythonShellApp):
    def init_shell(self, use_jedi: bool = False) -> None:
        self.shell = Shell.instance(
            use_jedi,
            display_pub_class=XDisplayPublisher,
            displayhook_class=XDisplayHook,
            compiler_class=CellCompiler,
            user_ns=self.user_ns,
        )
