"""Output is prompt and comes through one thread-safe path: a line reaches the front end within
about 0.2 s however long the cell then runs; what threads the user started print, display or send
to widgets arrives while no cell runs; a cell's output always precedes its idle status."""

from __future__ import annotations

import queue
import time

import pytest

from kernel_client import execute


def collect(kc, seconds: float, until=None) -> list[dict]:
    """Every IOPub message for `seconds` (or until `until(messages)`), stamped on arrival."""
    messages: list[dict] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = kc.get_iopub_msg(timeout=0.01)
        except queue.Empty:
            continue
        message["received"] = time.monotonic()
        messages.append(message)
        if until is not None and until(messages):
            break
    return messages


def stream_lines(messages: list[dict]) -> list[tuple[float, str]]:
    return [(m["received"], line) for m in messages if m["msg_type"] == "stream"
            for line in m["content"]["text"].splitlines()]


@pytest.mark.timeout(60)
def test_a_line_arrives_while_the_cell_goes_on(kc):
    run = execute(kc, "import time\nprint('a')\nprint('b')\ntime.sleep(3)")
    arrived = {}
    for message in run.of_type("stream"):
        for line in message["content"]["text"].splitlines():
            arrived.setdefault(line, message["received"])
    assert set(arrived) == {"a", "b"}
    assert arrived["b"] - arrived["a"] < 0.3, f"b came {arrived['b'] - arrived['a']:.2f} s after a"
    assert run.reply["received"] - arrived["b"] > 2.0


@pytest.mark.timeout(60)
def test_a_threads_prints_arrive_while_no_cell_runs(kc):
    run = execute(kc, "import threading, time\n"
                      "def chatter():\n"
                      "    time.sleep(0.3)\n"
                      "    for i in range(1000):\n"
                      "        print(f'line {i}')\n"
                      "        time.sleep(0.0005)\n"
                      "    print('done')\n"
                      "threading.Thread(target=chatter, daemon=True).start()")
    assert run.status == "ok"
    messages = collect(kc, 5, until=lambda ms: any(line == "done" for _, line in stream_lines(ms)))
    lines = stream_lines(messages)
    assert [line for _, line in lines] == [f"line {i}" for i in range(1000)] + ["done"]
    # ipykernel delivers about 1,000 such lines a second
    assert lines[-1][0] - run.reply["received"] < 2.5
    # with the parent header of the cell that started the thread (the last request)
    parents = {m["parent_header"].get("msg_id") for m in messages if m["msg_type"] == "stream"}
    assert parents == {run.reply["parent_header"]["msg_id"]}


@pytest.mark.timeout(60)
def test_display_and_widget_updates_from_a_thread_arrive_while_no_cell_runs(kc):
    run = execute(kc, "import threading, time, ipywidgets as w\n"
                      "from IPython.display import display\n"
                      "slider = w.IntSlider(value=0)\n"
                      "display(slider)\n"
                      "def later():\n"
                      "    time.sleep(0.3)\n"
                      "    display('from a thread')\n"
                      "    slider.value = 7\n"
                      "threading.Thread(target=later, daemon=True).start()")
    assert run.status == "ok"
    comm_id = next(m["content"]["comm_id"] for m in run.of_type("comm_open")
                   if m["content"]["data"]["state"].get("_model_name") == "IntSliderModel")

    def updated(messages):
        return any(m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
                   and m["content"]["data"].get("state", {}).get("value") == 7 for m in messages)

    messages = collect(kc, 3, until=updated)
    assert updated(messages), [m["msg_type"] for m in messages]
    displays = [m for m in messages if m["msg_type"] == "display_data"]
    assert [m["content"]["data"]["text/plain"] for m in displays] == ["'from a thread'"]
    assert messages[-1]["received"] - run.reply["received"] < 1.5


@pytest.mark.timeout(60)
def test_a_cells_output_precedes_its_idle_status_while_a_thread_prints(kc):
    # one write per line, so that lines do not interleave (see below)
    execute(kc, "import sys, threading, time\n"
                "noise = threading.Event()\n"
                "def noisy():\n"
                "    while not noise.is_set():\n"
                "        sys.stdout.write('noise\\n')\n"
                "        time.sleep(0.001)\n"
                "threading.Thread(target=noisy, daemon=True).start()")
    try:
        for attempt in range(5):
            msg_id = kc.execute("for i in range(300):\n    sys.stdout.write(f'main {i}\\n')")
            sequence = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                message = kc.get_iopub_msg(timeout=20)
                if message["parent_header"].get("msg_id") != msg_id:
                    continue
                if message["msg_type"] == "status":
                    if message["content"]["execution_state"] == "idle":
                        break
                    continue
                if message["msg_type"] == "stream":
                    sequence += [line for line in message["content"]["text"].splitlines()
                                 if line.startswith("main")]
            assert sequence == [f"main {i}" for i in range(300)], attempt
    finally:
        execute(kc, "noise.set()")
        collect(kc, 0.5)


@pytest.mark.timeout(60)
def test_many_threads_publishing_at_once_keep_the_kernel_sound(kc):
    # one write per line: print() writes the text and its newline separately, so lines of
    # threads printing at once interleave (as in any Python)
    run = execute(kc, "import sys, threading, ipywidgets as w\n"
                      "from IPython.display import display\n"
                      "bars = [w.IntProgress(max=200) for _ in range(4)]\n"
                      "def work(bar, k):\n"
                      "    for i in range(200):\n"
                      "        bar.value = i\n"
                      "        sys.stdout.write(f'{k} {i}\\n')\n"
                      "threads = [threading.Thread(target=work, args=(b, k)) for k, b in enumerate(bars)]\n"
                      "for t in threads: t.start()\n"
                      "for t in threads: t.join()\n"
                      "sum(b.value for b in bars)")
    assert run.status == "ok"
    assert run.of_type("execute_result")[0]["content"]["data"]["text/plain"] == str(4 * 199)
    printed = run.stdout.splitlines()
    for k in range(4):
        assert [line for line in printed if line.startswith(f"{k} ")] == [f"{k} {i}" for i in range(200)]
    assert execute(kc, "'still fine'").status == "ok"
