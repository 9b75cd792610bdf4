"""%%parallel through a real kernel: the xparallel kernel, and a stock ipykernel with %load_ext."""

from __future__ import annotations

import re
import time

import pytest

from kernel_client import execute, value

BACKENDS = ["interpreters", "threads", "processes", "serial"]


def ok(kc, code: str):
    run = execute(kc, code)
    assert run.status == "ok", (code, run.stderr, [m["content"] for m in run.of_type("error")])
    return run


def plain(lines: list[str]) -> str:
    return "\n".join(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines)


# ---- forms ------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_form_gives_what_python_gives(kc, backend):
    ok(kc, "data = list(range(40))\npairs = [(i, i + 1) for i in range(10)]\nimport itertools")
    forms = {
        "[x * x for x in data]": "list",
        "[x * y for x in data if x % 3 for y in range(x % 4) if y]": "list, inner for/if",
        "{x % 7 for x in data}": "set",
        "{x: x * x for x in data if x % 2}": "dict",
        "(x - 1 for x in data)": "generator, gathered as a list",
        "list(map(pow, data, data))": "map over two iterables",
        "map(str, data)": "bare map",
        "list(itertools.starmap(pow, pairs))": "starmap",
        "[a + b for a, b in pairs]": "tuple target",
    }
    for form in forms:
        ok(kc, f"%%parallel -b {backend} --quiet\nresult = {form}")
        expected = f"list({form[1:-1]})" if form.startswith("(") else (
            f"list({form})" if form.startswith("map") else form)
        assert value(kc, f"result == {expected}") is True, form


def test_bare_form_is_the_cells_value(kc):
    run = ok(kc, "%%parallel --quiet\n[x + 1 for x in range(5)]")
    result = run.of_type("execute_result")[0]["content"]
    assert result["data"]["text/plain"] == "[1, 2, 3, 4, 5]"
    assert value(kc, f"Out[{result['execution_count']}]") == [1, 2, 3, 4, 5]


def test_line_form_and_assignment_targets(kc):
    ok(kc, "%parallel --quiet squares = [x * x for x in range(10)]")
    assert value(kc, "squares") == [x * x for x in range(10)]
    ok(kc, "class Box: pass\nbox = Box()\nstore = {}")
    ok(kc, "%%parallel --quiet\nbox.values = store['k'] = [x for x in range(3)]")
    assert value(kc, "(box.values, store['k'])") == ([0, 1, 2], [0, 1, 2])
    ok(kc, "%%parallel --quiet\nfirst, second = [x * 10 for x in range(2)]")
    assert value(kc, "(first, second)") == (0, 10)


def test_setup_runs_in_the_notebook_and_in_every_worker(kc):
    run = ok(kc, "%%parallel -b interpreters -w 2 --quiet --chunksize 1\n"
                 "import math\n"
                 "print('setup ran')\n"
                 "def is_prime(n):\n"
                 "    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))\n"
                 "primes = [n for n in range(50) if is_prime(n)]")
    assert value(kc, "primes") == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]
    assert value(kc, "is_prime(7)") is True  # defined in the notebook afterwards
    lines = run.stdout.splitlines()
    assert lines[0] == "setup ran"  # the notebook's run
    assert sorted(line for line in lines if line.endswith("setup ran") and line != "setup ran") == \
        ["[w1] setup ran", "[w2] setup ran"]


# ---- capture ------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["interpreters", "processes", "threads"])
def test_names_from_the_notebook_are_shipped(kc, backend):
    ok(kc, "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
           "double = lambda v: 2 * v\n"
           "class Point:\n    def __init__(self, x): self.x = x\n    def norm(self): return abs(self.x)\n"
           "offset = 100\n"
           "def make_adder(k):\n    def add(v):\n        return v + k + offset\n    return add\n"
           "add7 = make_adder(7)\n"
           "import math as m")
    ok(kc, f"%%parallel -b {backend} --quiet\n"
           "out = [(fib(n), double(n), Point(-n).norm(), add7(n), m.factorial(n)) for n in range(8)]")
    expected = [(f, 2 * n, n, n + 107, fact) for n, f, fact in
                zip(range(8), [0, 1, 1, 2, 3, 5, 8, 13], [1, 1, 2, 6, 24, 120, 720, 5040])]
    assert value(kc, "out") == expected


def test_numpy_alias_is_shipped_to_threads_and_processes(kc):
    ok(kc, "import numpy as np")
    for backend in ("threads", "processes"):
        ok(kc, f"%%parallel -b {backend} --quiet\nroots = [float(np.sqrt(x)) for x in range(5)]")
        assert value(kc, "roots") == [x ** 0.5 for x in range(5)]


