"""Randomised cells: %%parallel gives what the plain comprehension gives, on every backend."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_client import execute, value

TEMPLATES = [
    "[{e} for x in data]",
    "[{e} for x in data if x % {m}]",
    "[({e}, y) for x in data for y in range(x % {m})]",
    "{{x % {m}: {e} for x in data}}",
    "{{{e} for x in data}}",
    "list(map(lambda x: {e}, data))",
]
EXPRESSIONS = ["x", "x * x", "x - 7", "(x, -x)", "str(x)", "x // 3 + x % 5"]


@pytest.fixture(scope="module")
def kc():
    from kernel_client import start, stop

    km, client = start("xparallel")
    yield client
    stop(km, client)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(st.integers(-1000, 1000), max_size=300),
       template=st.sampled_from(TEMPLATES), expression=st.sampled_from(EXPRESSIONS),
       modulus=st.integers(2, 5), backend=st.sampled_from(["interpreters", "threads", "serial"]),
       chunksize=st.sampled_from(["", "--chunksize 1", "--chunksize 7"]))
def test_parallel_equals_serial(kc, data, template, expression, modulus, backend, chunksize):
    form = template.format(e=expression, m=modulus)
    assert execute(kc, f"data = {data!r}\nexpected = {form}").status == "ok"
    run = execute(kc, f"%%parallel -b {backend} --quiet {chunksize}\ngot = {form}")
    assert run.status == "ok", run.stderr
    assert value(kc, "got == expected") is True, form
