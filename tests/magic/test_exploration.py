"""The exploration loop (issue 18), through the real kernel on every local backend: resume a run
after failures or an interrupt, retry items that raised, look at partial results, and debug a
failed item in the notebook. The dask backend's turn is in tests/dask/test_dask.py."""

from __future__ import annotations

import re
import time

import pytest

from kernel_client import execute, value
from kernel_client import xparallel_kernel  # noqa: F401 - this module's kernel: xparallel only
from test_magic import ok, plain

BACKENDS = ["interpreters", "processes", "threads", "serial"]


def ran(run) -> list[int]:
    """The items a run computed: each prints `ran X` (prefixed with its worker where the
    backend has workers of its own)."""
    return sorted(int(found.group(1)) for line in run.stdout.splitlines()
                  if (found := re.fullmatch(r"(?:\[\S+\] )?ran (\d+)", line)))


FLAKY = ("def f(x):\n"
         "    print('ran', x)\n"
         "    if x % 4 == 3:\n"
         "        raise ValueError(f'bad {x}')\n"
         "    return x * 10\n")
FIXED = ("def f(x):\n"
         "    print('ran', x)\n"
         "    return x * 10\n")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("errors", ["collect", "skip"])
def test_resume_runs_only_the_failed_items_with_the_current_code(kc, backend, errors):
    cell = f"%%parallel -b {backend} --quiet --chunksize 2 --errors {errors}"
    first = ok(kc, f"{cell}\n{FLAKY}r = [f(x) for x in range(10)]")
    assert ran(first) == list(range(10))
    resumed = ok(kc, f"{cell} --resume\n{FIXED}r = [f(x) for x in range(10)]")
    assert ran(resumed) == [3, 7]
    assert value(kc, "r") == [x * 10 for x in range(10)]
    assert "resumed: 8 reused, 2 run" in resumed.stdout
    assert value(kc, "(_parallel.reused, _parallel.status, _parallel.errors)") == (8, "ok", [])
    # Nothing left to do: nothing runs, the results stand.
    again = ok(kc, f"{cell} --resume\n{FIXED}r = [f(x) for x in range(10)]")
    assert ran(again) == [] and value(kc, "r") == [x * 10 for x in range(10)]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("backend", BACKENDS)
