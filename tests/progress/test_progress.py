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
    assert values["w1"][-1][1] <= per_worker[0] and values["w2"][-1][1] <= per_worker[1]
    # The end state is drawn once, in the static rendering that replaces the widgets.
    final = run.of_type("update_display_data")[0]["content"]["data"]["text/plain"]
    for number, count in zip((1, 2), per_worker):
        assert re.search(rf"^w{number} +\|.*\| {count} items · done", final, re.M), final
    assert "16 / 16 items" in final

    cores = value(kc, "round(_parallel.cores_used, 2)")
    finals = run.of_type("update_display_data")
    assert len(finals) == 1 and f"cores used {cores:.2f}" in finals[0]["content"]["data"]["text/html"]
    assert "text/plain" not in run.stdout  # no widget reprs spilled as text


def test_failed_workers_are_marked(widget_kernel):
    _, kc = widget_kernel
    run = execute(kc, "%%parallel -b interpreters -w 2 --chunksize 1 --errors skip\n"
                      "r = [1 // (x - 5) for x in range(10)]")
    assert run.status == "ok"
    failed_worker = value(kc, "_parallel.errors[0].worker")
    final = run.of_type("update_display_data")[0]["content"]["data"]
    [line] = [l for l in final["text/plain"].splitlines() if l.startswith(f"w{failed_worker} ")]
    assert "· failed ·" in line
    assert "1 failed" in final["text/plain"]
    # the failed worker's bar and the overall one, in the theme's error colour (as the live bars)
    assert final["text/html"].count("var(--jp-error-color1") >= 2


def test_without_a_widget_front_end_the_same_facts_come_as_text():
    km, kc = start("xparallel")
    try:
        run = execute(kc, CELL)
        assert run.status == "ok"
        assert not run.of_type("comm_open")
        summary, *workers = [line for line in run.stdout.splitlines() if line.strip()]
        assert re.match(r"16 items in [\d.]+ s on 2 interpreters · cores used [\d.]+ · speedup ≈ "
                        r"[\d.]+× \(estimate; --compare measures it\)", summary)
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
    # The user's own widgets live on (xparallel closes only its progress widgets after a run).
    execute(kc, "import ipywidgets\nkept = ipywidgets.IntSlider(value=3)")
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
            assert content["data"]["states"]  # the widgets that are alive
            return
    pytest.fail("ipywidgets never answered the second connection's request_states")


def test_a_front_end_that_connects_after_ipywidgets_was_imported_gets_widgets():
    # Under load the widget manager's control comm can arrive after a first cell imported
    # ipywidgets (which registers its own handler for the target): the bars must still be widgets.
    km, kc = start("xparallel")
    try:
        assert execute(kc, "import ipywidgets").status == "ok"
        attach_widget_front_end(kc)
        run = execute(kc, CELL)
        assert run.status == "ok"
        names = {s.get("description") for s in widget_states(run).values()
                 if s.get("_model_name") == "IntProgressModel"}
        assert {"all", "w1", "w2"} <= names, run.stdout
    finally:
        stop(km, kc)


def comm_ids_opened(run) -> set[str]:
    return {m["content"]["comm_id"] for m in run.of_type("comm_open")}


