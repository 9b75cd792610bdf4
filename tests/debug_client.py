"""Driving a kernel's debugger over jupyter_client the way JupyterLab does: debug_request on the
control channel, debug_event on IOPub."""

from __future__ import annotations

import queue
import time
from typing import Any


class DebugClient:
    """One client's debug session with a kernel. IOPub is read by whoever waits for something;
    what it is not waiting for is kept for later."""

    def __init__(self, kc: Any) -> None:
        self.kc = kc
        self.seq = 0
        self.events: list[dict] = []  # debug_event contents, in arrival order
        self.iopub: list[dict] = []  # every other IOPub message

    # ---- requests ---------------------------------------------------------------------------
    def request(self, command: str, arguments: dict | None = None, timeout: float = 30) -> dict:
        """Sends a debug_request and returns its debug_reply's content."""
        self.seq += 1
        content = {"type": "request", "seq": self.seq, "command": command,
                   "arguments": arguments or {}}
        message = self.kc.session.msg("debug_request", content)
        self.kc.control_channel.send(message)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no debug_reply to {command} within {timeout}s"
            try:
                reply = self.kc.control_channel.get_msg(timeout=min(left, 0.05))
            except queue.Empty:
                self._drain_iopub()
                continue
            if reply["parent_header"].get("msg_id") == message["header"]["msg_id"]:
                assert reply["msg_type"] == "debug_reply", reply
                return reply["content"]

    def control(self, msg_type: str, content: dict | None = None, timeout: float = 30) -> dict:
        """Any other control request (interrupt_request, shutdown_request): its reply."""
        message = self.kc.session.msg(msg_type, content or {})
        self.kc.control_channel.send(message)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no reply to {msg_type} within {timeout}s"
            try:
                reply = self.kc.control_channel.get_msg(timeout=min(left, 0.05))
            except queue.Empty:
                continue
            if reply["parent_header"].get("msg_id") == message["header"]["msg_id"]:
                return reply

    # ---- IOPub --------------------------------------------------------------------------------
    def _drain_iopub(self, timeout: float = 0) -> bool:
        try:
            message = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return False
        if message["msg_type"] == "debug_event":
            self.events.append(message["content"])
        else:
            self.iopub.append(message)
        return True

    def wait_event(self, event: str, timeout: float = 30, after: int = 0) -> dict:
        """The first `event` (a debug_event's content) among those from index `after` on."""
        deadline = time.monotonic() + timeout
        while True:
            for content in self.events[after:]:
                if content.get("event") == event:
                    return content
            left = deadline - time.monotonic()
            assert left > 0, f"no {event} event within {timeout}s; events: {self.events}"
            self._drain_iopub(timeout=min(left, 0.05))

    def wait_reply(self, msg_id: str, timeout: float = 30) -> dict:
        """The shell reply to `msg_id` (e.g. an execute_request sent with kc.execute)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no shell reply within {timeout}s; events: {self.events}"
            self._drain_iopub()
            try:
                reply = self.kc.get_shell_msg(timeout=min(left, 0.05))
            except queue.Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def run(self, code: str, timeout: float = 30) -> dict:
        """Runs a cell to its reply. Right after a cell that failed (an interrupted one), the
        kernel aborts requests that arrive within a short window (stop_on_error): such a cell is
        sent again, as kernel_client.execute does."""
        for _ in range(3):
            reply = self.wait_reply(self.kc.execute(code), timeout=timeout)
            content = reply["content"]
            if not (content["status"] in ("error", "aborted") and "ename" not in content):
                return reply
            time.sleep(0.2)
        raise AssertionError(f"the kernel kept aborting {code!r}")

    def stream_of(self, msg_id: str, name: str = "stdout") -> str:
        """What the request `msg_id` printed on stdout or stderr (IOPub read until quiet)."""
        while self._drain_iopub(timeout=0.2):
            pass
        return "".join(m["content"]["text"] for m in self.iopub
                       if m["msg_type"] == "stream" and m["content"]["name"] == name
                       and m["parent_header"].get("msg_id") == msg_id)

    # ---- JupyterLab's steps -----------------------------------------------------------------
    def start(self) -> dict:
        """What JupyterLab sends when its debugger is switched on: initialize, attach,
        debugInfo. Returns debugInfo's body."""
        reply = self.request("initialize", {
            "clientID": "jupyterlab", "clientName": "JupyterLab", "adapterID": "python",
            "pathFormat": "path", "linesStartAt1": True, "columnsStartAt1": True,
            "supportsVariableType": True, "supportsVariablePaging": True,
            "supportsRunInTerminalRequest": True, "locale": "en"})
        assert reply["success"], reply
        reply = self.request("attach", {})
        assert reply["success"], reply
        info = self.request("debugInfo")
        assert info["success"], info
        return info["body"]

    def set_breakpoints(self, code: str, lines: list[int]) -> tuple[str, dict]:
        """dumpCell then setBreakpoints on the cell's file, as JupyterLab does for a cell with
        breakpoints in its gutter. Returns the cell's file and setBreakpoints' reply."""
        dumped = self.request("dumpCell", {"code": code})
        assert dumped["success"], dumped
        path = dumped["body"]["sourcePath"]
        reply = self.request("setBreakpoints", {
            "breakpoints": [{"line": line} for line in lines],
            "source": {"path": path}, "sourceModified": False})
        assert reply["success"], reply
        return path, reply

    def stop(self) -> dict:
        return self.request("disconnect", {"restart": False, "terminateDebuggee": False})
