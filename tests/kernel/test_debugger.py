"""The JupyterLab debugger through the Jupyter debug protocol, driven over jupyter_client's control
channel the way JupyterLab drives it, against the xparallel kernel and ipykernel alike."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from debug_client import DebugClient
from kernel_client import start, stop

# `kernel` (the suite's shared xparallel kernel) comes from conftest.py.

KERNELS = ["xparallel", "python3"]  # python3: ipykernel, the reference

CELL = """\
def double(v):
    w = v * 2
    return w
a = 1
b = double(a)
c = b + 1
print(c)
"""

# Per kernel, the shape of each reply of the session (keys and value types), for the comparison.
SHAPES: dict[str, dict[str, Any]] = {}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture(scope="module", params=KERNELS)
def session(request):
    km, kc = start(request.param)
    yield request.param, DebugClient(kc)
    stop(km, kc)


def names(variables_reply: dict) -> dict[str, str]:
    return {v["name"]: v["value"] for v in variables_reply["body"]["variables"]}


def frame_variables(debug: DebugClient, frame_id: int) -> dict[str, str]:
    scopes = debug.request("scopes", {"frameId": frame_id})
    assert scopes["success"], scopes
    locals_ = scopes["body"]["scopes"][0]
    return names(debug.request("variables", {"variablesReference": locals_["variablesReference"]}))


@pytest.mark.timeout(60)
def test_kernel_info_announces_the_debugger_and_the_projects_documentation(kernel):
    km, kc = kernel
    reply = kc.kernel_info(reply=True, timeout=10)
    info = reply["content"]
    # One protocol version: the one the kernel's messages carry.
    assert info["protocol_version"] == reply["header"]["version"]
    assert info["debugger"] is True and info["supported_features"] == ["debugger"]
    links = {link["text"]: link["url"] for link in info["help_links"]}
    parallel = [url for text, url in links.items() if "%%parallel" in text]
    assert parallel and "docs.python.org" not in parallel[0] and "readme" in parallel[0].lower()


BLOCK_DEBUGPY = """\
import sys


class _NoDebugpy:
    # As if debugpy were not installed.
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] == "debugpy":
            raise ModuleNotFoundError("No module named 'debugpy'", name=name)


