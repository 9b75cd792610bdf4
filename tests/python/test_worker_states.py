"""Worker states are one record from the engine to the bars (issue 26): the pool's names come out of
the job's progress as `WorkerState` members, and a bar says them as it always did."""

from __future__ import annotations

import time

import pytest

import engine_helpers as h
from xparallel import engine
from xparallel.progress import bars
from xparallel.records import WorkerState


@pytest.fixture()
def pool():
    engine.shutdown_pool(timeout=5)
    yield engine.get_pool(2)
    engine.shutdown_pool(timeout=5)


@pytest.mark.timeout(60)
def test_a_busy_worker_is_busy_from_the_engine_to_its_bar(pool):
    job = engine.submit(h.busy_factory, [1], workers=None, chunksize=1)
    try:
        deadline = time.monotonic() + 20
        states: list = []
        while WorkerState.BUSY not in states and time.monotonic() < deadline:
            job.pump(0.05)
            states = [row[3] for row in job.progress()[3]]
        assert WorkerState.BUSY in states, states
        assert all(isinstance(state, WorkerState) for state in states), states
        labels = [bar.label for bar in bars(job, 1, final=False)[1:]]
        assert any(" · working · " in label for label in labels), labels
    finally:
        job.cancel()
        job.wait(10)


@pytest.mark.timeout(10)
def test_every_engine_state_has_its_bar_label():
    assert [WorkerState.from_engine(name).label
            for name in ("starting", "idle", "busy", "stopped")] == \
        ["starting", "idle", "working", "stopped"]
