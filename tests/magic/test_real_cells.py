"""Issue 9, the magic's side: defects found running real cells, each through a real kernel."""

from __future__ import annotations

import pytest

from kernel_client import execute, value
from test_magic import ok, plain

NUMPY_INSIDE = ("%%parallel --quiet\n"
                "def brighten(x):\n"
                "    import numpy as np  # inside the function, as the ASPP image exercise does\n"
                "    return float(np.sqrt(x))\n"
                "r = [brighten(x) for x in {items}]")


# ---- auto recovers at run time --------------------------------------------------------------------
@pytest.mark.timeout(150)
def test_auto_reruns_on_processes_when_a_worker_import_is_refused(kc):
    ok(kc, NUMPY_INSIDE.format(items="range(6)"))
    assert value(kc, "r") == [x ** 0.5 for x in range(6)]
    assert value(kc, "_parallel.backend") == "processes"
    reason = value(kc, "_parallel.reason")
    assert "numpy cannot load in a sub-interpreter" in reason and "rerun" in reason
    assert value(kc, "_parallel.status") == "ok" and value(kc, "_parallel.errors") == []
    # A lazy input is consumed once; the items the interpreters already took are replayed.
    ok(kc, "gen = (i for i in range(7))")
    ok(kc, NUMPY_INSIDE.format(items="gen"))
    assert value(kc, "r") == [x ** 0.5 for x in range(7)]
    # An explicit -b interpreters still gets the advice, not a silent switch.
    run = execute(kc, NUMPY_INSIDE.format(items="range(3)").replace("--quiet", "-b interpreters --quiet"))
    assert run.status == "error" and "--backend processes" in run.stderr


@pytest.mark.timeout(150)
@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "bars"])
def test_auto_rerun_leaves_one_run_in_the_cell(kc, quiet):
    """The attempt on interpreters that moved to processes leaves no output of its own: each
    worker line once, one summary, and it is the processes run's."""
    cell = ("%%parallel" + (" --quiet" if quiet else "") + "\n"
            "def brighten(x):\n"
            "    print('item', x)\n"
            "    import numpy as np\n"
            "    return float(np.sqrt(x))\n"
            "r = [brighten(x) for x in range(4)]")
    run = ok(kc, cell)
    assert value(kc, "_parallel.backend") == "processes"
    printed = [line.split("] ", 1)[1] for line in run.stdout.splitlines() if line.startswith("[")]
    assert sorted(printed) == [f"item {x}" for x in range(4)], run.stdout
    shown = run.stdout + "".join(m["content"]["data"].get("text/plain", "")
                                 for m in run.of_type("display_data", "update_display_data"))
    assert "interpreters ·" not in shown and "on 2 interpreters" not in shown, shown
    if quiet:
        summaries = [line for line in run.stdout.splitlines() if " items in " in line]
        assert len(summaries) == 1 and "processes" in summaries[0], run.stdout


@pytest.mark.timeout(150)
def test_compare_marks_interpreters_not_possible_for_a_numpy_cell(kc):
    ok(kc, "%%parallel --compare --quiet\nimport numpy as np\n"
           "r = [float(np.sqrt(x)) for x in range(8)]")
    assert value(kc, "r") == [x ** 0.5 for x in range(8)]
    rows = value(kc, "[(row['backend'], row['possible']) for row in _parallel.comparison]")
    assert rows == [("serial", True), ("threads", True), ("processes", True),
                    ("interpreters", False)]
    note = value(kc, "_parallel.comparison[-1]['note']")
    assert "numpy cannot be imported in a sub-interpreter" in note
    assert value(kc, "_parallel.backend") == "processes"
    shown = ok(kc, "%%parallel --compare --quiet\nimport numpy as np\n"
                   "[float(np.sqrt(x)) for x in range(8)]").of_type("execute_result")
    text = shown[0]["content"]["data"]["text/plain"]
    assert "interpreters" in text and "not possible: numpy cannot be imported" in text


