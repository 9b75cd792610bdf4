"""The xparallel kernel, message by message, through jupyter_client and ZeroMQ."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from jupyter_client.manager import start_new_kernel

from kernel_client import execute


def test_kernel_info_names_the_implementation_and_the_embedded_python(kc):
    info = kc.kernel_info(reply=True, timeout=10)["content"]
    assert info["status"] == "ok"
    assert info["implementation"] == "xparallel"
    assert info["language_info"]["name"] == "python"
    version = execute(kc, "import platform; platform.python_version()")
    assert version.of_type("execute_result")[0]["content"]["data"]["text/plain"] == repr(
        info["language_info"]["version"])
    assert tuple(int(p) for p in info["language_info"]["version"].split(".")[:2]) >= (3, 12)


def test_execute_result_is_numbered_like_out(kc):
    first = execute(kc, "40 + 2")
    second = execute(kc, "_ * 2")
    r1 = first.of_type("execute_result")[0]["content"]
    r2 = second.of_type("execute_result")[0]["content"]
    assert r1["data"]["text/plain"] == "42" and r2["data"]["text/plain"] == "84"
    assert r2["execution_count"] == r1["execution_count"] + 1
    assert first.reply["content"]["execution_count"] == r1["execution_count"]
    out = execute(kc, f"Out[{r1['execution_count']}]")
    assert out.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"


def test_silent_cells_publish_nothing_and_do_not_count(kc):
    before = execute(kc, "1").reply["content"]["execution_count"]
    msg_id = kc.execute("print('hidden'); 5", silent=True)
    reply = kc.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["status"] == "ok"
    after = execute(kc, "1").reply["content"]["execution_count"]
    assert after == before + 1


def test_streams_are_batched_and_carry_the_request_as_parent(kc):
    run = execute(kc, "import sys\nfor i in range(2000):\n    print(i)\nprint('err', file=sys.stderr)")
    streams = run.of_type("stream")
    assert run.stdout == "".join(f"{i}\n" for i in range(2000))
    assert run.stderr == "err\n"
    assert len(streams) < 20, f"{len(streams)} stream messages for 2000 prints"
    assert all(m["parent_header"]["msg_id"] == run.reply["parent_header"]["msg_id"] for m in streams)


def test_stream_output_keeps_its_order_with_display_data(kc):
    run = execute(kc, "from IPython.display import display\nprint('a')\ndisplay('b')\nprint('c')")
    kinds = [(m["msg_type"], m["content"].get("text") or m["content"]["data"]["text/plain"])
             for m in run.messages]
    assert kinds == [("stream", "a\n"), ("display_data", "'b'"), ("stream", "c\n")]


def test_error_has_its_real_name_value_and_traceback(kc):
    run = execute(kc, "def f():\n    return 1 / 0\nf()")
    error = run.of_type("error")[0]["content"]
    assert error["ename"] == "ZeroDivisionError"
    assert error["evalue"] == "division by zero"
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in error["traceback"]]
    assert any("return 1 / 0" in line for line in plain)
    assert run.status == "error"
    assert run.reply["content"]["ename"] == "ZeroDivisionError"


def test_syntax_error_and_unknown_magic_are_clear_errors(kc):
    syntax = execute(kc, "def broken(:")
    assert syntax.status == "error"
    assert syntax.of_type("error")[0]["content"]["ename"] == "SyntaxError"
    magic = execute(kc, "%no_such_magic")
    assert magic.status == "error"
    assert "Line magic function `%no_such_magic` not found" in magic.stderr
    assert execute(kc, "'still alive'").status == "ok"


def test_ipython_magics_and_shell_escapes(kc):
    assert "per loop" in execute(kc, "%timeit -n 10 -r 2 sum(range(100))").stdout
    assert "Wall time" in execute(kc, "%%time\nsum(range(1000))").stdout
    assert execute(kc, "!echo from-the-shell").stdout.strip() == "from-the-shell"


def test_rich_display_html_and_matplotlib_png(kc):
    html = execute(kc, "from IPython.display import HTML\nHTML('<b>bold</b>')")
    assert html.of_type("execute_result")[0]["content"]["data"]["text/html"] == "<b>bold</b>"
    plot = execute(kc, "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()")
    pngs = [m for m in plot.of_type("display_data") if "image/png" in m["content"]["data"]]
    assert len(pngs) == 1
    import base64
    assert base64.b64decode(pngs[0]["content"]["data"]["image/png"])[:4] == b"\x89PNG"


def test_update_display_data_and_clear_output(kc):
    run = execute(kc, "from IPython.display import display, clear_output\n"
                      "h = display('one', display_id='d1')\n"
                      "h.update('two')\n"
                      "clear_output(wait=True)\n"
                      "print('after')")
    kinds = [m["msg_type"] for m in run.messages]
    assert kinds == ["display_data", "update_display_data", "clear_output", "stream"]
    update = run.of_type("update_display_data")[0]["content"]
    assert update["data"]["text/plain"] == "'two'"
    assert update["transient"]["display_id"] == "d1"
    assert run.of_type("clear_output")[0]["content"]["wait"] is True


def test_widget_updates_reach_the_front_end_while_the_cell_runs(kc):
    code = ("import time, ipywidgets as w\n"
            "bar = w.IntProgress(min=0, max=5)\n"
            "display(bar)\n"
            "for i in range(1, 6):\n"
            "    bar.value = i\n"
            "    time.sleep(0.2)\n")
    run = execute(kc, code)
    assert run.status == "ok"
    opens = run.of_type("comm_open")
    assert any(m["content"]["data"]["state"].get("_model_name") == "IntProgressModel" for m in opens)
    bar_id = next(m["content"]["comm_id"] for m in opens
                  if m["content"]["data"]["state"].get("_model_name") == "IntProgressModel")
    values = [m["content"]["data"]["state"]["value"] for m in run.of_type("comm_msg")
              if m["content"]["comm_id"] == bar_id and "value" in m["content"]["data"].get("state", {})]
    assert values == [1, 2, 3, 4, 5]
    updates = [m for m in run.of_type("comm_msg") if m["content"]["comm_id"] == bar_id]
    assert all(not m["after_reply"] for m in updates)
    # live: the updates are spread over the cell's run, not bunched at its end
    assert updates[-1]["received"] - updates[0]["received"] > 0.5
    assert updates[0]["received"] < run.reply["received"] - 0.5


def test_front_end_messages_reach_a_widget(kc):
    run = execute(kc, "import ipywidgets as w\ns = w.IntSlider(value=1)\ndisplay(s)")
    comm_id = next(m["content"]["comm_id"] for m in run.of_type("comm_open")
                   if m["content"]["data"]["state"].get("_model_name") == "IntSliderModel")
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id,
                                      "data": {"method": "update", "state": {"value": 42}, "buffer_paths": []}})
    kc.shell_channel.send(msg)
    time.sleep(0.5)
    assert execute(kc, "s.value").of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"
    info = kc.comm_info(reply=True) if hasattr(kc, "comm_info") else None
    if info is not None:
        assert comm_id in info["content"]["comms"]


def test_complete_inspect_is_complete_and_history(kc):
    execute(kc, "import collections\nmy_variable_xyz = 3")
    complete = kc.complete("my_variable_x", reply=True, timeout=10)["content"]
    assert "my_variable_xyz" in complete["matches"]
    assert complete["cursor_start"] == 0 and complete["cursor_end"] == len("my_variable_x")
    inspect = kc.inspect("collections.OrderedDict", reply=True, timeout=10)["content"]
    assert inspect["found"] and "OrderedDict" in inspect["data"]["text/plain"]
    def is_complete(code):
        msg_id = kc.is_complete(code)
        reply = kc.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg_id
        return reply["content"]

    block = is_complete("for i in range(3):")
    assert block["status"] == "incomplete" and block["indent"] == "    "
    assert is_complete("x = 1")["status"] == "complete"
    assert is_complete("x = (")["status"] == "incomplete"
    assert is_complete("x = )")["status"] == "invalid"
    history = kc.history(hist_access_type="tail", n=5, reply=True, timeout=10)["content"]
    assert history["status"] == "ok"
    assert any("my_variable_xyz" in entry[2] for entry in history["history"])


def test_input_goes_through_input_request(kc):
    prompts = []

    def answer(request):
        prompts.append(request["content"]["prompt"])
        return "Ada"

    run = execute(kc, "name = input('Who? ')\nprint('hello', name)", allow_stdin=True, stdin=answer)
    assert prompts == ["Who? "]
    assert run.stdout == "hello Ada\n"


def test_input_without_stdin_is_a_clear_error(kc):
    run = execute(kc, "input('x')", allow_stdin=False)
    assert run.status == "error"
    error = run.of_type("error")[0]["content"]
    assert error["ename"] == "StdinNotImplementedError"
    assert "does not" in error["evalue"]
    assert execute(kc, "1 + 1").status == "ok"


@pytest.mark.parametrize("code", ["import time\ntime.sleep(60)", "while True:\n    pass"])
def test_interrupt_ends_the_cell_within_a_second(km, kc, code):
    msg_id = kc.execute(code)
    time.sleep(0.5)
    started = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=10)
    elapsed = time.monotonic() - started
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert elapsed < 1.0
    assert execute(kc, "'usable'").of_type("execute_result")[0]["content"]["data"]["text/plain"] == "'usable'"


def test_interrupt_while_idle_is_harmless(km, kc):
    km.interrupt_kernel()
    time.sleep(0.3)
    run = execute(kc, "import time; time.sleep(0.2); 'fine'")
    assert run.status == "ok"


def test_sigint_never_ends_the_kernel(km, kc):
    pid = km.provisioner.process.pid
    os.kill(pid, signal.SIGINT)  # idle
    time.sleep(0.3)
    assert km.is_alive()
    msg_id = kc.execute("import time\ntime.sleep(30)")
    time.sleep(0.5)
    os.kill(pid, signal.SIGINT)  # during a cell: ends it, as in a terminal
    reply = kc.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["ename"] == "KeyboardInterrupt"
    assert km.is_alive()
    assert execute(kc, "2 + 2").status == "ok"


def test_restart_and_shutdown_are_clean():
    km, kc = start_new_kernel(kernel_name="xparallel", startup_timeout=60)
    try:
        execute(kc, "x = 5")
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=60)
        run = execute(kc, "'x' in globals()")
        assert run.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "False"
        process = km.provisioner.process
        kc.execute("import time\ntime.sleep(60)")  # shutdown with a cell running
        time.sleep(0.3)
        started = time.monotonic()
        km.shutdown_kernel(now=False)
        assert time.monotonic() - started < 5
        assert process.wait(timeout=5) == 0
    finally:
        kc.stop_channels()


def test_interrupts_while_output_is_being_published_leave_the_kernel_usable(km, kc):
    # An interrupt that lands while the kernel is inside a ZeroMQ send must not break the socket
    # or the shell loop (libzmq fails such a send with EINTR).
    for attempt in range(12):
        msg_id = kc.execute("import sys\nwhile True:\n    print('x' * 200)\n    sys.stdout.flush()")
        time.sleep(0.05 + 0.04 * attempt)
        km.interrupt_kernel()
        deadline = time.monotonic() + 10
        while True:
            reply = kc.get_shell_msg(timeout=10)
            if reply["parent_header"]["msg_id"] == msg_id:
                break
            assert time.monotonic() < deadline
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        drain_iopub(kc)  # the flood: IOPub drops what exceeds its high-water mark, as in any kernel
        assert execute(kc, "'alive'", timeout=10).status == "ok"


def drain_iopub(kc, quiet: float = 0.5) -> None:
    import queue

    while True:
        try:
            kc.get_iopub_msg(timeout=quiet)
        except queue.Empty:
            return


def test_a_signal_handled_by_user_code_never_ends_the_kernel(km, kc):
    # A user's own handler (here SIGUSR1) must run in a cell, and the same signal arriving while
    # the kernel is idle must not break its message loops.
    run = execute(kc, "import signal\nhits = []\nsignal.signal(signal.SIGUSR1, lambda *a: hits.append(1))")
    assert run.status == "ok"
    pid = km.provisioner.process.pid
    for _ in range(5):
        os.kill(pid, signal.SIGUSR1)
        time.sleep(0.05)
    assert km.is_alive()
    assert execute(kc, "import time\ntime.sleep(0.2)\nlen(hits) >= 1").of_type(
        "execute_result")[0]["content"]["data"]["text/plain"] == "True"
    kc.execute("import os, signal, time\nos.kill(os.getpid(), signal.SIGUSR1)\ntime.sleep(0.2)")
    assert execute(kc, "len(hits) >= 2").of_type("execute_result")[0]["content"]["data"]["text/plain"] == "True"
