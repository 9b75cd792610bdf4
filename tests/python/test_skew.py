"""One slow item must not idle the others (issue 9): no head-of-line blocking in the window."""

from __future__ import annotations

import itertools
import time

import pytest

import engine_helpers as h
from xparallel import engine


def run(job, timeout: float = 60.0):
    assert job.wait(timeout), "job did not finish in time"
    return job


@pytest.mark.timeout(120)
def test_other_workers_go_on_past_a_slow_first_item():
    engine.get_pool(2)
    job = run(engine.submit(h.skewed_factory, range(301), workers=2))
    assert job.results == list(range(301))  # still in input order
    rows = job.timeline()  # in dispatch order: rows[k] is chunk k
    slow = rows[0]
    assert slow[1] == 0
    # A window counted in input order lets out at most 2W+1 = 5 chunks until chunk 0 is taken:
    # no chunk from the 6th on could start while it runs. Here the other worker goes on.
    window = 2 * 2 + 1
    past_the_window = [row for row in rows[window:] if row[3] < slow[4]]
    assert len(past_the_window) >= 2, rows[:12]
    assert all(row[0] != slow[0] for row in past_the_window)


@pytest.mark.timeout(90)
def test_a_slow_first_item_does_not_materialise_a_lazy_input(monkeypatch):
    from xparallel import dispatch

    # The bound, not the machine's speed, must stop the input: 256 KB of held results is about
    # 30,000 of these (0.0 pickles in 9 bytes), however fast the workers are (a fast machine
    # read 5 million items in 1.5 s, past the old fixed figure).
    monkeypatch.setattr(dispatch, "HELD_BYTES_MAX", 1 << 18)
    engine.get_pool(2)
    consumed = itertools.count()
    endless = (next(consumed) for _ in itertools.count())
    job = engine.submit(h.sleepy_factory, (0.0 if i else 60.0 for i in endless), workers=2)
    job.wait(0.5)  # (the job takes the input's first item, the slow one, before the test reads)
    seen, stalled = next(consumed), False
    deadline = time.monotonic() + 50
    while not stalled and time.monotonic() < deadline:
        job.wait(0.5)  # the dispatcher reads the input only while it is asked to wait
        before, seen = seen, next(consumed)
        stalled = seen == before + 1  # nothing read since (but the one this test took)
    job.cancel()
    assert stalled, seen  # stopped at the bound while the slow item runs...
    assert 100 < seen < 5_000_000, seen  # ...past the slow item, not at the end of the input


@pytest.mark.timeout(60)
def test_timeline_rows_carry_the_time_spent_waiting_for_a_core():
    engine.get_pool(2)
    job = run(engine.submit(h.skewed_factory, range(1, 41), workers=2, chunksize=2))
    rows = job.timeline()
    assert rows and all(len(row) == 7 for row in rows)
    for worker, first, count, start, end, cpu, wait in rows:
        assert 0.0 <= wait <= (end - start) + 0.01, (start, end, wait)
        assert cpu <= (end - start) + 0.01


def test_results_held_past_a_slow_chunk_are_bounded_in_bytes(monkeypatch):
    from xparallel import dispatch

    monkeypatch.setattr(dispatch, "HELD_BYTES_MAX", 16 << 20)
    job = engine.submit(h.megabytes_after_a_slow_first_factory, range(400), workers=2,
                        chunksize=1)
    job.wait(1.5)  # item 0 still sleeps: everything after it waits for its turn
    dispatched = job.progress()[0]
    job.cancel()
    # 16 results of 1 MB held, plus what was running or queued when the bound was reached
    assert 16 <= dispatched <= 16 + 2 * 2 + 1 + 2, dispatched