# ---- smaller defects ------------------------------------------------------------------------------
def test_line_form_is_not_variable_expanded(kc):
    ok(kc, "x = 5")
    ok(kc, '%parallel --quiet fs = [f"{x}" for x in range(3)]')
    assert value(kc, "fs") == ["0", "1", "2"]
    # the options still expand, as any line magic's do: `-w $w` in a loop over worker counts
    ok(kc, "w = 1")
    ok(kc, '%parallel -b threads -w $w --quiet fs = [f"{x}{w}" for x in range(3)]')
    assert value(kc, "fs") == ["01", "11", "21"]
    assert value(kc, "_parallel.workers") == 1
    ok(kc, "%parallel -b threads --quiet fs = [f'{x}-$x' for x in range(2)]")
    assert value(kc, "fs") == ["0-$x", "1-$x"]


@pytest.mark.parametrize("backend", ["interpreters", "processes", "threads", "serial"])
def test_errors_collect_and_skip_for_dict_and_set_forms(kc, backend):
    ok(kc, "def check(x):\n    if x in (3, 5):\n        raise ValueError(f'bad {x}')\n    return x")
    cell = f"%%parallel -b {backend} --quiet --chunksize 2 --errors "
    # A failed entry keeps its key, the exception is its value: r[3] is the ValueError.
    ok(kc, cell + "collect\nr = {x: check(x) for x in range(8)}")
    assert value(kc, "list(r)") == list(range(8))
    assert value(kc, "[(k, v) for k, v in r.items() if not isinstance(v, Exception)]") == \
        [(0, 0), (1, 1), (2, 2), (4, 4), (6, 6), (7, 7)]
    assert value(kc, "[(k, type(v).__name__, str(v)) for k, v in r.items() if isinstance(v, Exception)]") \
        == [(3, "ValueError", "bad 3"), (5, "ValueError", "bad 5")]
    # Equal messages do not collapse into one entry.
    ok(kc, cell + "collect\nr = {x: 1 / (x % 3) for x in range(7)}")
    assert value(kc, "sorted(k for k, v in r.items() if isinstance(v, ZeroDivisionError))") == [0, 3, 6]
    # Inner clauses (flattened): the key is kept too.
    ok(kc, cell + "collect\nr = {x: check(x) for x in range(8) if x != 6}")
    assert value(kc, "list(r)") == [0, 1, 2, 3, 4, 5, 7]
    assert value(kc, "sorted(k for k, v in r.items() if isinstance(v, ValueError))") == [3, 5]
    ok(kc, cell + "collect\nr = {(x, y): check(x + y) for x in range(4) for y in (0, 1)}")
    assert value(kc, "sorted(k for k, v in r.items() if isinstance(v, ValueError))") == [(2, 1), (3, 0)]
    # When the key expression is what failed there is no key: the item is left out and counted,
    # and its error stays in the report.
    ok(kc, cell + "collect\nr = {check(x): x for x in range(8)}")
    assert value(kc, "r") == {0: 0, 1: 1, 2: 2, 4: 4, 6: 6, 7: 7}
    assert value(kc, "_parallel.skipped") == 2
    assert value(kc, "[e.index for e in _parallel.errors]") == [3, 5]
    ok(kc, cell + "collect\nr = {check(x) % 4 for x in range(8)}")
    assert value(kc, "sorted(v for v in r if isinstance(v, int))") == [0, 1, 2, 3]
    assert value(kc, "sorted(str(v) for v in r if isinstance(v, ValueError))") == ["bad 3", "bad 5"]
    ok(kc, cell + "skip\nr = {x: check(x) for x in range(8)}")
    assert value(kc, "r") == {0: 0, 1: 1, 2: 2, 4: 4, 6: 6, 7: 7}
    assert value(kc, "_parallel.skipped") == 2
    ok(kc, cell + "skip\nr = {check(x) for x in range(8)}")
    assert value(kc, "r") == {0, 1, 2, 4, 6, 7}


