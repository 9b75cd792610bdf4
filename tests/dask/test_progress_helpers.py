"""Reading the progress widgets' comm traffic of one run (what a widget front end would see)."""

from __future__ import annotations

import time
import uuid

CONTROL_PROTOCOL = {"version": "1.0.0"}


def attach_widget_front_end(kc) -> None:
    """What Notebook 7's widget manager does when it connects: open the widget control comm."""
    msg = kc.session.msg("comm_open", {"comm_id": uuid.uuid4().hex,
                                       "target_name": "jupyter.widget.control", "data": {}},
                         metadata=CONTROL_PROTOCOL)
    kc.shell_channel.send(msg)
    time.sleep(0.5)


def bar_history(run) -> dict[str, list[tuple[float, int, bool]]]:
    """Per progress bar, named by its last description: (received, value, after the reply)."""
    names: dict[str, str] = {}
    values: dict[str, list[tuple[float, int, bool]]] = {}
    for m in run.messages:
        content = m["content"]
        if m["msg_type"] == "comm_open":
            state = content["data"].get("state", {})
            if state.get("_model_name") != "IntProgressModel":
                continue
            names[content["comm_id"]] = state.get("description", "")
            values[content["comm_id"]] = []
        elif m["msg_type"] == "comm_msg" and content["comm_id"] in names:
            state = content["data"].get("state", {})
            if "description" in state:
                names[content["comm_id"]] = state["description"]
            if "value" in state:
                values[content["comm_id"]].append((m["received"], state["value"], m["after_reply"]))
    return {names[cid]: history for cid, history in values.items()}
