"""A fresh kernel: ready (kernel_info) while IPython still loads, and every request sent right
after that is answered by the full kernel, %%parallel included."""

from __future__ import annotations

import pytest

from kernel_client import execute, start, stop


@pytest.mark.timeout(120)
def test_requests_right_after_start_reach_the_loaded_kernel():
    km, kc = start()
    try:
        # the very first requests, sent back to back
        inspect_id = kc.inspect("%%parallel", cursor_pos=len("%%parallel"), detail_level=0)
        complete_id = kc.complete("%%para", cursor_pos=len("%%para"))
        replies = {}
        while not {inspect_id, complete_id} <= replies.keys():  # skip start()'s kernel_info
            reply = kc.get_shell_msg(timeout=60)
            replies[reply["parent_header"]["msg_id"]] = reply["content"]
        inspect = replies[inspect_id]
        assert inspect["status"] == "ok" and inspect["found"], inspect
        assert "--backend" in inspect["data"]["text/plain"]  # the magic's own documentation
        assert "%%parallel" in replies[complete_id]["matches"]
        run = execute(kc, "%%parallel -b serial --quiet\nsquares = [x * x for x in range(5)]")
        assert run.status == "ok", run.messages
        assert execute(kc, "squares").of_type("execute_result")[0]["content"]["data"][
            "text/plain"] == "[0, 1, 4, 9, 16]"
    finally:
        stop(km, kc)


@pytest.mark.timeout(60)
def test_kernel_info_matches_the_running_python(kc):
    info = kc.kernel_info(reply=True, timeout=10)["content"]
    version = execute(kc, "import platform, IPython; print(platform.python_version())")
    assert info["language_info"]["version"] == version.stdout.strip()
    assert info["implementation_version"] == execute(
        kc, "import xparallel_kernel; print(xparallel_kernel.__version__)").stdout.strip()


@pytest.mark.timeout(60)
def test_values_json_lacks_reach_the_front_end_as_jupyter_client_sends_them(kc):
    run = execute(kc, "import datetime, math\n"
                      "from IPython.display import display\n"
                      "display({'text/plain': 'x'}, raw=True, metadata={\n"
                      "    'when': datetime.datetime(2026, 1, 2, 3, 4, 5),\n"
                      "    'nan': math.nan, 'inf': math.inf, 'pair': (1, 2), 'tags': {'a'},\n"
                      "    'blob': b'\\x00\\xff', 'big': 2**40, 'nested': {'k': [None, True, 1.5]},\n"
                      "    'text': 'h\\u00e9llo \\u2603'})")
    assert run.status == "ok", run.messages
    metadata = run.of_type("display_data")[0]["content"]["metadata"]
    assert metadata["when"] == "2026-01-02T03:04:05"
    assert metadata["nan"] is None and metadata["inf"] is None
    assert metadata["pair"] == [1, 2] and metadata["tags"] == ["a"]
    assert metadata["blob"] == "AP8="
    assert metadata["big"] == 2**40
    assert metadata["nested"] == {"k": [None, True, 1.5]}
    assert metadata["text"] == "h\u00e9llo \u2603"


@pytest.mark.timeout(60)
def test_front_end_values_reach_python_with_their_types(kc):
    run = execute(kc, "import ipywidgets as w\nt = w.Text(value='')\ndisplay(t)")
    comm_id = next(m["content"]["comm_id"] for m in run.of_type("comm_open")
                   if m["content"]["data"]["state"].get("_model_name") == "TextModel")
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {
        "method": "update", "state": {"value": "d\u00e9j\u00e0 \u2603"}, "buffer_paths": []}})
    kc.shell_channel.send(msg)
    import time
    time.sleep(0.5)
    check = execute(kc, "print(repr(t.value))")
    assert check.stdout.strip() == repr("d\u00e9j\u00e0 \u2603")


@pytest.mark.timeout(90)
def test_the_terminal_shell_and_jedi_wait_until_someone_asks_for_them():
    # The kernel's start leaves out what IPython imports for terminals (prompt_toolkit) and jedi;
    # both still work when a cell asks for them, and IPython.embed() says why it cannot run here.
    km, kc = start()
    try:
        loaded = execute(kc, "import sys\nprint(sorted(m for m in ('prompt_toolkit', 'jedi', 'astroid', "
                             "'urllib3', 'IPython.terminal.interactiveshell') if m in sys.modules))")
        assert loaded.stdout.strip() == "[]"
        embed = execute(kc, "import IPython\nIPython.embed()")
        assert embed.status == "error"
        assert "no terminal" in embed.reply["content"]["evalue"]
        later = execute(kc, "from IPython.terminal.embed import InteractiveShellEmbed\n"
                            "import jedi, prompt_toolkit\n"
                            "print(InteractiveShellEmbed.__name__, jedi.Interpreter.__name__)")
        assert later.status == "ok", later.messages
        assert later.stdout.split() == ["InteractiveShellEmbed", "Interpreter"]
        assert execute(kc, "%%parallel -b interpreters -w 2 --quiet\nr = [x + 1 for x in range(4)]"
                       ).status == "ok"
    finally:
        stop(km, kc)
