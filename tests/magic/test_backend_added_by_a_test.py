"""A backend is one class (issue 26): a backend defined and registered in the notebook, with no
other file touched, runs `%%parallel -b NAME` through a real kernel, its nouns in the summary and
its line in `%%parallel?`. In its own module: the kernel it registers into is this module's."""

from __future__ import annotations

import re

import pytest

from kernel_client import execute, value

INLINE_BACKEND = '''
from concurrent import futures
from xparallel.backends import register
from xparallel.backends.base import Backend, FuturesContext, run_timed


class InlineContext(FuturesContext):
    """Each chunk at once on the notebook's thread, in the notebook's namespace."""

    def __init__(self, work, stop_on_error):
        super().__init__(1)
        self._function = work.local_function
        self._stop_on_error = stop_on_error

    def _submit(self, first_index, items):
        future = futures.Future()
        future.set_result((0, *run_timed(self._function, items, first_index, self._stop_on_error)))
        return future


@register
class InlineBackend(Backend):
    name = "inline"
    help = "inline (a test's backend: items one by one on the notebook's thread)"
    nouns = ("inline runner", "inline runners")
    shares_namespace = True
    debugger_reaches = True

    def context(self, work, workers, stop_on_error):
        return InlineContext(work, stop_on_error)
'''


def ok(kc, code: str):
    run = execute(kc, code)
    assert run.status == "ok", (code, run.stderr)
    return run


def shown(run) -> str:
    return run.stdout + "".join(m["content"]["data"].get("text/plain", "")
                                for m in run.of_type("display_data", "update_display_data"))


@pytest.mark.timeout(120)
def test_a_backend_registered_in_the_notebook_runs_a_cell(kc):
    ok(kc, INLINE_BACKEND)
    ok(kc, "offset = 10")  # the notebook's namespace, shared by the inline backend
    run = ok(kc, "%%parallel -b inline\nr = [x * x + offset for x in range(7)]")
    assert value(kc, "r") == [x * x + 10 for x in range(7)]
    assert value(kc, "_parallel.backend") == "inline"
    summaries = [line for line in shown(run).splitlines() if " items in " in line]
    assert summaries and "7 items in " in summaries[-1], shown(run)
    assert " on 1 inline runner · " in summaries[-1], summaries


@pytest.mark.timeout(120)
def test_a_registered_backend_has_its_line_in_the_help(kc):
    ok(kc, INLINE_BACKEND)
    run = ok(kc, "%%parallel?")
    pages = [p["data"]["text/plain"] for p in run.reply["content"]["payload"] if p["source"] == "page"]
    # IPython colours the page; argparse wraps it: compared word by word, without colours
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", "".join(pages)).split())
    assert "inline (a test's backend: items one by one on the notebook's thread)" in text, text
    choices = re.search(r"-b \{([^}]*)\}", text)
    assert choices is not None and "inline" in choices.group(1).split(","), text


@pytest.mark.timeout(60)
def test_an_unknown_backend_names_the_registered_ones(kc):
    ok(kc, INLINE_BACKEND)
    run = execute(kc, "%%parallel -b gpu\nr = [x for x in range(3)]")
    assert run.status == "error" and "invalid choice: 'gpu'" in run.stderr
    assert "'inline'" in run.stderr, run.stderr
