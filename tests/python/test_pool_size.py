"""The warm pool's size: None keeps it, an explicit count resizes it in place (issue 9)."""

from __future__ import annotations


import pytest

import engine_helpers as h
from xparallel import engine


def run(job, timeout: float = 30.0):
    assert job.wait(timeout), "job did not finish in time"
    return job


@pytest.fixture(autouse=True)
def fresh_pool():
    engine.shutdown_pool(timeout=5)
    yield
    engine.shutdown_pool(timeout=5)


@pytest.mark.timeout(60)
def test_none_keeps_the_current_size():
    pool = engine.get_pool(2)
    engine.get_pool(1)
    assert engine.get_pool(None) is pool and pool.size == 1
    job = run(engine.submit(h.add_one_factory, range(50), workers=None, chunksize=5))
    assert job.results == list(range(1, 51))
    assert {row[0] for row in job.timeline()} == {1}
    assert len(job.progress()[3]) == 1


@pytest.mark.timeout(60)
def test_an_explicit_count_grows_the_pool_in_place():
    pool = engine.get_pool(1)
    run(engine.submit(h.thread_id_factory, range(4), workers=1))
    grown = engine.get_pool(3)
    assert grown is pool
    assert pool.size == 3 and pool.live_interpreters == 3
    assert pool.states() == ["idle"] * 3
    job = run(engine.submit(h.slow_thread_id_factory, range(60), workers=3, chunksize=1))
    assert len(set(job.results)) == 3


@pytest.mark.timeout(60)
def test_an_explicit_count_shrinks_the_pool_in_place_keeping_its_workers():
    pool = engine.get_pool(3)
    first = run(engine.submit(h.slow_thread_id_factory, range(60), workers=3, chunksize=1))
    threads = set(first.results)
    assert engine.get_pool(1) is pool
    assert pool.size == 1 and pool.live_interpreters == 1 and pool.set_aside == 0
    job = run(engine.submit(h.thread_id_factory, range(100), workers=1, chunksize=10))
    assert len(set(job.results)) == 1
    assert set(job.results) <= threads  # a worker kept, not a new pool


@pytest.mark.timeout(60)
def test_a_worker_count_below_one_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one worker"):
        engine.get_pool(0)