@pytest.mark.parametrize("backend", ["interpreters", "processes", "threads", "serial"])
@pytest.mark.parametrize("error", ["RuntimeError", "RecursionError", "NotImplementedError"])
def test_the_users_own_runtime_errors_from_the_iterable_are_raised_as_themselves(kc, backend, error):
    ok(kc, f"def numbers():\n    yield 1\n    yield 2\n    raise {error}('from my iterable')")
    run = execute(kc, f"%%parallel -b {backend} --quiet\nr = [x for x in numbers()]")
    assert run.status == "error"
    content = run.of_type("error")[0]["content"]
    assert content["ename"] == error and content["evalue"] == "from my iterable"
    text = plain(content["traceback"])
    assert f"raise {error}('from my iterable')" in text  # the user's own frame is shown
    assert "UsageError" not in run.stderr
    ok(kc, f"%%parallel -b {backend} --quiet\nr = [x + 1 for x in range(3)]")  # and it goes on


@pytest.mark.timeout(90)
@pytest.mark.parametrize("error", ["MemoryError", "KeyboardInterrupt"])
def test_memory_error_or_interrupt_while_unpickling_is_not_a_transfer_error(kc, error):
    ok(kc, f"def _revive():\n    raise {error}('while unpickling')\n"
           "class Heavy:\n    def __reduce__(self):\n        return (_revive, ())")
    run = execute(kc, "%%parallel -b processes --quiet\nr = [Heavy() for x in range(2)]", timeout=60)
    assert run.status == "error"
    content = run.of_type("error")[0]["content"]
    assert content["ename"] == error
    assert "cannot be unpickled" not in run.stderr and "UsageError" not in run.stderr
    ok(kc, "%%parallel -b processes --quiet\nr = [x + 1 for x in range(3)]")
    assert value(kc, "r") == [1, 2, 3]


def test_without_w_the_warm_pool_keeps_its_size(kc):
    ok(kc, "%parallel_pool --resize 1")
    ok(kc, "%%parallel --quiet\nr = [x for x in range(6)]")
    assert value(kc, "(_parallel.backend, _parallel.workers)") == ("interpreters", 1)
    ok(kc, "%%parallel -b interpreters -w 2 --quiet\nr = [x for x in range(6)]")
    assert value(kc, "_parallel.workers") == 2
    ok(kc, "%%parallel -b interpreters --quiet\nr = [x for x in range(6)]")
    assert value(kc, "_parallel.workers") == 2
    for backend in ("threads", "processes"):
        ok(kc, f"%%parallel -b {backend} -w 1 --quiet\nr = [x for x in range(6)]")
        ok(kc, f"%%parallel -b {backend} --quiet\nr = [x for x in range(6)]")
        assert value(kc, "_parallel.workers") == 1, backend


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["threads", "processes", "serial"])
def test_timeline_rows_carry_the_wait_for_a_core(kc, backend):
    workers = 1 if backend == "serial" else 4
    ok(kc, f"%%parallel -b {backend} -w {workers} --quiet --chunksize 1\n"
           "def spin(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n"
           "r = [spin(400_000) for _ in range(8)]")
    rows = value(kc, "[tuple(round(v, 6) for v in row) for row in _parallel.timeline]")
    assert len(rows) == 8 and all(len(row) == 7 for row in rows)
    assert all(0 <= row[6] <= row[4] - row[3] + 0.01 for row in rows)
    if backend == "processes":
        # Four busy processes on a machine with fewer free cores: some runnable time is waiting.
        cores = value(kc, "len(__import__('os').sched_getaffinity(0))")
        if cores < 4:
            assert sum(row[6] for row in rows) > 0


@pytest.mark.parametrize("backend", ["threads", "serial", "interpreters"])
def test_a_map_cell_leaves_nothing_of_xparallels_in_the_namespace(kc, backend):
    ok(kc, f"%%parallel -b {backend} --quiet\nr = list(map(abs, [-1, 2, -3]))")
    assert value(kc, "r") == [1, 2, 3]
    assert value(kc, "sorted(n for n in globals() if n.startswith('__xp'))") == []
