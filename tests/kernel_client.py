"""Talking to a real kernel with jupyter_client over ZeroMQ: run a cell, collect what it sent."""

from __future__ import annotations

import ast
import queue
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from jupyter_client.manager import KernelManager


@dataclass
class Run:
    reply: dict
    messages: list[dict] = field(default_factory=list)
    aborted: bool = False

    def of_type(self, *kinds: str) -> list[dict]:
        return [m for m in self.messages if m["msg_type"] in kinds]

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream")
                       if m["content"]["name"] == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream")
                       if m["content"]["name"] == "stderr")

    @property
    def status(self) -> str:
        return self.reply["content"]["status"]


POLL_SLACK = 0.05


def execute(kc, code: str, timeout: float = 60, allow_stdin: bool = False,
            on_message: Callable[[dict], None] | None = None,
            stdin: Callable[[dict], str] | None = None) -> Run:
    """Runs one cell; returns its reply and every IOPub message it caused, in arrival order.
    Each message gets a 'received' timestamp and whether the kernel sent it after the reply."""
    for _ in range(3):
        run = _execute_once(kc, code, timeout, allow_stdin, on_message, stdin)
        if not run.aborted:
            return run
        time.sleep(0.2)
    raise AssertionError(f"the kernel kept aborting {code!r}")


def _execute_once(kc, code, timeout, allow_stdin, on_message, stdin) -> Run:
    msg_id = kc.execute(code, allow_stdin=allow_stdin)
    run = Run(reply={})
    deadline = time.monotonic() + timeout
    idle = False
    while not (idle and run.reply):
        left = deadline - time.monotonic()
        assert left > 0, f"no reply within {timeout}s for {code!r}"
        if stdin is not None:
            try:
                request = kc.get_stdin_msg(timeout=0)
                kc.input(stdin(request))
            except queue.Empty:
                pass
        if not run.reply:
            try:
                reply = kc.get_shell_msg(timeout=0)
                if reply["parent_header"].get("msg_id") == msg_id:
                    reply["received"] = time.monotonic()
                    run.reply = reply
                    content = reply["content"]
                    if content.get("status") in ("error", "aborted") and "ename" not in content:
                        # Queued behind a failed cell: the kernel aborted it without running it
                        # (stop_on_error) and publishes no status for it.
                        run.aborted = True
                        return run
            except queue.Empty:
                pass
        try:
            message = kc.get_iopub_msg(timeout=0.01)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        message["received"] = time.monotonic()
        if message["msg_type"] == "execute_input":
            continue
        if message["msg_type"] == "status":
            idle = message["content"]["execution_state"] == "idle"
            continue
        run.messages.append(message)
        if on_message is not None:
            on_message(message)
    # Shell and IOPub are separate sockets read in turn every 10 ms, so an IOPub message sent just
    # before the reply can be read just after it. (Header dates cannot order them: xeus 6 writes
    # the microseconds without zero padding, so 0.047 s reads as 0.47 s.)
    for message in run.messages:
        message["after_reply"] = message["received"] > run.reply["received"] + POLL_SLACK
    return run


def value(kc, expression: str) -> Any:
    """The value of a Python literal expression, evaluated in the kernel."""
    run = execute(kc, f"print(repr({expression}))")
    assert run.status == "ok", run.messages
    return ast.literal_eval(run.stdout.strip())


def start(kernel_name: str = "xparallel", *, sigint_ignored: bool = False,
          interrupt_mode: str | None = None):
    """Starts a kernel and waits until it answers kernel_info. `sigint_ignored` launches it the
    way a server started in the background does (SIGINT ignored, which survives exec);
    `interrupt_mode` overrides the kernelspec's ("signal" or "message")."""
    km = KernelManager(kernel_name=kernel_name)
    if interrupt_mode is not None:
        km.kernel_spec.interrupt_mode = interrupt_mode
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if sigint_ignored else None
    try:
        km.start_kernel()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
    except RuntimeError:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        raise
    return km, kc


def stop(km, kc) -> None:
    kc.stop_channels()
    km.shutdown_kernel(now=False)


# ---- kernels as pytest fixtures, defined once: a suite's conftest imports the one it uses -----------
import pytest  # noqa: E402 - only the fixtures below need it


@pytest.fixture(scope="module", name="kernel")
def xparallel_kernel():
    """The xparallel kernel, one per test module."""
    km, kc = start("xparallel")
    yield km, kc
    stop(km, kc)


@pytest.fixture(scope="module", name="kernel", params=["xparallel", "python3"],
                ids=["xparallel-kernel", "ipykernel"])
def magic_kernels(request):
    """The magic in its own kernel (loaded at start) and in a stock ipykernel (%load_ext)."""
    km, kc = start(request.param)
    if request.param == "python3":
        assert execute(kc, "%load_ext xparallel").status == "ok"
    yield km, kc
    stop(km, kc)