def test_numpy_under_interpreters_gives_advice_and_auto_uses_processes(kc):
    ok(kc, "import numpy as np")
    run = execute(kc, "%%parallel -b interpreters --quiet\nr = [float(np.sqrt(x)) for x in range(3)]")
    assert run.status == "error"
    text = run.stderr + plain(sum((m["content"]["traceback"] for m in run.of_type("error")), []))
    assert "numpy cannot be imported in a sub-interpreter" in text
    assert "--backend processes" in text and "--backend threads" in text
    assert "Traceback" not in text
    ok(kc, "%%parallel --quiet\nr = [float(np.sqrt(x)) for x in range(3)]")
    assert value(kc, "_parallel.backend") == "processes"
    assert "numpy" in value(kc, "_parallel.reason")
    ok(kc, "%%parallel --quiet\nr = [x + 1 for x in range(3)]")
    assert value(kc, "_parallel.backend") == "interpreters"


def test_a_value_that_cannot_be_shipped_is_named(kc):
    ok(kc, "import threading\nlock = threading.Lock()")
    run = execute(kc, "%%parallel -b interpreters --quiet\nr = [lock.locked() for x in range(3)]")
    assert run.status == "error"
    assert "`lock` (lock) is needed by the workers but cannot be sent" in run.stderr
    ok(kc, "%%parallel -b threads --quiet\nr = [lock.locked() for x in range(3)]")  # shared there
    assert value(kc, "r") == [False] * 3


# ---- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_errors_raise_skip_collect(kc, backend):
    ok(kc, "def check(x):\n    if x in (3, 5):\n        raise ValueError(f'bad {x}')\n    return x")
    run = execute(kc, f"%%parallel -b {backend} --quiet --chunksize 1\nr = [check(x) for x in range(8)]")
    assert run.status == "error"
    error = run.of_type("error")[0]["content"]
    assert error["ename"] == "ValueError" and error["evalue"] == "bad 3"
    text = plain(error["traceback"])
    assert "on item 3 (3)" in text and re.search(r"worker w\d", text)
    assert "raise ValueError(f'bad {x}')" in text       # the worker's frame, the user's own line
    assert "r = [check(x) for x in range(8)]" in text   # the cell's line
    assert "xparallel/run.py" not in text               # not the magic's internals
    assert value(kc, "_parallel.status") == "failed"
    assert value(kc, "_parallel.results[:3]") == [0, 1, 2]

    ok(kc, f"%%parallel -b {backend} --quiet --errors skip\nr = [check(x) for x in range(8)]")
    assert value(kc, "r") == [0, 1, 2, 4, 6, 7]
    assert value(kc, "(len(_parallel.errors), _parallel.skipped)") == (2, 2)

    ok(kc, f"%%parallel -b {backend} --quiet --errors collect\nr = [check(x) for x in range(8)]")
    assert value(kc, "[repr(v) for v in r]") == ["0", "1", "2", "ValueError('bad 3')", "4",
                                                  "ValueError('bad 5')", "6", "7"]


def test_wrong_shape_and_bad_options_are_one_clear_error(kc):
    for code, expected in [
        ("%%parallel\nx = 1", "is not a mapped form"),
        ("%%parallel\nfor x in range(3):\n    pass", "is a for, not a mapped form"),
        ("%%parallel -w 0\n[x for x in range(3)]", "expected at least 1"),
        ("%%parallel -b gpu\n[x for x in range(3)]", "invalid choice: 'gpu'"),
        ("%%parallel --errors maybe\n[x for x in range(3)]", "invalid choice: 'maybe'"),
        ("%%parallel\n", "cell body is empty"),
    ]:
        run = execute(kc, code)
        assert run.status == "error", code
        assert "UsageError" in run.stderr and expected in run.stderr, (code, run.stderr)
        assert "Traceback" not in run.stderr
    assert "list comprehension" in execute(kc, "%%parallel\nx = 1").stderr  # shows the forms
    ok(kc, "%%parallel --quiet\n[x for x in range(3)]")


def test_unpicklable_items_and_results_are_named(kc):
    ok(kc, "import threading\nlocks = [threading.Lock(), threading.Lock()]")
    for backend in ("interpreters", "processes"):
        run = execute(kc, f"%%parallel -b {backend} --quiet\nr = [l.locked() for l in locks]")
        assert run.status == "error" and "item 0 (<unlocked _thread.lock" in run.stderr, run.stderr
        # Lambdas defined in the notebook travel by value (cloudpickle): they are items too.
        ok(kc, f"%%parallel -b {backend} --quiet\nr = [f() for f in [lambda: 1, lambda: 2]]")
        assert value(kc, "r") == [1, 2]
    ok(kc, "%%parallel -b interpreters --quiet --errors collect\n"
           "import threading\nr = [threading.Lock() if x == 1 else x for x in range(3)]")
    assert "cannot be sent back to the notebook" in value(kc, "str(r[1])")


