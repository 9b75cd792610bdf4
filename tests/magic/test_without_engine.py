"""The reshape's promise: only the interpreters backend needs the C++ module. In a stock ipykernel
where `xparallel._engine` cannot be imported, the Python backends still run cells."""

from __future__ import annotations

import pytest

from kernel_client import execute, start, stop, value
from test_magic import ok


@pytest.fixture(scope="module")
def kc():
    km, client = start("python3")
    # As on a machine where the extension does not load (no own-GIL interpreters there).
    assert execute(client, "import sys\nsys.modules['xparallel._engine'] = None\n"
                           "%load_ext xparallel").status == "ok"
    yield client
    stop(km, client)


@pytest.mark.timeout(120)
def test_python_backends_run_without_the_engine(kc):
    ok(kc, "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)")
    for backend in ("threads", "processes", "serial"):
        ok(kc, f"%%parallel -b {backend} --quiet --errors collect\nr = {{n: fib(n) for n in range(12)}}")
        assert value(kc, "r") == {n: [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89][n] for n in range(12)}
    assert value(kc, "'xparallel._engine' in sys.modules and sys.modules['xparallel._engine'] is None")
    ok(kc, "%%parallel --quiet\nr = [fib(n) for n in range(5)]")  # auto: processes, and says why
    assert value(kc, "_parallel.backend") == "processes"
    assert "engine does not load" in value(kc, "_parallel.reason")
    run = execute(kc, "%%parallel -b interpreters --quiet\nr = [n for n in range(3)]")
    assert run.status == "error" and "the interpreters backend cannot load here" in run.stderr
    assert "Traceback" not in run.stderr
