"""Workers that do not come back (issue 9): a worker in a blocking call never holds the notebook.

Through the real engine: real sub-interpreters on real threads, stuck in time.sleep or in a loop
that swallows KeyboardInterrupt.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

import engine_helpers as h
from xparallel import _engine, engine


def run(job, timeout: float = 30.0):
    assert job.wait(timeout), "job did not finish in time"
    return job


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def start_stuck(factory, seconds: float, workers: int = 2):
    """A job with one item per worker, each stuck in `factory()(seconds)`."""
    pool = engine.get_pool(workers)
    job = engine.submit(factory, [seconds] * (2 * workers), workers=workers, chunksize=1)
    assert wait_until(lambda: (job.pump(0.01), pool.states())[1] == ["busy"] * workers, 10), \
        pool.states()
    return pool, job


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.fixture(autouse=True)
def fresh_pool():
    """Each test starts on a fresh 2-worker pool, and leaves none behind."""
    engine.shutdown_pool(timeout=5)
    yield
    engine.shutdown_pool(timeout=5)


@pytest.mark.timeout(30)
def test_next_job_starts_at_once_after_interrupting_sleeping_workers():
    pool, job = start_stuck(h.sleepy_factory, 20.0)
    started = time.monotonic()
    job.cancel()
    after = run(engine.submit(h.add_one_factory, range(10), workers=2))
    elapsed = time.monotonic() - started
    assert after.results == list(range(1, 11))
    assert elapsed < 1.0, f"the next job took {elapsed:.2f} s after the interrupt"
    assert engine.get_pool(None) is pool and pool.size == 2
    assert wait_until(lambda: pool.live_interpreters == 2, 2)


@pytest.mark.timeout(30)
def test_an_interrupt_wakes_time_sleep_in_a_worker_with_keyboard_interrupt():
    pool, job = start_stuck(h.sleepy_factory, 20.0)
    started = time.monotonic()
    job.cancel()
    # The sleeping items end themselves (no worker set aside): the workers are idle again.
    assert wait_until(lambda: pool.states() == ["idle", "idle"], 1.0), pool.states()
    assert time.monotonic() - started < 1.0
    assert pool.set_aside == 0


@pytest.mark.timeout(30)
def test_time_sleep_in_a_worker_keeps_its_meaning_and_errors():
    engine.get_pool(2)
    job = run(engine.submit(h.sleep_error_factory, [0.01, 0, -1, float("nan"), "x"], workers=2,
                            chunksize=1))
    assert job.results[:2] == ["slept", "slept"]
    assert job.results[2] == ("ValueError", "sleep length must be non-negative")
    assert job.results[3][0] == "ValueError"
    assert job.results[4][0] == "TypeError"
    started = time.monotonic()
    run(engine.submit(h.sleepy_factory, [0.3, 0.3], workers=2, chunksize=1))
    assert time.monotonic() - started >= 0.3  # it still sleeps


@pytest.mark.timeout(60)
def test_a_loop_that_catches_base_exception_is_set_aside_and_replaced():
    pool, job = start_stuck(h.stubborn_factory, 4.0)
    started = time.monotonic()
    job.cancel()
    after = run(engine.submit(h.add_one_factory, range(100), workers=2, chunksize=10))
    elapsed = time.monotonic() - started
    assert after.results == list(range(1, 101))
    assert elapsed < 1.0, f"the next job took {elapsed:.2f} s"
    assert pool.size == 2 and pool.set_aside == 2
    assert wait_until(lambda: pool.states() == ["idle", "idle"], 2), pool.states()
    # Both slots take work (items long enough that one worker cannot take them all).
    assert {row[0] for row in run(engine.submit(h.sleepy_factory, [0.02] * 20, workers=2,
                                                chunksize=1)).timeline()} == {1, 2}
    # Each set-aside worker ends its interpreter on its own thread once its call returns.
    assert wait_until(lambda: pool.set_aside == 0, 10)


@pytest.mark.timeout(60)
def test_a_set_aside_worker_prints_nothing_into_later_jobs():
    pool, job = start_stuck(h.late_printer_factory, 1.0)
    job.cancel()
    pool.drain_events()
    run(engine.submit(h.add_one_factory, range(10), workers=2))
    assert pool.set_aside == 2
    assert wait_until(lambda: pool.set_aside == 0, 10)  # their items returned, and printed
    text = "".join(t for _, _, t in pool.drain_events())
    assert "late output" not in text


@pytest.mark.timeout(60)
def test_a_failure_that_cancels_a_job_does_not_wait_for_sleeping_siblings():
    pool = engine.get_pool(2)
    # Item 0 fails at once; item 1 sleeps 20 s on the other worker.
    job = engine.submit(h.failing_at_seven_factory, [7], workers=2)
    run(job)
    job = engine.submit(h.sleepy_factory, [20.0, 20.0, 20.0], workers=2, chunksize=1)
    assert wait_until(lambda: (job.pump(0.01), pool.states())[1] == ["busy", "busy"], 10)
    failing = engine.submit(h.failing_at_seven_factory, [7, 7, 7], workers=2, chunksize=1)
    job.cancel()
    started = time.monotonic()
    run(failing)
    run(engine.submit(h.add_one_factory, range(10), workers=2))
    assert time.monotonic() - started < 1.0


@pytest.mark.timeout(120)
def test_threads_do_not_grow_over_repeated_cancels():
    pool = engine.get_pool(2)
    run(engine.submit(h.add_one_factory, range(10), workers=2))

    def cancel_once():
        job = engine.submit(h.busy_factory, [1, 2, 3, 4], workers=2, chunksize=1)
        assert wait_until(lambda: (job.pump(0.01), pool.states())[1] == ["busy", "busy"], 10)
        job.cancel()
        run(engine.submit(h.add_one_factory, range(10), workers=2))

    cancel_once()  # each worker's interrupter thread now exists
    threads = thread_count()
    with open("/proc/self/status") as f:
        vm_before = next(int(line.split()[1]) for line in f if line.startswith("VmSize"))
    for _ in range(15):
        cancel_once()
    with open("/proc/self/status") as f:
        vm_after = next(int(line.split()[1]) for line in f if line.startswith("VmSize"))
    assert thread_count() <= threads
    # A thread left unjoined keeps its stack mapped (8 MB): 15 cancels of 2 workers would add
    # 240 MB of address space.
    assert vm_after - vm_before < 64 * 1024, f"VmSize grew by {(vm_after - vm_before) >> 10} MB"


@pytest.mark.timeout(60)
def test_shutdown_is_bounded_and_reports_abandoned_workers():
    start_stuck(h.stubborn_factory, 3.0)
    started = time.monotonic()
    assert engine.shutdown_pool(timeout=0.5) is False
    assert time.monotonic() - started < 1.5
    assert _engine.abandoned_workers() == 2
    # A new pool works meanwhile; the abandoned workers end their interpreters when they return.
    assert run(engine.submit(h.add_one_factory, range(5), workers=2)).results == [1, 2, 3, 4, 5]
    assert wait_until(lambda: _engine.abandoned_workers() == 0, 10)
    assert engine.shutdown_pool() is True


@pytest.mark.timeout(60)
def test_restart_with_sleeping_workers_is_bounded():
    start_stuck(h.sleepy_factory, 20.0)
    started = time.monotonic()
    fresh = engine.restart_pool()
    assert time.monotonic() - started < 2.0
    assert fresh.size == 2 and fresh.states() == ["idle", "idle"]
    assert _engine.abandoned_workers() == 0  # sleeping workers were woken, not abandoned


@pytest.mark.timeout(60)
def test_restart_with_workers_that_ignore_interrupts_is_bounded():
    start_stuck(h.stubborn_factory, 3.0)
    started = time.monotonic()
    fresh = engine.restart_pool(timeout=1.0)
    assert time.monotonic() - started < 3.0
    assert fresh.size == 2 and fresh.states() == ["idle", "idle"]
    assert run(engine.submit(h.add_one_factory, range(4), workers=2)).results == [1, 2, 3, 4]
    assert wait_until(lambda: _engine.abandoned_workers() == 0, 10)


EXIT_SCRIPT = """
import sys, time
sys.path.insert(0, {helpers!r})
import engine_helpers as h
from xparallel import engine
job = engine.submit(h.{factory}, [{seconds}] * 4, workers=2, chunksize=1)
deadline = time.monotonic() + 10
while engine.current_pool().states() != ["busy", "busy"] and time.monotonic() < deadline:
    job.pump(0.02)
