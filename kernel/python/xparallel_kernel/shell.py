"""IPython's shell as the xparallel kernel runs it (on top of xeus-python-shell)."""

from __future__ import annotations

from typing import Any

from IPython.core.compilerop import CachingCompiler
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


class ShellApp(XPythonShellApp):
    # IPython's own compiler keeps each cell's source for tracebacks ("Cell In[3], line 2").
    def init_shell(self, use_jedi: bool = False) -> None:
        self.shell = Shell.instance(
            use_jedi,
            display_pub_class=XDisplayPublisher,
            displayhook_class=XDisplayHook,
            compiler_class=CachingCompiler,
            user_ns=self.user_ns,
        )
