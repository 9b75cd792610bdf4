"""What failed is a record's kind (issue 26), set where the error is made: an item that ran past
--timeout is a timeout on every backend, and an item's own TimeoutError is the item's error, even
when its message happens to mention --timeout."""

from __future__ import annotations

import pytest

from kernel_client import execute, value

CELL = ("%%parallel -b {backend} --quiet --errors collect --timeout 0.5\n"
        "import time\n"
        "def slow_or_own(x):\n"
        "    if x == 1:\n"
        "        time.sleep(30)\n"
        "    if x == 2:\n"
        "        raise TimeoutError('the server gave no reply within its --timeout')\n"
        "    return x\n"
        "r = [slow_or_own(x) for x in range(4)]")


def ok(kc, code: str):
    run = execute(kc, code, timeout=90)
    assert run.status == "ok", (code, run.stderr)
    return run


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["serial", "threads"])
def test_a_timeout_and_an_items_own_timeout_error_are_told_apart(kc, backend):
    ok(kc, CELL.format(backend=backend))
    kinds = value(kc, "sorted((e.index, str(e.kind), e.type_name) for e in _parallel.errors)")
    assert kinds == [(1, "timeout", "TimeoutError"), (2, "item", "TimeoutError")], kinds
    assert value(kc, "_parallel.timed_out") == [1]
    assert value(kc, "[r[0], r[3]]") == [0, 3]
