"""The workers run a notebook's functions as fast as the notebook does: the mechanism, not a timing.

A function defined in the notebook reaches the workers by value (cloudpickle). Rebuilt as pickle
rebuilds it, it has no function version, and CPython cannot specialise a call to it: every call,
a recursive function's own included, took the generic path (20-30 % more worker CPU on `fib`,
issue 23). What a user relies on is that the worker's calls specialise as in the notebook: the
adaptive bytecode shows it, whatever the machine's speed or load.
"""

from __future__ import annotations

import pytest

from kernel_client import execute, value

NOTEBOOK = """
import dis

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def helper(n, offset=1, *, scale=1):
    "a notebook helper with defaults"
    return scale * fib(n) + offset

class Walker:
    def __init__(self, depth):
        self.depth = depth
    def walk(self, n):
        return 0 if n == 0 else 1 + self.walk(n - 1)

def calls(function, *args):
    for _ in range(3):  # past CPython's warm-up, every call site has specialised or given up
        function(*args)
    return sorted({i.opname for i in dis.get_instructions(function, adaptive=True)
                   if i.opname.startswith("CALL")})
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["interpreters", "processes"])
def test_notebook_functions_calls_specialise_in_the_workers(kc, backend):
    assert execute(kc, NOTEBOOK).status == "ok"
    in_notebook = value(kc, "[calls(fib, 12), calls(helper, 12), calls(Walker(1).walk, 30)]")
    assert in_notebook == [["CALL_PY_EXACT_ARGS"]] * 3, in_notebook
    run = execute(kc, f"%%parallel -b {backend} -w 1 --quiet\n"
                      "seen = [[calls(fib, 12), calls(helper, 12), calls(Walker(1).walk, 30)]"
                      " for _ in range(1)]")
    assert run.status == "ok", run.stderr
    assert value(kc, "seen") == [in_notebook]


@pytest.mark.timeout(120)
def test_rebuilt_functions_keep_what_they_were(kc):
    assert execute(kc, NOTEBOOK).status == "ok"
    run = execute(kc, "%%parallel -b interpreters -w 1 --quiet\n"
                      "got = [(helper(5), helper(5, 2), helper(5, scale=3), helper.__doc__,"
                      " helper.__defaults__, helper.__kwdefaults__, helper.__qualname__,"
                      " Walker(1).walk(4), fib.__module__ == helper.__module__) for _ in range(1)]")
    assert run.status == "ok", run.stderr
    assert value(kc, "got") == value(kc, "[(helper(5), helper(5, 2), helper(5, scale=3), "
                                         "helper.__doc__, helper.__defaults__, helper.__kwdefaults__,"
                                         " helper.__qualname__, Walker(1).walk(4), True)]")
