"""Live progress through the real kernel: widgets when a widget front end is attached, the same
facts as text when not."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from kernel_client import execute, start, stop, value

CONTROL_PROTOCOL = {"version": "1.0.0"}  # what ipywidgets 8's front end announces

CELL = ("%%parallel -b interpreters -w 2 --chunksize 1\n"
        "import time\n"
        "r = [time.sleep(0.15) or x for x in range(16)]")


def attach_widget_front_end(kc) -> None:
    """What Notebook 7's widget manager does when it connects: open the widget control comm."""
    msg = kc.session.msg("comm_open", {"comm_id": uuid.uuid4().hex,
                                       "target_name": "jupyter.widget.control", "data": {}},
                         metadata=CONTROL_PROTOCOL)
    kc.shell_channel.send(msg)
    time.sleep(0.5)


@pytest.fixture(scope="module")
def widget_kernel():
    km, kc = start("xparallel")
    attach_widget_front_end(kc)
    yield km, kc
    stop(km, kc)


def widget_states(run) -> dict[str, dict]:
    """comm_id -> the widget state opened for it."""
    return {m["content"]["comm_id"]: m["content"]["data"]["state"] for m in run.of_type("comm_open")}


def test_worker_bars_update_live_before_the_reply(widget_kernel):
    _, kc = widget_kernel
    run = execute(kc, CELL)
    assert run.status == "ok"
    states = widget_states(run)
    bars = {cid: s for cid, s in states.items() if s.get("_model_name") == "IntProgressModel"}
    by_name = {s["description"]: cid for cid, s in bars.items()}
    assert {"all", "w1", "w2"} <= set(by_name)
    assert all(not m["after_reply"] for m in run.of_type("comm_open"))

    values: dict[str, list[tuple[float, int]]] = {name: [] for name in by_name}
    for m in run.of_type("comm_msg"):
        state = m["content"]["data"].get("state", {})
        for name, cid in by_name.items():
            if m["content"]["comm_id"] == cid and "value" in state:
                assert not m["after_reply"]
                values[name].append((m["received"], state["value"]))
    for name in ("w1", "w2", "all"):
        seen = [v for _, v in values[name]]
        assert len(seen) >= 3, (name, seen)
        assert seen == sorted(seen), (name, seen)  # they grow
    # Live: updates arrive while the cell runs, at most about 10 a second.
    times = [t for t, _ in values["all"]]
    assert times[-1] - times[0] > 0.6
    assert run.reply["received"] - times[0] > 0.6
    assert len(times) <= (times[-1] - times[0]) * 12 + 3

    per_worker = value(kc, "[sum(1 for rec in _parallel.records if rec[1] == w) for w in (1, 2)]")
    assert [values["w1"][-1][1], values["w2"][-1][1]] == per_worker
    assert values["all"][-1][1] == 16

    cores = value(kc, "round(_parallel.cores_used, 2)")
    summaries = [m["content"]["data"]["state"]["value"] for m in run.of_type("comm_msg")
                 if "cores used" in str(m["content"]["data"].get("state", {}).get("value", ""))]
    assert summaries and f"cores used {cores:.2f}" in summaries[-1]
    assert "text/plain" not in run.stdout  # no widget reprs spilled as text


def test_failed_workers_are_marked(widget_kernel):
    _, kc = widget_kernel
    run = execute(kc, "%%parallel -b interpreters -w 2 --chunksize 1 --errors skip\n"
                      "r = [1 // (x - 5) for x in range(10)]")
    assert run.status == "ok"
    styles = {}
    bars = {cid: s for cid, s in widget_states(run).items() if s.get("_model_name") == "IntProgressModel"}
    for m in run.of_type("comm_msg"):
        state = m["content"]["data"].get("state", {})
        if m["content"]["comm_id"] in bars and "bar_style" in state:
            styles[bars[m["content"]["comm_id"]]["description"]] = state["bar_style"]
    failed_worker = value(kc, "_parallel.errors[0].worker")
    assert styles[f"w{failed_worker}"] == "danger"
    assert styles["all"] == "success" or styles["all"] == "danger"


def test_without_a_widget_front_end_the_same_facts_come_as_text():
    km, kc = start("xparallel")
    try:
        run = execute(kc, CELL)
        assert run.status == "ok"
        assert not run.of_type("comm_open")
        summary, *workers = [line for line in run.stdout.splitlines() if line.strip()]
        assert re.match(r"16 items in [\d.]+ s on 2 interpreters · cores used [\d.]+ · speedup", summary)
        assert [w.split(":")[0].strip() for w in workers] == ["w1", "w2"]
        counts = [int(w.split(":")[1].split()[0]) for w in workers]
        assert sum(counts) == 16
        quiet = execute(kc, CELL.replace("--chunksize 1", "--chunksize 1 --quiet"))
        assert len([line for line in quiet.stdout.splitlines() if line.strip()]) == 1
    finally:
        stop(km, kc)


def test_a_second_front_end_connection_still_gets_widget_state(widget_kernel):
    # ipywidgets answers each connection's control comm (e.g. a reloaded page): after xparallel
    # has seen the first, the second must still reach ipywidgets and get its reply.
    _, kc = widget_kernel
    comm_id = uuid.uuid4().hex
    kc.shell_channel.send(kc.session.msg("comm_open", {
        "comm_id": comm_id, "target_name": "jupyter.widget.control", "data": {}},
        metadata=CONTROL_PROTOCOL))
    time.sleep(0.3)
    kc.shell_channel.send(kc.session.msg("comm_msg", {
        "comm_id": comm_id, "data": {"method": "request_states"}}))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            message = kc.get_iopub_msg(timeout=0.5)
        except Exception:  # noqa: BLE001 - queue.Empty
            continue
        content = message["content"]
        if message["msg_type"] == "comm_msg" and content.get("comm_id") == comm_id:
            assert content["data"]["method"] == "update_states"
            assert content["data"]["states"]  # the widgets of the earlier cells
            return
    pytest.fail("ipywidgets never answered the second connection's request_states")
