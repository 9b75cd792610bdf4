"""Large results reach the notebook without the notebook's thread copying them (issue 23).

The workers unpickle their answers into the main interpreter themselves, large buffers out of
band, as InterpreterPoolExecutor's threads make its results: the main thread only takes them.
Measured as the main thread's own CPU time against copying the same bytes once on it, both CPU
clocks of this thread: a loaded machine slows both alike, it cannot make the first exceed the
second.
"""

from __future__ import annotations

import time

import pytest

import engine_helpers as h
from xparallel import engine

COUNT = 128  # 1 MB each


@pytest.mark.timeout(120)
def test_large_results_arrive_whole_and_are_not_copied_on_the_notebooks_thread():
    engine.get_pool(2)
    job = engine.submit(h.megabytes_factory, range(4), workers=2)  # warm: the job's set-up
    assert job.wait(60)
    started = time.thread_time()
    job = engine.submit(h.megabytes_factory, range(COUNT), workers=2)
    assert job.wait(60)
    taking = time.thread_time() - started
    results = job.results
    assert [type(r) for r in results] == [bytes if i % 2 else bytearray for i in range(COUNT)]
    assert all(len(r) == 1 << 20 and r[0] == r[-1] == i % 251 for i, r in enumerate(results))
    started = time.thread_time()
    copies = [bytes(memoryview(r)) for r in results]
    copying = time.thread_time() - started
    assert len(copies) == COUNT
    # Before the change the main thread unpickled every byte (a copy) after the engine had
    # copied the pickle once more: at least one full copy, usually two.
    assert taking < 0.5 * copying, (taking, copying)