def test_help_documents_the_options(kc):
    run = ok(kc, "%%parallel?")
    pages = [p["data"]["text/plain"] for p in run.reply["content"]["payload"] if p["source"] == "page"]
    text = "".join(pages)
    for option in ("--workers", "--backend", "--chunksize", "--errors", "--timeline", "--compare",
                   "--quiet", "outermost"):
        assert option in text, option


# ---- output, report, pool -------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["interpreters", "threads", "processes"])
def test_worker_print_is_prefixed_per_worker_in_order(kc, backend):
    run = ok(kc, f"%%parallel -b {backend} -w 2 --quiet --chunksize 5\n"
                 "def show(x):\n    print('item', x)\n    return x\nr = [show(x) for x in range(20)]")
    lines = [line for line in run.stdout.splitlines() if line.startswith("[w")]
    assert len(lines) == 20
    by_worker: dict[str, list[int]] = {}
    for line in lines:
        worker, _, number = line.split()
        by_worker.setdefault(worker, []).append(int(number))
    assert set(by_worker) <= {"[w1]", "[w2]"}
    assert all(numbers == sorted(numbers) for numbers in by_worker.values())


def test_report_holds_per_item_records(kc):
    ok(kc, "%%parallel -b interpreters -w 2 --quiet\nr = [sum(range(x * 1000)) for x in range(50)]")
    records = value(kc, "[(i, w) for i, w, s, e, c in _parallel.records]")
    assert [i for i, _ in records] == list(range(50))
    assert {w for _, w in records} <= {1, 2}
    assert value(kc, "all(e >= s and c >= 0 for i, w, s, e, c in _parallel.records)") is True
    assert value(kc, "(_parallel.backend, _parallel.workers, _parallel.items, _parallel.status)") == \
        ("interpreters", 2, 50, "ok")
    ok(kc, "last = %parallel_pool --last")
    assert value(kc, "last is _parallel") is True


def test_parallel_pool_shows_and_resizes(kc):
    ok(kc, "%%parallel -b interpreters --quiet\nr = [x for x in range(4)]")
    shown = ok(kc, "%parallel_pool").of_type("execute_result")[0]["content"]["data"]["text/plain"]
    assert "interpreters pool:" in shown and "workers" in shown and "MB" in shown
    resized = ok(kc, "%parallel_pool --resize 1").of_type("execute_result")[0]["content"]["data"]
    assert "1 workers (w1 idle)" in resized["text/plain"]
    ok(kc, "%parallel_pool --restart --resize 2")
    ok(kc, "%%parallel -b interpreters --quiet\nr = [x for x in range(4)]")
    assert value(kc, "_parallel.workers") == 2
    stopped = ok(kc, "%parallel_pool --shutdown").of_type("execute_result")[0]["content"]["data"]
    assert "not running" in stopped["text/plain"]
    ok(kc, "%%parallel -b interpreters --quiet\nr = [x + 1 for x in range(4)]")  # starts again
    assert value(kc, "r") == [1, 2, 3, 4]


def test_ordering_over_100000_items_and_a_generator_of_unknown_length(kc):
    ok(kc, "%%parallel -b interpreters --quiet\nr = [x * 3 for x in range(100_000)]")
    assert value(kc, "r == [x * 3 for x in range(100_000)]") is True
    ok(kc, "def numbers():\n    n = 0\n    while n < 5000:\n        yield n\n        n += 7")
    ok(kc, "%%parallel -b interpreters --quiet\nr = [x + 1 for x in numbers()]")
    assert value(kc, "r == [x + 1 for x in numbers()]") is True


# ---- interrupt -----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_interrupt_stops_every_backend_within_two_seconds(km, kc, backend):
    ok(kc, "def spin(x):\n    if x < 2:\n        return x\n    while True:\n        pass")
    msg_id = kc.execute(f"%%parallel -b {backend} -w 2 --quiet --chunksize 1\nr = [spin(x) for x in range(8)]")
    time.sleep(1.5 if backend == "processes" else 0.8)
    started = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - started < 2.0
    assert value(kc, "_parallel.status") == "interrupted"
    assert value(kc, "_parallel.results[:2]") == [0, 1]
    ok(kc, f"%%parallel -b {backend} --quiet\nr = [x + 1 for x in range(6)]")
    assert value(kc, "r") == [1, 2, 3, 4, 5, 6]