def test_an_interrupted_run_keeps_partial_results_and_resumes(km, kc, backend):
    slow = (f"%%parallel -b {backend} --quiet --chunksize 1\n"
            "import time\n"
            "def slow(x):\n"
            "    print('ran', x)\n"
            "    time.sleep(0.4)\n"
            "    return -x\n"
            "r = [slow(x) for x in range(12)]")
    msg = kc.execute(slow)
    time.sleep(1.5)
    km.interrupt_kernel()
    deadline = time.monotonic() + 10
    while True:  # the interrupted cell's reply
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg:
            break
    assert reply["content"]["status"] == "error"
    partial = value(kc, "[None if v is xparallel.MISSING else v for v in _parallel.partial()]"
                    .replace("xparallel.MISSING", "__import__('xparallel').MISSING"))
    assert len(partial) == 12
    done = [i for i, v in enumerate(partial) if v is not None]
    assert done and len(done) < 12, partial
    assert all(partial[i] == -i for i in done)
    assert value(kc, "_parallel.status") == "interrupted"
    resumed = ok(kc, slow.replace("--chunksize 1", "--chunksize 1 --resume"))
    assert set(ran(resumed)).isdisjoint(done), (ran(resumed), done)
    assert value(kc, "r") == [-x for x in range(12)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_resume_compares_the_inputs_not_their_positions(kc, backend):
    cell = f"%%parallel -b {backend} --quiet --errors collect"
    ok(kc, f"{cell}\n{FLAKY}xs = list(range(8))\nr = [f(x) for x in xs]")
    # Two inputs changed: they run again, with the failed ones.
    resumed = ok(kc, f"{cell} --resume\n{FIXED}xs[0] = 100\nxs[1] = 101\nr = [f(x) for x in xs]")
    assert ran(resumed) == [3, 7, 100, 101]
    assert value(kc, "r") == [1000, 1010] + [x * 10 for x in range(2, 8)]
    # Every finished input differs: one clear error saying what to do.
    run = execute(kc, f"{cell} --resume\n{FIXED}r = [f(x) for x in range(50, 58)]")
    assert run.status == "error"
    assert "inputs differ" in run.stderr and "without --resume" in run.stderr
    assert "Traceback" not in run.stderr


def test_resume_with_nothing_to_resume_says_so(kc):
    run = execute(kc, "%%parallel --quiet --resume\nnever_ran_before = [x for x in range(3)]")
    assert run.status == "error"
    assert "no earlier run of `never_ran_before`" in run.stderr
    assert "without --resume first" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_retries_run_failed_items_again(kc, backend, tmp_path):
    # An item fails on its first attempt only (a file records the attempt: every backend sees it).
    folder = tmp_path / backend
    folder.mkdir()
    cell = (f"%%parallel -b {backend} --quiet --retries 2\n"
            "import os\n"
            "def once(x):\n"
            f"    mark = os.path.join({str(folder)!r}, str(x))\n"
            "    if x % 3 == 0 and not os.path.exists(mark):\n"
            "        open(mark, 'w').close()\n"
            "        raise ConnectionError(f'flaky {x}')\n"
            "    return x\n"
            "r = [once(x) for x in range(7)]")
    run = ok(kc, cell)
    assert value(kc, "r") == list(range(7))
    assert value(kc, "_parallel.retried") == {0: 1, 3: 1, 6: 1}
    assert value(kc, "(_parallel.status, _parallel.errors)") == ("ok", [])
    assert "3 items retried" in run.stdout
    # An item that always fails: its error counts after the retries (--errors raise).
    run = execute(kc, f"%%parallel -b {backend} --quiet --retries 2\n"
                      "def never(x):\n"
                      "    if x == 2:\n"
                      "        raise ValueError('always')\n"
                      "    return x\n"
                      "r = [never(x) for x in range(4)]")
    assert run.status == "error" and run.of_type("error")[0]["content"]["ename"] == "ValueError"
    assert value(kc, "_parallel.retried") == {2: 2}


@pytest.mark.parametrize("backend", ["interpreters", "processes"])
def test_partial_after_a_failure_marks_what_is_missing(kc, backend):
    run = execute(kc, f"%%parallel -b {backend} --quiet --chunksize 1 -w 1\n"
                      "def g(x):\n"
                      "    if x == 3:\n"
                      "        raise KeyError(x)\n"
                      "    return x\n"
                      "r = [g(x) for x in range(6)]")
    assert run.status == "error"
    text = plain(run.of_type("error")[0]["content"]["traceback"])
    assert "%parallel_debug" in text and "_parallel.partial()" in text
    assert value(kc, "repr(_parallel.partial())") == "[0, 1, 2, MISSING, MISSING, MISSING]"
    assert value(kc, "_parallel.partial()[3] is __import__('xparallel').MISSING")


@pytest.mark.parametrize("backend", ["interpreters", "processes", "threads"])
def test_parallel_debug_stops_at_the_frame_that_raised(kc, backend):
    run = execute(kc, f"%%parallel -b {backend} --quiet --errors collect\n"
                      "OFFSET = 2\n"
                      "def h(x):\n"
                      "    scaled = x * 7\n"
                      "    return 1 / (x - OFFSET)\n"
                      "r = [h(x) for x in range(5)]")
    assert run.status == "ok"
    answers = iter(["p scaled", "p x", "where", "c"])
    prompts: list[str] = []

    def answer(request: dict) -> str:
        prompts.append(request["content"]["prompt"])
        return next(answers, "c")

    run = execute(kc, "%parallel_debug", allow_stdin=True, stdin=answer, timeout=60)
    assert run.status == "ok", run.stderr
    assert prompts and all("ipdb>" in p for p in prompts)
    out = plain([run.stdout])
    assert "item 2 (2), which raised ZeroDivisionError" in out
    lines = [line.strip() for line in out.splitlines()]
    assert "14" in lines and "2" in lines, out  # scaled and x at the frame that raised
    assert "return 1 / (x - OFFSET)" in out


def test_parallel_debug_says_what_is_wrong(kc):
    ok(kc, "%%parallel --quiet\nfine = [x for x in range(3)]")
    run = execute(kc, "%parallel_debug")
    assert run.status == "error" and "had no failed item" in run.stderr
    ok(kc, "%%parallel -b threads --quiet --errors skip\nr = [1 / x for x in range(3)]")
    run = execute(kc, "%parallel_debug 4")
    assert run.status == "error" and "has 1 failed item: give a number from 1 to 1" in run.stderr
    run = execute(kc, "%parallel_debug two")
    assert run.status == "error" and "expected a failed item's number" in run.stderr


@pytest.mark.timeout(90)
# A read nothing wakes but a signal: on serial (the kernel's main thread, where the timer signal
# lands) it is the same case as the sleep.
@pytest.mark.parametrize("backend,stuck", [(b, "sleep") for b in BACKENDS] + [
    (b, "blocked read") for b in BACKENDS if b != "serial"])
def test_timeout_replaces_a_hung_item_and_the_run_goes_on(kc, backend, stuck):
    hang = ("time.sleep(30)" if stuck == "sleep" else
            "rd, wr = os.pipe()\n        os.read(rd, 1)  # nothing wakes this but a signal")
    started = time.monotonic()
    run = ok(kc, f"%%parallel -b {backend} --quiet --timeout 1 --errors collect\n"
                 "import os, time\n"
                 "def f(x):\n"
                 "    if x == 3:\n"
                 f"        {hang}\n"
                 "    time.sleep(0.05)\n"
                 "    return x\n"
                 "r = [f(x) for x in range(8)]")
    assert time.monotonic() - started < 20
    assert value(kc, "[type(v).__name__ if isinstance(v, Exception) else v for v in r]") == \
        [0, 1, 2, "TimeoutError", 4, 5, 6, 7]
    assert value(kc, "(_parallel.timed_out, [e.index for e in _parallel.errors])") == ([3], [3])
    assert "--timeout 1 s" in value(kc, "str(r[3])")
    assert "1 item timed out" in run.stdout
    # The next cell starts at once, on a full pool.
    started = time.monotonic()
    ok(kc, f"%%parallel -b {backend} --quiet\nr = [x * 2 for x in range(4)]")
    assert time.monotonic() - started < 3
    assert value(kc, "r") == [0, 2, 4, 6]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", ["interpreters", "threads"])
def test_timeout_under_errors_raise_raises_the_timeout(kc, backend):
    run = execute(kc, f"%%parallel -b {backend} --quiet --timeout 0.5\n"
                      "import time\n"
                      "r = [time.sleep(10 if x == 1 else 0) or x for x in range(4)]")
    assert run.status == "error"
    assert run.of_type("error")[0]["content"]["ename"] == "TimeoutError"
    assert value(kc, "_parallel.timed_out") == [1]


def test_timeout_must_be_positive(kc):
    run = execute(kc, "%%parallel --timeout 0\nr = [x for x in range(3)]")
    assert run.status == "error" and "more than 0 seconds" in run.stderr
    assert "Traceback" not in run.stderr