sys.meta_path.insert(0, _NoDebugpy)
"""


@pytest.mark.timeout(60)
def test_without_debugpy_the_kernel_does_not_offer_the_debugger(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCK_DEBUGPY)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    km = KernelManager(kernel_name="xparallel")
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        info = kc.kernel_info(reply=True, timeout=10)["content"]
        assert info["debugger"] is False and info["supported_features"] == []
    finally:
        stop(km, kc)


@pytest.mark.timeout(120)
def test_a_whole_session_as_jupyterlab_drives_it(session):
    name, debug = session
    kc = debug.kc
    info = kc.kernel_info(reply=True, timeout=30)["content"]
    # ipykernel 7 says it in supported_features; JupyterLab 3 read `debugger`, which ours keeps.
    assert "debugger" in info["supported_features"]
    assert info.get("debugger", name == "python3") is True
    shapes = SHAPES.setdefault(name, {})

    body = debug.start()
    shapes["debugInfo"] = shape(body)
    assert body["isStarted"] is True and body["hashMethod"] == "Murmur2"
    path, reply = debug.set_breakpoints(CELL, [5])
    shapes["setBreakpoints"] = shape(reply["body"])
    # The cell's file is named as JupyterLab computes it, and holds the cell.
    assert path.startswith(body["tmpFilePrefix"]) and path.endswith(body["tmpFileSuffix"])
    assert re.fullmatch(r"\d+", path[len(body["tmpFilePrefix"]):-len(body["tmpFileSuffix"])])
    with open(path, encoding="utf-8") as dumped:
        assert dumped.read() == CELL
    assert reply["body"]["breakpoints"][0]["verified"] is True
    done = debug.request("configurationDone")
    assert done["success"], done

    # The variables panel while no cell runs: the notebook's namespace.
    debug.wait_reply(kc.execute("before = 41"))
    inspected = debug.request("inspectVariables")
    shapes["inspectVariables"] = shape(inspected["body"])
    assert inspected["success"] and names(inspected)["before"] == "41"
    assert "get_ipython" not in names(inspected) and "In" not in names(inspected)
    rich = debug.request("richInspectVariables", {"variableName": "before"})
    shapes["richInspectVariables"] = shape(rich["body"])
    assert rich["success"] and rich["body"]["data"]["text/plain"] == "41"
    # The sources panel: the cell's file, and the modules the kernel has loaded.
    source = debug.request("source", {"source": {"path": path}})
    shapes["source"] = shape(source["body"])
    assert source["success"] and source["body"]["content"] == CELL
    modules = debug.request("modules", {})
    shapes["modules"] = shape(modules["body"])
    assert modules["body"]["totalModules"] > 0 and modules["body"]["modules"]

    # A cell stops at the breakpoint; the paused frame is the cell's, at its line.
    seen = len(debug.events)
    msg_id = kc.execute(CELL)
    stopped = debug.wait_event("stopped", after=seen)
    shapes["stopped"] = shape(stopped["body"])
    assert stopped["body"]["reason"] == "breakpoint"
    thread = stopped["body"]["threadId"]
    info_paused = debug.request("debugInfo")["body"]
    assert thread in info_paused["stoppedThreads"]
    assert info_paused["breakpoints"] == [{"source": path, "breakpoints": [{"line": 5}]}]
    trace = debug.request("stackTrace", {"threadId": thread})
    shapes["stackTrace"] = shape(trace["body"])
    top = trace["body"]["stackFrames"][0]
    assert (top["source"]["path"], top["line"]) == (path, 5)
    # The kernel's own frames (IPython, the kernel) are left out: the cell is the whole stack.
    assert [f["source"]["path"] for f in trace["body"]["stackFrames"]] == [path]
    scopes = debug.request("scopes", {"frameId": top["id"]})
    shapes["scopes"] = shape(scopes["body"])
    variables = debug.request("variables",
                              {"variablesReference": scopes["body"]["scopes"][0]["variablesReference"]})
    shapes["variables"] = shape(variables["body"])
    assert names(variables)["a"] == "1" and "b" not in names(variables)
    rich = debug.request("richInspectVariables", {"variableName": "a", "frameId": top["id"]})
    assert rich["success"] and rich["body"]["data"]["text/plain"] == "1"
    # "Copy to globals" in the variables panel's menu: the paused frame's value, in the notebook.
    copied = debug.request("copyToGlobals", {"srcVariableName": "a", "dstVariableName": "copied_a",
                                             "srcFrameId": top["id"]})
    assert copied["success"], copied

    # Step into double(a), step over a line in it, out again, then let the cell finish.
    for command, line in (("stepIn", 2), ("next", 3), ("stepOut", 5)):
        seen = len(debug.events)
        stepped = debug.request(command, {"threadId": thread})
        assert stepped["success"], stepped
        shapes[command] = shape(stepped)
        assert debug.wait_event("stopped", after=seen)["body"]["reason"] == "step"
        frames = debug.request("stackTrace", {"threadId": thread})["body"]["stackFrames"]
        assert frames[0]["line"] == line, (command, frames)
        if command == "next":
            assert frame_variables(debug, frames[0]["id"]) == {"v": "1", "w": "2"}
    seen = len(debug.events)
    resumed = debug.request("continue", {"threadId": thread})
    shapes["continue"] = shape(resumed["body"])
    assert resumed["success"]
    assert debug.wait_reply(msg_id)["content"]["status"] == "ok"
    assert debug.stream_of(msg_id) == "3\n"
    check = debug.wait_reply(kc.execute("print(copied_a)"))
    assert debug.stream_of(check["parent_header"]["msg_id"]) == "1\n"
    debug.wait_event("continued", after=seen)
    assert debug.request("debugInfo")["body"]["stoppedThreads"] == []

    # Pausing where an exception is raised (the exceptions button of the breakpoints panel).
    assert debug.request("setExceptionBreakpoints", {"filters": ["raised"]})["success"]
    seen = len(debug.events)
    msg_id = kc.execute("def fails():\n    return 1 / 0\nfails()\n")
    stopped = debug.wait_event("stopped", after=seen)["body"]
    assert (stopped["reason"], stopped["text"]) == ("exception", "ZeroDivisionError")
    frames = debug.request("stackTrace", {"threadId": stopped["threadId"]})["body"]["stackFrames"]
    assert [(f["name"], f["line"]) for f in frames] == [("fails", 2), ("<module>", 3)]
    debug.request("setExceptionBreakpoints", {"filters": []})
    debug.request("continue", {"threadId": stopped["threadId"]})
    assert debug.wait_reply(msg_id)["content"]["ename"] == "ZeroDivisionError"

    # Switching the debugger off: cells run through, and it can be switched on again.
    assert debug.stop()["success"]
    assert debug.request("debugInfo")["body"]["isStarted"] is False
    assert debug.run(CELL)["content"]["status"] == "ok"
    body = debug.start()
    assert body["isStarted"] is True and body["breakpoints"] == []
    assert debug.stop()["success"]


def test_reply_shapes_match_ipykernel():
    """The same session's replies have the same fields, of the same types, in both kernels."""
    if set(SHAPES) != set(KERNELS):
        pytest.skip("needs the session test to have run against both kernels")
    ours, reference = SHAPES["xparallel"], SHAPES["python3"]
    assert ours.keys() == reference.keys()
    for command in reference:
        # The debugger's own additions may differ (xparallel offers no copyToGlobals).
        assert ours[command] == reference[command], command


