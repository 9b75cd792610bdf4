"""The Python half of the kernel's debugger (kernel/src/xdebugger.cpp): starts debugpy inside the
kernel, answers what the front end asks about the notebook's variables while no cell is paused, and
keeps interrupts and shutdown working while a cell is paused.

Requests run on the kernel's control thread, which debugpy must never pause: it is marked as one
of debugpy's own threads each time it enters (a new thread state may stand for it). The functions
for the main thread (before_cell, settle_after_cell, end) say so. debugpy is imported on the first
`initialize`, never when the kernel starts.
"""

from __future__ import annotations

import re
import sys
import threading
from typing import Any

# Names the variables panel leaves out of the notebook's namespace: IPython's own, as ipykernel
# and xeus-python leave them out.
_HIDDEN = frozenset({
    "__name__", "__doc__", "__package__", "__loader__", "__spec__", "__annotations__",
    "__builtins__", "__builtin__", "__display__", "get_ipython", "debugpy", "exit", "quit",
    "In", "Out", "_oh", "_dh", "_", "__", "___",
})
_OUTPUT_HISTORY = re.compile(r"^_\d")

# Packages whose frames the debugger steps over and leaves out of the call stack: the kernel's
# machinery around a cell, not the user's code (a %%parallel cell's own lines are compiled from the
# cell's file, so they stay visible).
_KERNEL_PACKAGES = ("xparallel_kernel", "xparallel", "IPython", "xeus_python_shell", "comm",
                    "traitlets", "ipywidgets", "cloudpickle")

_endpoint: str | None = None  # debugpy listens once per process; later sessions reuse it


def _untraced() -> None:
    thread = threading.current_thread()
    thread.pydev_do_not_trace = True  # type: ignore[attr-defined]
    thread.is_pydev_daemon_thread = True  # type: ignore[attr-defined]


