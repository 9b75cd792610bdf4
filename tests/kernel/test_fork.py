"""A fork after a warm `%%parallel` cell gives a child that runs (gh-139759: CPython crashes a child
forked while any sub-interpreter is alive), in the xparallel kernel and in a stock ipykernel with
`%load_ext xparallel`: the idle pool ends before the fork, the next cell starts a fresh one, and a
fork while a run is in flight gets one warning. Every fork below is bounded (a child that crashes
makes a fork Pool respawn and wait for ever): a regression fails the test in about 30 s."""

from __future__ import annotations

import pytest

from kernel_client import execute, magic_kernels, value  # noqa: F401 - the `kernel` fixture

# Raises TimeoutError in the cell after `seconds` (SIGALRM reaches the main thread in a cell in
# both kernels), so a hung Pool fails the test instead of holding the kernel.
BOUNDED = """
import signal
def _give_up(signum, frame):
    raise TimeoutError("the forked workers never answered")
signal.signal(signal.SIGALRM, _give_up)
"""


def warm(kc) -> None:
    run = execute(kc, "%%parallel -b interpreters --quiet\nwarm = [x * x for x in range(8)]")
    assert run.status == "ok", run.messages
    assert value(kc, "__import__('xparallel.engine').engine.current_pool().running") is True


def ok(kc, code: str, timeout: float = 60):
    run = execute(kc, code, timeout=timeout)
    assert run.status == "ok", (run.messages, run.reply)
    return run


@pytest.mark.timeout(60)
def test_an_os_fork_child_runs_and_exits_with_its_own_status(kc):
    warm(kc)
    ok(kc, "import os\n"
           "pid = os.fork()\n"
           "if pid == 0:\n"
           "    os._exit(7)\n"
           "_, status = os.waitpid(pid, 0)\n"
           "child = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)")
    assert value(kc, "child") == 7


@pytest.mark.timeout(90)
def test_a_fork_pool_maps(kc):
    warm(kc)
    ok(kc, BOUNDED + "import multiprocessing\n"
                     "signal.alarm(30)\n"
                     "try:\n"
                     "    with multiprocessing.get_context('fork').Pool(2) as p:\n"
                     "        mapped = p.map(abs, range(-4, 4))\n"
                     "finally:\n"
                     "    signal.alarm(0)", timeout=75)
    assert value(kc, "mapped") == [4, 3, 2, 1, 0, 1, 2, 3]


@pytest.mark.timeout(90)
def test_mpire_maps_with_its_default_start_method(kc):
    warm(kc)
    ok(kc, BOUNDED + "import mpire\n"
                     "signal.alarm(30)\n"
                     "try:\n"
                     "    with mpire.WorkerPool(2) as p:\n"
                     "        mapped = p.map(abs, range(-4, 4))\n"
                     "finally:\n"
                     "    signal.alarm(0)", timeout=75)
    assert value(kc, "mapped") == [4, 3, 2, 1, 0, 1, 2, 3]


@pytest.mark.timeout(90)
def test_a_fork_process_pool_executor_maps(kc):
    warm(kc)
    ok(kc, "import concurrent.futures, multiprocessing\n"
           "ctx = multiprocessing.get_context('fork')\n"
           "with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as ex:\n"
           "    mapped = list(ex.map(abs, range(-4, 4), timeout=30))", timeout=75)
    assert value(kc, "mapped") == [4, 3, 2, 1, 0, 1, 2, 3]


@pytest.mark.timeout(90)
def test_the_next_cell_starts_a_fresh_pool_and_parallel_pool_says_why(kc):
    warm(kc)
    ok(kc, "import os\n"
           "pid = os.fork()\n"
           "if pid == 0:\n"
           "    os._exit(0)\n"
           "os.waitpid(pid, 0)")
    status = ok(kc, "status = %parallel_pool\nprint(repr(status))").stdout
    assert "not running" in status and "ended before a fork" in status, status
    assert "the next %%parallel cell starts a fresh pool" in status, status
    run = ok(kc, "%%parallel -b interpreters --quiet\nagain = [x + 1 for x in range(10)]")
    assert "again" not in run.stderr
    assert value(kc, "again") == list(range(1, 11))
    status = ok(kc, "status = %parallel_pool\nprint(repr(status))").stdout
    assert "started fresh" in status and "idle" in status, status


