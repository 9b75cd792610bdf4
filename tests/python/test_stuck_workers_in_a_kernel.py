"""Stuck workers through the magic in a stock ipykernel (%load_ext xparallel), driven over ZeroMQ:
the stop button, the next cell, and a kernel shutdown with workers that do not come back."""

from __future__ import annotations

import time

import pytest

# The kernel tests need pyzmq, which the distribution builds for its default Python only (the
# engine's own tests also run on 3.13, where it is missing).
kernel_client = pytest.importorskip("kernel_client", exc_type=ImportError,
                                    reason="jupyter_client/pyzmq is not installed for this Python")
execute, start, stop = kernel_client.execute, kernel_client.start, kernel_client.stop

SLEEPING_CELL = "%%parallel -b interpreters -w 2 --quiet --chunksize 1\nimport time\nr = [time.sleep(20) for _ in range(4)]"
STUBBORN_CELL = (
    "%%parallel -b interpreters -w 2 --quiet --chunksize 1\n"
    "import time\n"
    "def stubborn(x):\n"
    "    while True:\n"
    "        try:\n"
    "            time.sleep(0.01)\n"
    "        except BaseException:\n"
    "            pass\n"
    "r = [stubborn(x) for x in range(4)]")


def ok(kc, code: str):
    run = execute(kc, code)
    assert run.status == "ok", run.messages
    return run


def interrupt_running_cell(km, kc, code: str) -> None:
    msg_id = kc.execute(code)
    time.sleep(1.5)  # both workers inside their first item
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KeyboardInterrupt"


@pytest.fixture()
def kernel():
    km, kc = start("python3")
    ok(kc, "%load_ext xparallel")
    yield km, kc
    if km.is_alive():
        stop(km, kc)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("cell", [SLEEPING_CELL, STUBBORN_CELL], ids=["sleep", "catches-all"])
def test_next_cell_starts_at_once_after_the_stop_button(km, kc, cell):
    ok(kc, "%%parallel -b interpreters -w 2 --quiet\nwarm = [x for x in range(4)]")
    interrupt_running_cell(km, kc, cell)
    started = time.monotonic()
    ok(kc, "%%parallel -b interpreters -w 2 --quiet\nr2 = [x + 1 for x in range(8)]")
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the next cell took {elapsed:.2f} s"
    run = ok(kc, "from xparallel import engine\nprint(engine.current_pool().size, r2)")
    assert run.stdout.strip() == "2 [1, 2, 3, 4, 5, 6, 7, 8]"


@pytest.mark.timeout(120)
def test_kernel_shutdown_with_workers_that_never_return_is_bounded_and_clean(km, kc):
    interrupt_running_cell(km, kc, STUBBORN_CELL)
    process = km.provisioner.process
    started = time.monotonic()
    kc.shutdown()  # what a front end sends; the kernel then exits by itself
    deadline = started + 10
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    assert process.poll() == 0, f"exit status {process.poll()} after {elapsed:.1f} s"
    assert elapsed < 5.0, f"the kernel took {elapsed:.1f} s to exit"
    kc.stop_channels()