def end() -> None:
    """At kernel exit: debugpy's threads end now. One of them is not a daemon thread and would
    otherwise hold Python's finalisation until it notices that no user thread is left. On the main
    thread, as the kernel ends."""
    pydevd = sys.modules.get("pydevd")
    debugger = pydevd.get_global_debugger() if pydevd is not None else None
    if debugger is None:
        return
    # Without waiting for them (up to 2 x 0.5 s): the kernel is exiting.
    debugger.dispose_and_kill_all_pydevd_threads(wait=False)
    # debugpy's reader would wait for its adapter to close the connection first, and the
    # non-daemon thread that waits for the reader holds Python's finalisation meanwhile.
    import socket

    for thread in list(getattr(debugger, "created_pydb_daemon_threads", ())):
        sock = getattr(thread, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def release_paused_threads() -> None:
    """Lets every thread debugpy holds paused run on, as a DAP `continue` would, without waiting
    for debugpy's answer (it answers once a thread really resumes, and a thread that an interrupt
    already took out of its pause never does): an interrupt or a shutdown must reach the cell."""
    _untraced()
    _resume_all()


def _resume_all() -> None:
    lifecycle = sys.modules.get("_pydevd_bundle.pydevd_thread_lifecycle")
    if lifecycle is not None:
        lifecycle.resume_threads("*")


def _interrupt_paused(signum: int, frame: Any) -> None:
    """SIGINT while the debugger is on: the threads debugpy holds paused are let go first, so
    that the KeyboardInterrupt that takes the main thread out of its pause leaves debugpy's state
    "running" (debugpy would otherwise count it as paused while it handles the interrupt, and
    pause it again at its next function), and the other paused threads run on to their end."""
    _resume_all()  # on the main thread, which debugpy must keep tracing: not marked untraced
    raise KeyboardInterrupt


def before_cell() -> None:
    """Before a cell, on the main thread, once the debugger has been on: interrupts by signal
    (the kernelspec's other interrupt mode) go through `_interrupt_paused`. Only Python's own
    handler is replaced: a handler a user installed stays."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt_paused)


def settle_after_cell() -> None:
    """After a cell, on the main thread: should an interrupt have taken the cell out of debugpy's
    pause without letting debugpy know (a user's own SIGINT handler, say), debugpy would still
    count this thread, and the others it paused with it, as paused: it would pause the next cell
    at its first line, and the other threads would stay paused."""
    lifecycle = sys.modules.get("_pydevd_bundle.pydevd_thread_lifecycle")
    info = getattr(threading.current_thread(), "additional_info", None)
    if lifecycle is None or info is None:
        return
    from _pydevd_bundle.pydevd_constants import STATE_SUSPEND

    if info.pydev_state == STATE_SUSPEND and not info.is_in_wait_loop:
        lifecycle.resume_threads("*")


def accept_variable(name: str) -> bool:
    return name not in _HIDDEN and not _OUTPUT_HISTORY.match(name) and not name.startswith("_i")


def _shell() -> Any:
    from IPython.core.getipython import get_ipython

    return get_ipython()


class Debugger:
    def __init__(self) -> None:
        self._explorer: Any = None
        self._removed_cleanups: dict[int, Any] = {}

    # ---- a debug session --------------------------------------------------------------------
    def start(self) -> str:
        """Starts debugpy (once per process) and returns the TCP endpoint of its adapter."""
        global _endpoint
        _untraced()
        if _endpoint is None:
            import debugpy

            # Processes a cell starts (the processes backend, multiprocessing, subprocess) are not
            # debugged: debugpy would otherwise inject itself into every Python they run.
            debugpy.configure(subProcess=False)
            host, port = debugpy.listen(("127.0.0.1", 0))
            _endpoint = f"tcp://{host}:{port}"
        self._keep_leading_empty_lines()
        return _endpoint

    def stop(self) -> None:
        _untraced()
        shell = _shell()
        if shell is None:
            return
        cleanups = shell.input_transformer_manager.cleanup_transforms
        for index in sorted(self._removed_cleanups):
            cleanups.insert(index, self._removed_cleanups.pop(index))

    def _keep_leading_empty_lines(self) -> None:
        # IPython drops a cell's leading empty lines before running it, which moves every line
        # the front end set a breakpoint on (ipykernel keeps them too while debugging).
        from IPython.core.inputtransformer2 import leading_empty_lines

        shell = _shell()
        cleanups = shell.input_transformer_manager.cleanup_transforms
        if leading_empty_lines in cleanups:
            index = cleanups.index(leading_empty_lines)
            self._removed_cleanups[index] = cleanups.pop(index)

    def attach_arguments(self, arguments: dict) -> dict:
        _untraced()
        host, _, port = (_endpoint or "tcp://127.0.0.1:0").removeprefix("tcp://").rpartition(":")
        arguments = dict(arguments)
        arguments["connect"] = {"host": host, "port": int(port)}
        arguments["logToFile"] = False
        arguments["rules"] = [{"module": name, "include": False} for name in _KERNEL_PACKAGES]
        # The kernel inside python3 is started by `python3 -c ...` (kernel/src/xlaunch.cpp): that
        # frame, "<string>", is the bottom of the main thread's stack, under every cell.
        arguments["rules"].append({"path": "<string>", "include": False})
        return arguments

    # ---- variables, while no cell is paused --------------------------------------------------
    def inspect_variables(self, message: dict) -> dict:
        _untraced()
        if self._explorer is not None:
            self._explorer.untrack_all()
        from xeus_python_shell.debugger import VariableExplorer

        # A new explorer each time: untracking leaves the previous one unusable.
        self._explorer = VariableExplorer()
        self._explorer.track()
        return _variables_response(message, self._explorer.get_children_variables())

    def variables(self, message: dict) -> dict:
        _untraced()
        if self._explorer is None:
            return _variables_response(message, [])
        reference = message.get("arguments", {}).get("variablesReference")
        return _variables_response(message, self._explorer.get_children_variables(reference))

    def modules(self, message: dict) -> dict:
        """The modules loaded from Python files (the kernel sources panel), paged as asked."""
        _untraced()
        loaded = list(sys.modules.values())
        arguments = message.get("arguments") or {}
        start = arguments.get("startModule", 0)
        count = arguments.get("moduleCount") or len(loaded)
        found = []
        for index, module in enumerate(loaded[start:start + count], start):
            origin = getattr(getattr(module, "__spec__", None), "origin", None)
            if isinstance(origin, str) and origin.endswith(".py"):
                found.append({"id": index, "name": module.__name__, "path": origin})
        seq = message.get("seq", 0)
        return {"type": "response", "seq": seq, "request_seq": seq, "success": True,
                "command": message.get("command"),
                "body": {"modules": found, "totalModules": len(loaded)}}

    def filter_variables(self, reply: dict) -> dict:
        """A paused frame's variables, as debugpy gave them, without IPython's own names."""
        body = reply.get("body") or {}
        if "variables" in body:
            body["variables"] = [v for v in body["variables"] if accept_variable(v["name"])]
        return reply

    def rich_inspect_variables(self, message: dict, evaluated: dict | None) -> dict:
        """The variable's rich representation (its display formatter's bundle)."""
        _untraced()
        name = message.get("arguments", {}).get("variableName", "")
        reply = {"type": "response", "seq": message.get("seq", 0),
                 "request_seq": message.get("seq", 0), "command": message.get("command"),
                 "success": True, "body": {"data": {}, "metadata": {}}}
        if not name.isidentifier():
            reply["success"] = name in ("special variables", "function variables")
            return reply
        data: dict = {}
        metadata: dict = {}
        if evaluated is not None:  # paused: formatted in the paused frame by debugpy
            if evaluated.get("success"):
                import ast

                data, metadata = ast.literal_eval(evaluated["body"]["result"])
        else:
            result = _shell().user_expressions({name: name})[name]
            if result.get("status") == "ok":
                data, metadata = result.get("data", {}), result.get("metadata", {})
        reply["body"] = {"data": data,
                         "metadata": {k: v for k, v in metadata.items() if k in data}}
        return reply


def _variables_response(message: dict, variables: list[dict]) -> dict:
    seq = message.get("seq", 0)
    return {"type": "response", "seq": seq, "request_seq": seq, "success": True,
            "command": message.get("command"),
            "body": {"variables": [v for v in variables if accept_variable(v["name"])]}}

