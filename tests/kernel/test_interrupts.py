"""Interrupts work however the kernel was launched: a server started in the background hands its
kernels SIGINT ignored (it survives exec). Contract: the cell stops within 2 s, the kernel keeps
running and the next cell works, in signal mode and in message mode."""

from __future__ import annotations

import queue
import time

import pytest

from kernel_client import execute, start, stop

CELLS = {
    "busy loop": "print('started')\nwhile True:\n    pass",
    "time.sleep": "import time\nprint('started')\ntime.sleep(60)",
    "parallel on interpreters": (
        "%%parallel -b interpreters -w 2\n"
        "print('started')\n"
        "def spin(i):\n"
        "    while True:\n"
        "        pass\n"
        "r = [spin(i) for i in range(4)]"),
    "parallel on threads": (
        "%%parallel -b threads -w 2\n"
        "import time\n"
        "print('started')\n"
        "def nap(i):\n"
        "    for _ in range(600):\n"
        "        time.sleep(0.05)\n"
        "r = [nap(i) for i in range(4)]"),
}


def wait_until_started(kc, msg_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = kc.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            continue
        if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "stream"
                and "started" in message["content"]["text"]):
            return
    raise AssertionError("the cell did not start")


def interrupt(km, kc, code: str) -> tuple[dict, float]:
    msg_id = kc.execute(code)
    wait_until_started(kc, msg_id)
    time.sleep(0.5)  # into the loop, the sleep or the workers' items
    started = time.monotonic()
    km.interrupt_kernel()
    deadline = started + 10
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply, time.monotonic() - started


@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode", ["signal", "message"])
def test_interrupts_when_the_launcher_ignores_sigint(mode):
    km, kc = start(sigint_ignored=True, interrupt_mode=mode)
    try:
        for name, code in CELLS.items():
            reply, elapsed = interrupt(km, kc, code)
            assert reply["content"]["status"] == "error", (name, reply["content"])
            assert reply["content"]["ename"] == "KeyboardInterrupt", (name, reply["content"])
            print(f"{mode} {name}: stopped in {elapsed:.2f} s")
            assert elapsed < 2.0, f"{name}: the cell took {elapsed:.2f} s to stop ({mode} mode)"
            assert km.is_alive(), name
            run = execute(kc, "6 * 7", timeout=20)
            assert run.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42", name
    finally:
        stop(km, kc)


@pytest.mark.timeout(60)
def test_sigint_while_idle_is_harmless_when_the_launcher_ignores_it():
    km, kc = start(sigint_ignored=True, interrupt_mode="signal")
    try:
        km.interrupt_kernel()
        time.sleep(0.3)
        assert km.is_alive()
        assert execute(kc, "import time; time.sleep(0.2); 'fine'").status == "ok"
    finally:
        stop(km, kc)