@pytest.fixture
def paused_kernel():
    """A kernel of its own (these tests end it), its debugger on, a breakpoint hit in a loop."""
    km, kc = start("xparallel")
    debug = DebugClient(kc)
    code = "import time\nfor i in range(200):\n    time.sleep(0.01)\n"
    debug.start()
    debug.set_breakpoints(code, [3])
    debug.request("configurationDone")
    msg_id = kc.execute(code)
    stopped = debug.wait_event("stopped")
    yield km, kc, debug, msg_id, stopped["body"]["threadId"]
    if km.is_alive():
        stop(km, kc)
    else:
        kc.stop_channels()


@pytest.mark.timeout(60)
def test_an_interrupt_while_paused_ends_the_cell_and_the_kernel_goes_on(paused_kernel):
    km, kc, debug, msg_id, thread = paused_kernel
    started = time.monotonic()
    assert debug.control("interrupt_request")["content"]["status"] == "ok"
    reply = debug.wait_reply(msg_id, timeout=10)["content"]
    assert time.monotonic() - started < 2
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    assert debug.request("debugInfo")["body"]["stoppedThreads"] == []
    # The debugger is still on: the next cell runs, and a breakpoint stops again.
    assert debug.run("after = 1")["content"]["status"] == "ok"
    seen = len(debug.events)
    msg_id = kc.execute("import time\nfor i in range(200):\n    time.sleep(0.01)\n")
    thread = debug.wait_event("stopped", after=seen)["body"]["threadId"]
    debug.request("setBreakpoints", {"breakpoints": [], "source": {
        "path": debug.request("dumpCell", {"code": "import time\nfor i in range(200):\n"
                                                  "    time.sleep(0.01)\n"})["body"]["sourcePath"]}})
    debug.request("continue", {"threadId": thread})
    assert debug.wait_reply(msg_id, timeout=30)["content"]["status"] == "ok"


@pytest.mark.timeout(60)
def test_an_interrupt_by_signal_while_paused_ends_the_cell():
    """The kernelspec's other interrupt mode: the front end's manager sends SIGINT itself."""
    km, kc = start("xparallel", interrupt_mode="signal")
    try:
        debug = DebugClient(kc)
        debug.start()
        code = "import time\nfor i in range(200):\n    time.sleep(0.01)\n"
        path, _ = debug.set_breakpoints(code, [3])
        debug.request("configurationDone")
        msg_id = kc.execute(code)
        debug.wait_event("stopped")
        started = time.monotonic()
        km.interrupt_kernel()
        reply = debug.wait_reply(msg_id, timeout=10)["content"]
        assert time.monotonic() - started < 2
        assert reply["ename"] == "KeyboardInterrupt"
        debug.request("setBreakpoints", {"breakpoints": [], "source": {"path": path}})
        # Nothing stays paused: the next cell runs through.
        reply = debug.run("print('next')", timeout=10)
        assert reply["content"]["status"] == "ok", (reply["content"], debug.events[-6:])
        assert debug.request("debugInfo")["body"]["stoppedThreads"] == []
    finally:
        stop(km, kc)


@pytest.mark.timeout(60)
def test_a_shutdown_while_paused_exits_cleanly(paused_kernel):
    km, kc, debug, msg_id, thread = paused_kernel
    process = km.provisioner.process
    cells = debug.request("debugInfo")["body"]["tmpFilePrefix"]
    assert os.path.isdir(cells)
    started = time.monotonic()
    debug.control("shutdown_request", {"restart": False})
    while process.poll() is None and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert process.poll() == 0
    assert time.monotonic() - started < 5
    assert not os.path.exists(cells)  # the cells it dumped go with it


@pytest.mark.timeout(60)
def test_a_restart_while_paused_gives_a_fresh_kernel(paused_kernel):
    km, kc, debug, msg_id, thread = paused_kernel
    process = km.provisioner.process
    started = time.monotonic()
    km.restart_kernel(now=False)
    assert process.poll() == 0  # the old kernel ended by itself, not killed
    assert time.monotonic() - started < 10
    kc.wait_for_ready(timeout=30)
    fresh = DebugClient(kc)
    assert fresh.request("debugInfo")["body"]["isStarted"] is False


# ---- %%parallel cells ---------------------------------------------------------------------------
PARALLEL_CELL = """\
%%parallel -b {backend} -w 2 --quiet
offset = 10
def shift(x):
    y = x + offset
    return y
shifted = [shift(x) for x in range(4)]
"""
SETUP_LINE, ITEM_LINE = 2, 4


