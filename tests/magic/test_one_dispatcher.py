"""One dispatcher for every backend (issue 17): the same chunk rule, the same error records, and
worker output that reaches the cell while the item still runs, through a real kernel."""

from __future__ import annotations

import math
import time

import pytest

from kernel_client import execute, value

BACKENDS = ["interpreters", "threads", "processes", "serial"]


def ok(kc, code: str, **kwargs):
    run = execute(kc, code, **kwargs)
    assert run.status == "ok", (code, run.stderr, [m["content"] for m in run.of_type("error")])
    return run


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_chunk_rule_is_the_same_on_every_backend(kc, backend):
    total = 3000
    ok(kc, f"%%parallel -b {backend} -w 2 --quiet\nr = [sum(range(x % 7 * 200)) for x in range({total})]")
    rows = value(kc, "[(row[1], row[2]) for row in _parallel.timeline]")
    slots = 1 if backend == "serial" else 2
    firsts = [first for first, _ in rows]
    sizes = [count for _, count in rows]
    assert firsts == sorted(firsts) and sum(sizes) == total
    assert all(first == sum(sizes[:k]) for k, first in enumerate(firsts))  # contiguous
    assert sizes[0] == 1  # single items until one is measured
    balanced = math.ceil(total / (slots * 4))
    for first, count in rows:
        # a few chunks per worker, and near the end at most half a worker's share of what is left
        left = total - first
        assert count <= max(1, balanced, 1) and count <= max(1, math.ceil(left / (2 * slots))), \
            (backend, first, count)
    assert sizes[-1] <= 2  # the tail is split down: no worker idles behind a long last chunk


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_error_record_on_every_backend(kc, backend):
    ok(kc, "def check(x):\n    if x == 5:\n        raise ValueError(f'bad {x}')\n    return x")
    ok(kc, f"%%parallel -b {backend} -w 2 --quiet --errors collect --chunksize 2\n"
           "r = [check(x) for x in range(8)]")
    assert value(kc, "[type(e).__name__ for e in _parallel.errors]") == ["ItemError"]
    assert value(kc, "[(e.index, e.kind, e.type_name, e.message, e.item) for e in _parallel.errors]") \
        == [(5, "item", "ValueError", "bad 5", "5")]
    assert value(kc, "_parallel.errors[0].worker in (1, 2)") is True
    assert value(kc, "'check' in _parallel.errors[0].traceback") is True
    assert value(kc, "(type(r[5]).__name__, r[5] is _parallel.errors[0].exception())") == \
        ("ValueError", True)


def run_timed(kc, code: str, timeout: float = 60):
    """Runs a cell, stamping each IOPub message with the wall clock when it arrived."""
    def stamp(message: dict) -> None:
        message["arrived"] = time.time()

    return execute(kc, code, timeout=timeout, on_message=stamp)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_print_reaches_the_cell_within_half_a_second_while_the_item_runs(kc, backend):
    """print, stderr and a warning, each prefixed with its worker, while the item still runs."""
    run = run_timed(kc, f"%%parallel -b {backend} -w 2 --quiet --chunksize 1\n"
                        "import time, sys, warnings\n"
                        "def slow(x):\n"
                        "    print('written at', time.time(), flush=True)\n"
                        "    print('to stderr at', time.time(), file=sys.stderr)\n"
                        "    warnings.warn(f'careful at {time.time()}')\n"
                        "    time.sleep(2.5)\n"
                        "    return x\n"
                        "r = [slow(x) for x in range(1)]")
    assert run.status == "ok", run.stderr
    finished = run.reply["received"]
    seen = {}
    for message in run.of_type("stream"):
        for line in message["content"]["text"].splitlines():
            if "UserWarning: careful at " in line:  # a warning: on stderr, prefixed too
                assert line.split()[0] in ("[w1]", "[w2]"), line
                seen["warning"] = (line, float(line.split()[-1]), message)
            elif " at " in line and "warnings.warn" not in line:  # not the source shown
                worker, what = line.split(" at ")[0].split(" ", 1)
                assert worker in ("[w1]", "[w2]"), line
                seen[what] = (line, float(line.split()[-1]), message)
    assert set(seen) == {"written", "to stderr", "warning"}, \
        [m["content"] for m in run.of_type("stream")]
    for line, written, message in seen.values():
        assert message["arrived"] - written < 0.5, (backend, line, message["arrived"] - written)
        assert finished - message["received"] > 1.5  # the item was still running
    assert seen["to stderr"][2]["content"]["name"] == "stderr"
    assert seen["warning"][2]["content"]["name"] == "stderr"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cell_printing_100000_lines_stays_bounded(kc, backend):
    run = run_timed(kc, f"%%parallel -b {backend} -w 2 --quiet\n"
                        "def chatty(x):\n"
                        "    for k in range(1000):\n"
                        "        print(x, k)\n"
                        "    return x\n"
                        "r = [chatty(x) for x in range(100)]", timeout=120)
    assert run.status == "ok", run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("[w")]
    assert len(lines) == 100_000
    # Batched: a few hundred messages, not one per line.
    assert len(run.of_type("stream")) < 5000, len(run.of_type("stream"))
    by_item: dict[tuple[str, int], list[int]] = {}
    for line in lines:
        worker, x, k = line.split()
        by_item.setdefault((worker, int(x)), []).append(int(k))
    # In the order each worker wrote them (a worker may take its items in any order).
    assert all(ks == list(range(1000)) for ks in by_item.values())
    assert sorted(x for _, x in by_item) == list(range(100))
    assert value(kc, "r == list(range(100))") is True


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_progress_and_timeline_on_every_backend(kc, backend):
    ok(kc, f"%%parallel -b {backend} -w 2 --quiet --chunksize 7\nr = [x * 2 for x in range(100)]")
    workers = 1 if backend == "serial" else 2
    rows = value(kc, "[tuple(row) for row in _parallel.timeline]")
    assert all(len(row) == 7 for row in rows)
    assert [row[1] for row in rows] == list(range(0, 100, 7))  # in input order
    assert sum(row[2] for row in rows) == 100
    assert all(1 <= row[0] <= workers and 0 <= row[3] <= row[4] and row[5] >= 0 and row[6] >= 0
               for row in rows)
    assert value(kc, "(_parallel.backend, _parallel.workers, _parallel.items, _parallel.status)") \
        == (backend, workers, 100, "ok")
    assert value(kc, "len(_parallel.records)") == 100
