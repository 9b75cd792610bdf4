"""-b dask through the real xparallel kernel, on a real cluster: a `dask scheduler` and two
`dask worker` processes on 127.0.0.1, the notebook connected with Client(scheduler_file=...)."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from conftest import connected_workers
from kernel_client import execute, start, stop, value

pytestmark = pytest.mark.timeout(150)


def ok(kc, code: str, timeout: float = 90):
    run = execute(kc, code, timeout=timeout)
    assert run.status == "ok", (code, run.stderr, [m["content"] for m in run.of_type("error")])
    return run


def plain(lines: list[str]) -> str:
    return "\n".join(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines)


def worker_labels(cluster) -> set[str]:
    from distributed import Client

    with Client(cluster.address, timeout=10) as client:
        return {a.removeprefix("tcp://") for a in client.scheduler_info()["workers"]}


def test_the_cell_runs_on_the_notebooks_client_with_names_by_value(kc, cluster):
    ok(kc, "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
           "double = lambda v: 2 * v\n"
           "class Point:\n    def __init__(self, x): self.x = x\n    def norm(self): return abs(self.x)\n"
           "offset = 100\n"
           "def make_adder(k):\n    def add(v):\n        return v + k + offset\n    return add\n"
           "add7 = make_adder(7)\nimport math as m")
    ok(kc, "%%parallel -b dask --quiet\n"
           "out = [(fib(n % 12), double(n), Point(-n).norm(), add7(n), m.factorial(n % 6)) "
           "for n in range(3000)]")
    assert value(kc, "out == [(fib(n % 12), double(n), Point(-n).norm(), add7(n), "
                     "m.factorial(n % 6)) for n in range(3000)]") is True
    assert value(kc, "(_parallel.backend, _parallel.workers, _parallel.status)") == ("dask", 2, "ok")
    assert cluster.address in value(kc, "_parallel.reason")  # the summary names the cluster
    assert set(value(kc, "_parallel.worker_names")) == worker_labels(cluster)
    rows = value(kc, "[tuple(r) for r in _parallel.timeline]")
    assert all(len(row) == 7 and row[0] in (1, 2) for row in rows)
    assert sum(row[2] for row in rows) == 3000 and len(rows) < 300  # chunked, not one per item
    assert [row[1] for row in rows] == sorted(row[1] for row in rows)
    # Every form, and the line form
    ok(kc, "%%parallel -b dask --quiet\nd = {x: x * x for x in range(50) if x % 3}")
    assert value(kc, "d == {x: x * x for x in range(50) if x % 3}") is True
    ok(kc, "%parallel -b dask --quiet s = list(map(pow, range(9), range(9)))")
    assert value(kc, "s") == [x ** x for x in range(9)]


def test_setup_runs_once_per_worker_and_print_is_prefixed_with_the_workers_name(kc, cluster):
    tag = uuid.uuid4().hex[:6]
    run = ok(kc, f"%%parallel -b dask --quiet --chunksize 5\n"
                 f"print('setup {tag}')\n"
                 "def show(x):\n    print('item', x)\n    return x\n"
                 "r = [show(x) for x in range(60)]")
    assert value(kc, "r") == list(range(60))
    labels = worker_labels(cluster)
    lines = run.stdout.splitlines()
    assert lines[0] == f"setup {tag}"  # the notebook's own run of the setup
    setups = [line for line in lines[1:] if line.endswith(f"setup {tag}")]
    assert 1 <= len(setups) <= 2 and len({line.split()[0] for line in setups}) == len(setups)
    items = [line for line in lines if " item " in line]
    assert len(items) == 60
    by_worker: dict[str, list[int]] = {}
    for line in items:
        prefix, _, number = line.split()
        assert prefix.strip("[]") in labels
        by_worker.setdefault(prefix, []).append(int(number))
    assert all(numbers == sorted(numbers) for numbers in by_worker.values())


def test_errors_raise_skip_collect_with_the_workers_traceback(kc):
    ok(kc, "def check(x):\n    if x in (3, 5):\n        raise ValueError(f'bad {x}')\n    return x")
    run = execute(kc, "%%parallel -b dask --quiet --chunksize 1\nr = [check(x) for x in range(8)]")
    assert run.status == "error"
    error = run.of_type("error")[0]["content"]
    assert error["ename"] == "ValueError" and error["evalue"] == "bad 3"
    text = plain(error["traceback"])
    assert "on item 3 (3)" in text
    assert "raise ValueError(f'bad {x}')" in text       # the worker's frame: the user's line
    assert "r = [check(x) for x in range(8)]" in text   # the cell's line
    assert "xparallel/run.py" not in text
    assert value(kc, "_parallel.status") == "failed"
    ok(kc, "%%parallel -b dask --quiet --errors skip\nr = [check(x) for x in range(8)]")
    assert value(kc, "(r, _parallel.skipped)") == ([0, 1, 2, 4, 6, 7], 2)
    ok(kc, "%%parallel -b dask --quiet --errors collect\nr = [check(x) for x in range(8)]")
    assert value(kc, "[repr(v) for v in r]") == ["0", "1", "2", "ValueError('bad 3')", "4",
                                                  "ValueError('bad 5')", "6", "7"]
    ok(kc, "import threading\nlocks = [threading.Lock()]")
    run = execute(kc, "%%parallel -b dask --quiet\nr = [l.locked() for l in locks]")
    assert run.status == "error" and "item 0 (<unlocked _thread.lock" in run.stderr, run.stderr
    ok(kc, "%%parallel -b dask --quiet\nr = [f() for f in [lambda: 1]]")  # lambdas travel now
    assert value(kc, "r") == [1]


def test_the_exploration_loop_resume_retries_partial_and_debug(kc, tmp_path):
    """Issue 18 on a real cluster: the same behaviour as on the local backends."""
    def ran(run) -> list[int]:
        return sorted(int(m.group(1)) for m in re.finditer(r"ran (\d+)", run.stdout))

    flaky = ("def f(x):\n    print('ran', x)\n    if x % 4 == 3:\n"
             "        raise ValueError(f'bad {x}')\n    return x * 10\n")
    fixed = "def f(x):\n    print('ran', x)\n    return x * 10\n"
    cell = "%%parallel -b dask --quiet --chunksize 2 --errors collect"
    assert ran(ok(kc, f"{cell}\n{flaky}r = [f(x) for x in range(10)]")) == list(range(10))
    assert value(kc, "repr(_parallel.partial())") == \
        "[0, 10, 20, MISSING, 40, 50, 60, MISSING, 80, 90]"
    resumed = ok(kc, f"{cell} --resume\n{fixed}r = [f(x) for x in range(10)]")
    assert ran(resumed) == [3, 7] and "resumed: 8 reused, 2 run" in resumed.stdout
    assert value(kc, "r") == [x * 10 for x in range(10)]
    # --retries: an item that fails on its first attempt only (a file marks the attempt).
    ok(kc, "%%parallel -b dask --quiet --retries 1\nimport os\n"
           "def once(x):\n"
           f"    mark = os.path.join({str(tmp_path)!r}, str(x))\n"
           "    if x % 2 and not os.path.exists(mark):\n"
           "        open(mark, 'w').close()\n"
           "        raise ConnectionError(x)\n"
           "    return x\n"
           "r = [once(x) for x in range(5)]")
    assert value(kc, "(r, _parallel.retried)") == ([0, 1, 2, 3, 4], {1: 1, 3: 1})
    # %parallel_debug brings a worker's failure into the notebook's debugger.
    ok(kc, f"{cell}\n{flaky}r = [f(x) for x in range(5)]")
    answers = iter(["p x", "c"])
    run = execute(kc, "%parallel_debug", allow_stdin=True, stdin=lambda request: next(answers, "c"))
    assert run.status == "ok" and "3" in [line.strip() for line in plain([run.stdout]).splitlines()]


def test_timeout_replaces_a_runaway_item_and_the_run_goes_on(kc):
    # A pure-Python loop that never ends: a dask worker's thread is interrupted at its next
    # bytecode (a blocking C call would run on: the README says so).
    started = time.monotonic()
    run = ok(kc, "%%parallel -b dask --quiet --timeout 1 --errors collect\n"
                 "def f(x):\n"
                 "    while x == 2:\n"
                 "        pass\n"
                 "    return x\n"
                 "r = [f(x) for x in range(6)]")
    assert time.monotonic() - started < 30
    assert value(kc, "[type(v).__name__ if isinstance(v, Exception) else v for v in r]") == \
        [0, 1, "TimeoutError", 3, 4, 5]
    assert value(kc, "_parallel.timed_out") == [2] and "1 item timed out" in run.stdout
    ok(kc, "%%parallel -b dask --quiet\nr = [x + 1 for x in range(4)]")
    assert value(kc, "r") == [1, 2, 3, 4]


def test_numpy_cells_run_and_auto_never_picks_dask(kc):
    ok(kc, "import numpy as np")
    ok(kc, "%%parallel -b dask --quiet\nroots = [float(np.sqrt(x)) for x in range(20)]")
    assert value(kc, "roots") == [x ** 0.5 for x in range(20)]
    ok(kc, "%%parallel --quiet\nr = [x + 1 for x in range(20)]")
    assert value(kc, "_parallel.backend") == "interpreters"
    ok(kc, "%%parallel --quiet\nroots = [float(np.sqrt(x)) for x in range(20)]")
    assert value(kc, "_parallel.backend") == "processes"


def test_timeline_and_quiet(kc):
    run = ok(kc, "%%parallel -b dask --timeline --quiet\nr = [sum(range(x * 300)) for x in range(200)]")
    assert any("image/png" in m["content"]["data"] for m in run.of_type("display_data"))
    assert not run.of_type("comm_open")  # --quiet: no widgets
    assert "200 items in" in run.stdout and "dask cluster tcp://127.0.0.1:" in run.stdout


def test_compare_adds_a_dask_row_when_a_client_is_present(kc):
    ok(kc, "%%parallel --compare --quiet\nr = [sum(range(x * 100)) for x in range(64)]")
    rows = value(kc, "[row['backend'] for row in _parallel.comparison]")
    assert rows == ["serial", "threads", "processes", "interpreters", "dask"]
    assert value(kc, "r == [sum(range(x * 100)) for x in range(64)]") is True


def test_parallel_pool_shows_the_cluster(kc, cluster):
    ok(kc, "%%parallel -b dask --quiet\nr = [x for x in range(4)]")
    shown = ok(kc, "%parallel_pool").of_type("execute_result")[0]["content"]["data"]["text/plain"]
    assert f"scheduler {cluster.address}" in shown
    assert "2 workers" in shown and "2 threads" in shown and "GiB memory" in shown
    assert all(label in shown for label in worker_labels(cluster))


def test_scheduler_option_connects_and_a_bad_address_is_one_clear_error(kc, cluster):
    ok(kc, f"%%parallel -b dask --scheduler {cluster.address} --quiet\nr = [x * 3 for x in range(40)]")
    assert value(kc, "r") == [x * 3 for x in range(40)]
    run = execute(kc, "%%parallel -b dask --scheduler tcp://127.0.0.1:9 --quiet\nr = [x for x in range(3)]",
                  timeout=60)
    assert run.status == "error" and "cannot reach the dask scheduler at tcp://127.0.0.1:9" in run.stderr
    assert "Traceback" not in run.stderr
    run = execute(kc, "%%parallel -b threads --scheduler tcp://127.0.0.1:9\nr = [x for x in range(3)]")
    assert run.status == "error" and "--scheduler is for -b dask" in run.stderr


def test_per_worker_bars_are_named_by_the_worker_and_update_live(cluster):
    from test_progress_helpers import attach_widget_front_end, bar_history

    km, kc = start("xparallel")
    try:
        attach_widget_front_end(kc)
        ok(kc, f"from dask.distributed import Client\nclient = Client(scheduler_file={str(cluster.scheduler_file)!r})")
        run = ok(kc, "%%parallel -b dask --chunksize 1\nimport time\nr = [time.sleep(0.1) or x for x in range(30)]")
        history = bar_history(run)
        labels = worker_labels(cluster)
        assert labels <= set(history), (labels, set(history))
        for label in labels:  # live: values grew while the cell ran, before its reply
            live = [v for t, v, after in history[label] if not after]
            assert len(set(live)) >= 2, (label, history[label])
        assert value(kc, "r") == list(range(30))
    finally:
        stop(km, kc)


def test_interrupt_ends_the_cell_within_two_seconds_and_the_next_runs_at_once(km, kc):
    ok(kc, "def spin(x):\n    if x < 2:\n        return x\n    while True:\n        pass")
    msg_id = kc.execute("%%parallel -b dask --quiet --chunksize 1\nr = [spin(x) for x in range(8)]")
    time.sleep(2.0)
    started = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - started < 2.0
    assert value(kc, "_parallel.status") == "interrupted"
    assert value(kc, "_parallel.results[:2]") == [0, 1]
    # The spinning tasks got KeyboardInterrupt on their workers: the next cell's tasks run at once.
    started = time.monotonic()
    ok(kc, "%%parallel -b dask --quiet\nr = [x + 1 for x in range(6)]", timeout=20)
    assert value(kc, "r") == [1, 2, 3, 4, 5, 6]
    assert time.monotonic() - started < 10.0


def test_a_worker_killed_mid_run_loses_nothing(km, kc, cluster):
    extra = cluster.start_worker()
    deadline = time.monotonic() + 60
    while connected_workers(cluster.address) < 3:
        assert time.monotonic() < deadline, "the third worker did not join"
        time.sleep(0.2)
    msg_id = kc.execute("%%parallel -b dask --quiet --chunksize 2\n"
                        "import time\nr = [time.sleep(0.05) or x * x for x in range(300)]")
    time.sleep(2.5)
    cluster.kill(extra)  # nanny and worker process, SIGKILL, mid-run
    while True:
        reply = kc.get_shell_msg(timeout=120)
        if reply["parent_header"]["msg_id"] == msg_id:
            break
    assert reply["content"]["status"] == "ok", reply["content"]
    assert value(kc, "r == [x * x for x in range(300)]") is True
    assert value(kc, "(_parallel.status, _parallel.items, len(_parallel.errors))") == ("ok", 300, 0)
    assert value(kc, "_parallel.workers") == 3  # it was there at the start, and had a bar


def test_the_embedded_local_cluster_starts_once_is_shown_and_closes():
    km, kc = start("xparallel")  # no client in this notebook: -b dask starts a LocalCluster
    try:
        ok(kc, "%%parallel -b dask -w 2 --quiet\ndef sq(x):\n    return x * x\nr = [sq(x) for x in range(100)]",
           timeout=120)
        assert value(kc, "r") == [x * x for x in range(100)]
        address = value(kc, "_parallel.reason").split()[-1]
        assert address.startswith("tcp://127.0.0.1:")
        ok(kc, "%%parallel -b dask --quiet\nimport numpy as np\nr = [int(np.int64(x)) for x in range(10)]")
        assert value(kc, "_parallel.reason").split()[-1] == address  # kept warm, not restarted
        shown = ok(kc, "%parallel_pool").of_type("execute_result")[0]["content"]["data"]["text/plain"]
        assert f"dask cluster (local, started by xparallel): scheduler {address}" in shown
        assert "2 workers" in shown
        closed = ok(kc, "%parallel_pool --close-dask").of_type("execute_result")[0]["content"]["data"]
        assert "dask cluster" not in closed["text/plain"]
        run = execute(kc, "%parallel_pool --close-dask")
        assert run.status == "error" and "no LocalCluster" in run.stderr
        ok(kc, "%%parallel -b dask -w 1 --quiet\nr = [x for x in range(5)]", timeout=120)
        assert value(kc, "(r, _parallel.workers)") == ([0, 1, 2, 3, 4], 1)
    finally:
        stop(km, kc)


def test_a_print_reaches_the_cell_within_half_a_second_while_the_task_runs(kc, cluster):
    def stamp(message: dict) -> None:
        message["arrived"] = time.time()

    run = execute(kc, "%%parallel -b dask --quiet --chunksize 1\n"
                      "import time, sys\n"
                      "def slow(x):\n"
                      "    print('written at', time.time(), flush=True)\n"
                      "    print('to stderr at', time.time(), file=sys.stderr)\n"
                      "    import warnings; warnings.warn(f'careful at {time.time()}')\n"
                      "    time.sleep(2.5)\n"
                      "    return x\n"
                      "r = [slow(x) for x in range(1)]", timeout=60, on_message=stamp)
    assert run.status == "ok", run.stderr
    labels = worker_labels(cluster)
    seen = {}
    for message in run.of_type("stream"):
        for line in message["content"]["text"].splitlines():
            if "UserWarning: careful at " in line:  # a warning: on stderr, prefixed too
                assert line.split()[0].strip("[]") in labels, line
                seen["warning"] = (float(line.split()[-1]), message)
            elif " at " in line and line.startswith("[") and "warnings.warn" not in line:
                prefix, what = line.split(" at ")[0].split(" ", 1)
                assert prefix.strip("[]") in labels, line
                seen[what] = (float(line.split()[-1]), message)
    assert set(seen) == {"written", "to stderr", "warning"}, run.stdout + run.stderr
    for written, message in seen.values():
        assert message["arrived"] - written < 0.5, message["arrived"] - written
        assert run.reply["received"] - message["received"] > 1.5  # the task was still running
    assert seen["to stderr"][1]["content"]["name"] == "stderr"
    assert seen["warning"][1]["content"]["name"] == "stderr"


def test_a_cell_printing_100000_lines_stays_bounded(kc):
    run = execute(kc, "%%parallel -b dask --quiet\n"
                      "def chatty(x):\n"
                      "    for k in range(1000):\n"
                      "        print(x, k)\n"
                      "    return x\n"
                      "r = [chatty(x) for x in range(100)]", timeout=120)
    assert run.status == "ok", run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("[")]
    assert len(lines) == 100_000
    assert len(run.of_type("stream")) < 5000
    by_item: dict[tuple[str, int], list[int]] = {}
    for line in lines:
        worker, x, k = line.split()
        by_item.setdefault((worker, int(x)), []).append(int(k))
    # In the order each worker wrote them (a worker may take its items in any order).
    assert all(ks == list(range(1000)) for ks in by_item.values())
    assert sorted(x for _, x in by_item) == list(range(100))


def test_the_chunk_rule_is_the_engines_with_every_thread_a_slot(kc, cluster):
    total = 3000
    ok(kc, f"%%parallel -b dask --quiet\nr = [sum(range(x % 7 * 200)) for x in range({total})]")
    rows = value(kc, "[(row[1], row[2]) for row in _parallel.timeline]")
    sizes = [count for _, count in rows]
    assert sum(sizes) == total and sizes[0] == 1
    slots = 2  # two workers of one thread each
    for first, count in rows:
        left = total - first
        assert count <= max(1, -(-total // (slots * 4))) and count <= max(1, -(-left // (2 * slots)))
    assert sizes[-1] <= 2