def test_the_run_ends_as_static_html_and_text_with_its_comms_closed(widget_kernel):
    _, kc = widget_kernel
    run = execute(kc, CELL)
    assert run.status == "ok"
    shown = [m for m in run.of_type("display_data")
             if "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
    assert len(shown) == 1
    display_id = shown[0]["content"]["transient"]["display_id"]
    [final] = run.of_type("update_display_data")
    assert final["content"]["transient"]["display_id"] == display_id  # replaces it in place
    data = final["content"]["data"]
    assert set(data) == {"text/html", "text/plain"}  # no widget left in the saved output
    summary = value(kc, "_parallel.summary()")
    for text in (data["text/html"], data["text/plain"]):
        assert "16 / 16 items" in text and "w1" in text and "w2" in text
        assert "VBox" not in text and "model" not in text
    assert "xparallel-progress" in data["text/html"]
    assert summary in data["text/plain"]
    assert "█" * 30 in data["text/plain"]  # the final overall bar, full, drawn in text
    closed = {m["content"]["comm_id"] for m in run.of_type("comm_close")}
    assert comm_ids_opened(run) <= closed


def test_widgets_do_not_accumulate_in_the_kernel(widget_kernel):
    _, kc = widget_kernel
    execute(kc, "import gc, ipywidgets\n"
                "def alive():\n"
                "    gc.collect()\n"
                "    kinds = ('IntProgress', 'VBox', 'Comm')\n"
                "    return [len(ipywidgets.Widget.widgets)] + [\n"
                "        sum(type(o).__name__ == kind for o in gc.get_objects()) for kind in kinds]")
    assert execute(kc, CELL.replace("range(16)", "range(4)")).status == "ok"
    before = value(kc, "alive()")
    for _ in range(4):
        assert execute(kc, CELL.replace("range(16)", "range(4)")).status == "ok"
    assert value(kc, "alive()") == before  # widgets, and their closed comms, are let go


def bar_values(run) -> dict[str, list[tuple[int, int]]]:
    """(value, max) of every worker bar and the overall bar, in the order they were sent."""
    states = widget_states(run)
    names = {cid: s["description"] for cid, s in states.items()
             if s.get("_model_name") == "IntProgressModel"}
    seen: dict[str, list[tuple[int, int]]] = {name: [] for name in names.values()}
    current = {cid: (states[cid]["value"], states[cid]["max"]) for cid in names}
    for m in run.of_type("comm_msg"):
        cid = m["content"]["comm_id"]
        state = m["content"]["data"].get("state", {})
        if cid in names and ("value" in state or "max" in state):
            current[cid] = (state.get("value", current[cid][0]), state.get("max", current[cid][1]))
            seen[names[cid]].append(current[cid])
    return seen


def test_with_an_unknown_total_no_bar_looks_finished_during_the_run(widget_kernel):
    _, kc = widget_kernel
    run = execute(kc, "%%parallel -b interpreters -w 2 --chunksize 1\n"
                      "import time\n"
                      "r = [time.sleep(0.1) or x for x in (i for i in range(16))]")
    assert run.status == "ok"
    seen = bar_values(run)
    assert {"all", "w1", "w2"} <= set(seen)
    for name, values in seen.items():
        assert len(values) >= 2, (name, values)
        assert all(value < maximum for value, maximum in values), (name, values)
    [final] = run.of_type("update_display_data")
    assert "16 items ·" in final["content"]["data"]["text/plain"]
    assert "█" * 30 in final["content"]["data"]["text/plain"]


def test_a_finished_worker_shows_a_full_bar(widget_kernel):
    # The last item is slow: the other worker runs out of items while it runs. That worker's bar
    # is full while the cell still runs (its own items, not a share of a fair split), and both
    # are full in the final rendering.
    _, kc = widget_kernel
    run = execute(kc, "%%parallel -b interpreters -w 2 --chunksize 1\n"
                      "import time\n"
                      "r = [time.sleep(2.0 if x == 9 else 0.05) or x for x in range(10)]")
    assert run.status == "ok"
    slow = value(kc, "[row[0] for row in _parallel.timeline if row[1] == 9][0]")
    fast = f"w{3 - slow}"
    seen = bar_values(run)
    assert any(v == m and v > 0 for v, m in seen[fast]), seen
    lines = run.of_type("update_display_data")[0]["content"]["data"]["text/plain"].splitlines()
    workers = [line for line in lines if line.startswith(("w1", "w2"))]
    assert len(workers) == 2
    for line in workers:
        assert "|" + "█" * 30 + "|" in line, lines
        assert "done · CPU" in line and "of the wall time" in line