print("leaving with", engine.current_pool().states(), end="")  # unflushed on purpose
{tail}
"""


def run_exit_script(tmp_path, factory: str, seconds: float, tail: str = ""):
    script = tmp_path / "exit_script.py"
    script.write_text(EXIT_SCRIPT.format(helpers=os.path.dirname(h.__file__), factory=factory,
                                         seconds=seconds, tail=textwrap.dedent(tail)))
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    return done, time.monotonic() - started


@pytest.mark.timeout(90)
@pytest.mark.parametrize("factory, seconds", [("sleepy_factory", 30.0),
                                              ("stubborn_factory", 30.0)])
def test_exit_with_stuck_workers_is_bounded_and_clean(tmp_path, factory, seconds):
    done, elapsed = run_exit_script(tmp_path, factory, seconds)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "leaving with ['busy', 'busy']" in done.stdout  # flushed before leaving
    assert elapsed < 5.0, f"exit took {elapsed:.1f} s"
    assert "Fatal" not in done.stderr, done.stderr[-2000:]


@pytest.mark.timeout(90)
def test_exit_after_an_uncaught_exception_keeps_a_failing_status(tmp_path):
    done, elapsed = run_exit_script(tmp_path, "stubborn_factory", 30.0,
                                    tail="raise SystemError('the script failed')")
    assert done.returncode == 1, done.stderr[-2000:]
    assert "the script failed" in done.stderr
    assert elapsed < 5.0
