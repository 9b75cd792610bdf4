"""The sub-interpreter engine, driven from Python the way the magic drives it."""

from __future__ import annotations

import functools
import itertools
import os
import pickle
import subprocess
import sys
import textwrap
import time

import pytest

import engine_helpers as h
from xparallel import engine


def run(job, timeout: float = 60.0):
    assert job.wait(timeout), "job did not finish in time"
    return job


@pytest.fixture(scope="module")
def pool():
    return engine.get_pool(2)


def test_results_come_back_in_input_order_over_100000_items(pool):
    job = run(engine.submit(h.add_one_factory, range(100_000), workers=2))
    assert job.results == [x + 1 for x in range(100_000)]
    assert job.errors == []
    dispatched, collected, total, workers = job.progress()
    assert dispatched == collected == total == 100_000
    assert sum(w[0] for w in workers) == 100_000
    assert len(job.timeline()) > 2


def test_work_is_spread_over_several_threads(pool):
    job = run(engine.submit(h.thread_id_factory, range(2000), workers=2, chunksize=10))
    assert len(set(job.results)) == 2


def test_generator_of_unknown_length(pool):
    gen = (x for x in range(5000) if x % 3 == 0)
    job = run(engine.submit(h.square_factory, gen, workers=2))
    assert job.results == [x * x for x in range(5000) if x % 3 == 0]
    assert job.progress()[2] == len(job.results)


def test_an_endless_generator_is_consumed_with_bounded_lookahead(pool):
    consumed = itertools.count()
    job = engine.submit(h.add_one_factory, (next(consumed) for _ in itertools.count()), workers=2)
    job.pump(0.2)
    job.cancel()
    assert job.cancelled
    seen = next(consumed)
    assert seen < 10_000_000  # not materialised
    assert job.results == list(range(1, len(job.results) + 1))


def test_exception_carries_index_worker_and_traceback(pool):
    job = run(engine.submit(h.failing_at_seven_factory, range(20), workers=2, chunksize=1))
    assert len(job.errors) == 1
    error = job.errors[0]
    assert error.item == "7"
    assert (error.index, error.kind, error.type_name) == (7, "item", "ValueError")
    assert error.worker in (1, 2)
    assert "seven is not allowed" in error.message
    assert "fail_at_seven" in error.traceback and "engine_helpers.py" in error.traceback
    raised = pickle.loads(error.pickled)
    assert isinstance(raised, ValueError) and str(raised) == "seven is not allowed (got 7)"
    assert isinstance(error.exception(), ValueError)  # the same exception, with the notes
    assert job.results[:7] == list(range(7))  # partial results before the failure


def test_collecting_errors_keeps_going(pool):
    job = run(engine.submit(h.failing_at_seven_factory, range(20), workers=2, stop_on_error=False))
    assert [e.index for e in job.errors] == [7]
    assert len(job.results) == 20
    assert job.results[8:] == list(range(8, 20))


def test_unpicklable_item_is_named(pool):
    import threading

    items = [1, 2, threading.Lock(), 4]  # a lambda travels now (cloudpickle): a lock never does
    with pytest.raises(TypeError, match=r"item 2 \(<unlocked _thread.lock .*cannot be sent to a worker"):
        run(engine.submit(h.add_one_factory, items, workers=2, chunksize=4))


def test_unpicklable_result_is_named(pool):
    job = run(engine.submit(h.unpicklable_result_factory, range(6), workers=2,
                            stop_on_error=False, chunksize=6))
    assert [(e.index, e.kind) for e in job.errors] == [(3, "result")]
    assert "result of item 3 cannot be sent back" in job.errors[0].message


def test_unpicklable_exception_still_reports_type_and_message(pool):
    job = run(engine.submit(h.unpicklable_exception_factory, range(5), workers=2))
    error = job.errors[0]
    assert (error.index, error.type_name, error.message, error.pickled) == \
        (2, "StubbornError", "item two", None)
    assert "StubbornError: item two" in error.traceback


def test_cancel_interrupts_a_busy_loop_within_a_second_and_the_pool_stays_usable(pool):
    job = engine.submit(h.busy_factory, [1, 2], workers=2, chunksize=1)
    time.sleep(0.3)
    job.pump(0.05)
    assert all(state == "busy" for state in pool.states())
    started = time.monotonic()
    job.cancel()
    after = run(engine.submit(h.add_one_factory, range(10), workers=2), timeout=5)
    assert after.results == list(range(1, 11))
    assert time.monotonic() - started < 1.0


def test_worker_output_is_captured_per_worker(pool):
    pool.drain_events()
    run(engine.submit(h.printing_factory, range(4), workers=2, chunksize=1))
    events = pool.drain_events()
    assert {w for w, _, _ in events} <= {1, 2}
    lines = []
    for worker in (1, 2):  # a worker's own output is in order; workers interleave
        text = "".join(t for w, stream, t in events if w == worker and stream == 1)
        lines += [line for line in text.splitlines() if line]
    assert sorted(lines) == [f"item {i}" for i in range(4)]


def test_workers_see_the_notebook_sys_path(pool, tmp_path, monkeypatch):
    (tmp_path / "xp_path_probe.py").write_text("value = lambda x: ('probe', x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    job = run(engine.submit(functools.partial(h.import_factory("xp_path_probe")), range(3), workers=2))
    assert job.results == [("probe", 0), ("probe", 1), ("probe", 2)]


def test_numpy_refusal_is_recognisable(pool):
    # Debian's NumPy is built for the distribution's default Python only (3.14, not 3.13).
    pytest.importorskip("numpy", reason="NumPy is not installed for this Python",
                        exc_type=ImportError)
    job = run(engine.submit(h.numpy_factory, range(3), workers=2))
    error = job.errors[0]
    assert error.kind == "setup"
    assert engine.is_subinterpreter_refusal(error.type_name, error.message), error.message


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_200_consecutive_jobs_keep_memory_bounded(pool):
    for _ in range(20):
        run(engine.submit(h.add_one_factory, range(1000), workers=2))
    before = _rss_mb()
    for _ in range(180):
        job = run(engine.submit(h.add_one_factory, range(1000), workers=2))
        assert job.results[-1] == 1000
    assert _rss_mb() - before < 20


def test_interpreter_exit_with_a_job_running_ends_cleanly(tmp_path):
    script = tmp_path / "exit_while_busy.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(h.__file__)!r})
        import engine_helpers as h
        from xparallel import engine
        job = engine.submit(h.busy_factory, [1, 2, 3, 4], workers=2, chunksize=1)
        job.pump(0.3)
        print("leaving with", engine.current_pool().states(), flush=True)
    """))
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "leaving with ['busy', 'busy']" in done.stdout
    assert time.monotonic() - started < 5


def test_resize_and_restart():
    small = engine.get_pool(1)
    assert small.size == 1 and small.live_interpreters == 1
    assert run(engine.submit(h.add_one_factory, range(5), workers=1)).results == [1, 2, 3, 4, 5]
    fresh = engine.restart_pool(2)
    assert fresh.size == 2 and fresh.states() == ["idle", "idle"]