@pytest.fixture
def debugged(kernel):
    """The suite's shared xparallel kernel with its debugger on (off again afterwards)."""
    km, kc = kernel
    debug = DebugClient(kc)
    debug.start()
    yield kc, debug
    debug.stop()


def top_frame(debug: DebugClient, thread: int) -> dict:
    return debug.request("stackTrace", {"threadId": thread})["body"]["stackFrames"][0]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["serial", "threads"])
def test_breakpoints_stop_in_a_parallel_cells_setup_and_items(debugged, backend):
    kc, debug = debugged
    code = PARALLEL_CELL.format(backend=backend)
    path, reply = debug.set_breakpoints(code, [SETUP_LINE, ITEM_LINE])
    assert all(b["verified"] for b in reply["body"]["breakpoints"])
    debug.request("configurationDone")
    seen = len(debug.events)
    msg_id = kc.execute(code)

    # The setup line, run in the notebook.
    stopped = debug.wait_event("stopped", after=seen)
    thread = stopped["body"]["threadId"]
    frame = top_frame(debug, thread)
    assert (frame["source"]["path"], frame["line"]) == (path, SETUP_LINE)

    # An item, in the notebook's interpreter: on its main thread (serial) or a worker thread.
    seen = len(debug.events)
    debug.request("continue", {"threadId": thread})
    stopped = debug.wait_event("stopped", after=seen)
    thread = stopped["body"]["threadId"]
    frame = top_frame(debug, thread)
    assert (frame["source"]["path"], frame["line"]) == (path, ITEM_LINE)
    assert frame["name"] == "shift"
    assert frame_variables(debug, frame["id"])["x"] in {"0", "1", "2", "3"}

    # Breakpoints off, and the cell runs to its end with the right results.
    debug.request("setBreakpoints", {"breakpoints": [], "source": {"path": path}})
    debug.request("continue", {"threadId": thread})
    reply = debug.wait_reply(msg_id, timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]
    check = debug.wait_reply(kc.execute("print(shifted)"))
    assert check["content"]["status"] == "ok"
    assert debug.stream_of(check["parent_header"]["msg_id"]) == "[10, 11, 12, 13]\n"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["interpreters", "processes"])
def test_items_in_other_interpreters_are_out_of_reach_and_the_cell_says_so(debugged, backend):
    kc, debug = debugged
    code = PARALLEL_CELL.format(backend=backend)
    path, _ = debug.set_breakpoints(code, [SETUP_LINE, ITEM_LINE])
    debug.request("configurationDone")
    seen = len(debug.events)
    msg_id = kc.execute(code)
    stopped = debug.wait_event("stopped", after=seen)
    thread = stopped["body"]["threadId"]
    assert top_frame(debug, thread)["line"] == SETUP_LINE  # setup lines still stop
    seen = len(debug.events)
    debug.request("continue", {"threadId": thread})
    reply = debug.wait_reply(msg_id, timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert [e for e in debug.events[seen:] if e.get("event") == "stopped"] == []
    stderr = debug.stream_of(msg_id, "stderr")
    assert "the debugger stops in this cell's setup lines, not in its items" in stderr
    assert "-b serial" in stderr and "%parallel_debug" in stderr
    debug.request("setBreakpoints", {"breakpoints": [], "source": {"path": path}})
    check = debug.wait_reply(kc.execute("print(shifted)"))  # and the items ran right
    assert debug.stream_of(check["parent_header"]["msg_id"]) == "[10, 11, 12, 13]\n"


@pytest.mark.timeout(120)
def test_an_interrupt_while_an_item_on_a_worker_thread_is_paused(debugged):
    kc, debug = debugged
    code = ("%%parallel -b threads -w 2 --quiet\n"
            "import time\n"
            "def slow(x):\n"
            "    time.sleep(0.05)\n"
            "    return x\n"
            "r = [slow(x) for x in range(200)]\n")
    path, _ = debug.set_breakpoints(code, [4])
    debug.request("configurationDone")
    seen = len(debug.events)
    msg_id = kc.execute(code)
    thread = debug.wait_event("stopped", after=seen)["body"]["threadId"]
    assert top_frame(debug, thread)["name"] == "slow"
    started = time.monotonic()
    assert debug.control("interrupt_request")["content"]["status"] == "ok"
    reply = debug.wait_reply(msg_id, timeout=10)["content"]
    assert time.monotonic() - started < 2
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    debug.request("setBreakpoints", {"breakpoints": [], "source": {"path": path}})
    # The pool and the kernel go on: the same cell runs to its end.
    reply = debug.run(code.replace("range(200)", "range(4)"))
    assert reply["content"]["status"] == "ok", reply["content"]
