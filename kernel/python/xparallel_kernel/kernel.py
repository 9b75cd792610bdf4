"""The Python half of the xparallel kernel: runs requests with IPython's shell, publishes through
the C++ bridges of `_xparallel_kernel`."""

from __future__ import annotations

import builtins
import getpass
import sys
from contextlib import contextmanager
from typing import Any, Iterator

import _xparallel_kernel as bridge
from IPython.core.error import StdinNotImplementedError
from IPython.utils.tokenutil import token_at_cursor

from . import comms
from ._version import __version__  # generated from CMakeLists.txt's project(VERSION)
from .shell import ShellApp
from .streams import OutputStream


class Kernel:
    """What `get_ipython().kernel` is in this kernel (ipywidgets and friends look there)."""

    implementation = "xparallel"
    implementation_version = __version__

    def __init__(self) -> None:
        self.stdout = OutputStream("stdout", bridge.write_stream, bridge.flush_streams)
        self.stderr = OutputStream("stderr", bridge.write_stream, bridge.flush_streams)
        sys.stdout, sys.stderr = self.stdout, self.stderr
        self.comm_manager = comms.install()

        app = ShellApp()
        app.initialize(use_jedi=False)
        shell = app.shell
        shell.kernel = self
        shell.publish_error = self._publish_error
        shell.display_pub.publish_display_data = self._publish_display_data
        shell.display_pub.clear_output = self._clear_output
        shell.displayhook.publish_execution_result = self._publish_execution_result
        self.app = app
        self.shell = shell
        self._load_xparallel()

    # ---- requests -------------------------------------------------------------------------
    def execute(self, code: str, execution_count: int, silent: bool, store_history: bool,
                allow_stdin: bool, user_expressions: dict) -> dict:
        shell = self.shell
        shell.last_error = None
        if not silent:
            shell.execution_count = execution_count
        debugging = "debugpy" in sys.modules  # the debugger has been on in this kernel
        if debugging:
            from . import debugger

            debugger.before_cell()
        try:
            with self._stdin(allow_stdin):
                result = shell.run_cell(code, store_history=store_history, silent=silent)
        finally:
            self.flush()
            if debugging:
                debugger.settle_after_cell()
        payload = shell.payload_manager.read_payload()
        shell.payload_manager.clear_payload()
        if result.success:
            return {"status": "ok", "payload": payload,
                    "user_expressions": shell.user_expressions(user_expressions or {})}
        if shell.last_error is not None:
            ename, evalue, traceback = shell.last_error
        else:  # e.g. a UsageError, which IPython reports on stderr only
            error = result.error_before_exec or result.error_in_exec
            ename, evalue, traceback = type(error).__name__, str(error), []
        return {"status": "error", "ename": ename, "evalue": evalue, "traceback": traceback}

    def complete(self, code: str, cursor_pos: int) -> dict:
        matches, start, end = self.shell.complete_code(code, cursor_pos)
        return {"status": "ok", "matches": matches, "cursor_start": start, "cursor_end": end,
                "metadata": {}}

    def inspect(self, code: str, cursor_pos: int, detail_level: int) -> dict:
        name = token_at_cursor(code, cursor_pos)
        try:
            bundle = self.shell.object_inspect_mime(name, detail_level=detail_level)
        except KeyError:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        if not self.shell.enable_html_pager:
            bundle.pop("text/html", None)
        return {"status": "ok", "found": True, "data": bundle, "metadata": {}}

    def is_complete(self, code: str) -> dict:
        status, indent = self.shell.input_transformer_manager.check_complete(code)
        reply = {"status": status}
        if status == "incomplete":
            reply["indent"] = " " * (indent or 0)
        return reply

    def history(self, request: dict) -> dict:
        """A history_reply's content, as ipykernel computes it (IPython's history manager)."""
        history = self.shell.history_manager
        kind = request.get("hist_access_type")
        raw = request.get("raw", True)
        output = request.get("output", False)
        if kind == "tail":
            entries = history.get_tail(request.get("n"), raw=raw, output=output,
                                       include_latest=True)
        elif kind == "range":
            entries = history.get_range(request.get("session", 0), request.get("start", 0),
                                        request.get("stop"), raw=raw, output=output)
        elif kind == "search":
            entries = history.search(request.get("pattern", "*"), raw=raw, output=output,
                                     n=request.get("n"), unique=request.get("unique", False))
        else:
            entries = []
        return {"status": "ok", "history": [list(entry) for entry in entries]}

    # ---- what ipykernel offers that libraries use -------------------------------------------
    def get_parent(self, channel: str = "shell") -> dict:
        return {"header": bridge.parent_header()}

    def flush(self) -> None:
        bridge.flush_streams()

    # ---- publishing (the bridges publish pending stream text first), from any thread -----------
    def _publish_display_data(self, data: dict, metadata: dict | None, transient: dict | None,
                              update: bool) -> None:
        send = bridge.update_display_data if update else bridge.display_data
        send(data, metadata or {}, transient or {})

    def _clear_output(self, wait: bool = False) -> None:
        bridge.clear_output(wait)

    def _publish_execution_result(self, execution_count: int, data: dict, metadata: dict) -> None:
        bridge.publish_execution_result(execution_count, data, metadata or {})

    def _publish_error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        bridge.publish_execution_error(ename, evalue, traceback)

    @contextmanager
    def _stdin(self, allowed: bool) -> Iterator[None]:
        def ask(prompt: str = "", password: bool = False) -> str:
            if not allowed:
                raise StdinNotImplementedError(
                    "input() needs a front end that answers input requests; this one does not "
                    "(e.g. nbclient or a non-interactive run): pass the value in the code instead")
            self.flush()
            return bridge.input_request(str(prompt), password)

        saved = builtins.input, getpass.getpass
        builtins.input = lambda prompt="": ask(prompt)
        getpass.getpass = lambda prompt="Password: ", stream=None: ask(prompt, True)
        try:
            yield
        finally:
            builtins.input, getpass.getpass = saved

    def _load_xparallel(self) -> None:
        # The kernel starts with %%parallel loaded; a missing package must not stop the kernel.
        try:
            self.shell.extension_manager.load_extension("xparallel")
        except ImportError as error:
            print(f"xparallel kernel: %%parallel is not available ({error})", file=sys.__stderr__)