@pytest.mark.timeout(60)
def test_a_fork_from_another_thread_ends_the_idle_pool_too(kc):
    warm(kc)
    ok(kc, "import os, threading\n"
           "statuses = []\n"
           "def fork_here():\n"
           "    pid = os.fork()\n"
           "    if pid == 0:\n"
           "        os._exit(9)\n"
           "    _, status = os.waitpid(pid, 0)\n"
           "    statuses.append(os.WEXITSTATUS(status) if os.WIFEXITED(status) else\n"
           "                    -os.WTERMSIG(status))\n"
           "forker = threading.Thread(target=fork_here)\n"
           "forker.start()\n"
           "forker.join(30)")
    assert value(kc, "statuses") == [9]


@pytest.mark.timeout(90)
def test_a_fork_while_a_run_is_in_flight_warns_once_and_the_run_ends_well(kc):
    warm(kc)
    # A thread forks once the run's job is open; the child may crash (that is the warning's point).
    ok(kc, "import os, threading, time, warnings\n"
           "from xparallel import engine\n"
           "caught = []\n"
           "def fork_during_the_run():\n"
           "    deadline = time.monotonic() + 30\n"
           "    while not engine.open_jobs() and time.monotonic() < deadline:\n"
           "        time.sleep(0.002)\n"
           "    with warnings.catch_warnings(record=True) as seen:\n"
           "        warnings.simplefilter('always')\n"
           "        for _ in range(2):\n"
           "            pid = os.fork()\n"
           "            if pid == 0:\n"
           "                os._exit(0)\n"
           "            os.waitpid(pid, 0)\n"
           "    caught.extend(str(w.message) for w in seen\n"
           "                  if w.category.__name__ == 'ForkWhileRunningWarning')\n"
           "forker = threading.Thread(target=fork_during_the_run)\n"
           "forker.start()")
    ok(kc, "%%parallel -b interpreters --quiet\nimport time\n"
           "slept = [time.sleep(0.05) or i for i in range(40)]")
    ok(kc, "forker.join(30)")
    caught = value(kc, "caught")
    assert len(caught) == 1, caught
    assert "in flight" in caught[0] and "gh-139759" in caught[0] and "spawn" in caught[0]
    assert value(kc, "slept") == list(range(40))
    # Not ended under the run: the pool is still the warm one.
    assert value(kc, "engine.current_pool().running") is True


@pytest.mark.timeout(120)
def test_the_processes_backend_leaves_the_warm_pool_warm(kc):
    """Its forkserver starts by fork + exec (no at-fork hooks run): nothing to end."""
    warm(kc)
    pool = "id(__import__('xparallel.engine').engine.current_pool())"
    before = value(kc, pool)
    ok(kc, "%%parallel -b processes --quiet\ndoubled = [x * 2 for x in range(6)]", timeout=90)
    assert value(kc, "doubled") == [0, 2, 4, 6, 8, 10]
    assert value(kc, pool) == before
    assert value(kc, "__import__('xparallel.engine').engine.current_pool().running") is True


@pytest.mark.timeout(60)
def test_what_a_forked_child_prints_reaches_the_cell(kc):
    """The xparallel kernel's child has none of its threads and must not touch its ZeroMQ
    sockets: its output goes through the kernel, as ipykernel's forked children's does."""
    run = ok(kc, "import os, sys, time\n"
                 "pid = os.fork()\n"
                 "if pid == 0:\n"
                 "    try:\n"
                 "        print('out from the child', flush=True)\n"
                 "        print('err from the child', file=sys.stderr, flush=True)\n"
                 "    finally:\n"
                 "        os._exit(0)\n"
                 "os.waitpid(pid, 0)\n"
                 "time.sleep(0.5)  # the child's text is relayed by the kernel\n"
                 "print('parent')", timeout=30)
    assert "out from the child\n" in run.stdout and "parent\n" in run.stdout, run.stdout
    assert "err from the child\n" in run.stderr, run.stderr


@pytest.mark.timeout(90)
def test_what_a_fork_pool_worker_prints_reaches_the_cell(kc):
    run = ok(kc, BOUNDED + "import multiprocessing, time\n"
                           "signal.alarm(30)\n"
                           "try:\n"
                           "    with multiprocessing.get_context('fork').Pool(2) as p:\n"
                           "        p.map(print, ['worker line one', 'worker line two'])\n"
                           "finally:\n"
                           "    signal.alarm(0)\n"
                           "time.sleep(0.5)", timeout=75)
    assert "worker line one" in run.stdout and "worker line two" in run.stdout, run.stdout
