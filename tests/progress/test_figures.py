"""One set of figures: the summary, `_parallel` and `--compare` show the same cores used and the
same speedup, saying whether it was measured against a serial run or estimated."""

from __future__ import annotations

import re

import pytest

from kernel_client import execute, start, stop, value
from xparallel.measure import Usage
from xparallel.report import ParallelReport, compare_rows


def report(backend: str, workers: int, wall: float, rows: list[tuple],
           usage: Usage | None = None) -> ParallelReport:
    return ParallelReport(backend=backend, workers=workers, reason="", status="ok",
                          items=sum(r[2] for r in rows), wall=wall, timeline=rows, errors=[],
                          usage=usage)


# ---- the estimate, on rows shaped like real runs --------------------------------------------------
def test_six_field_rows_are_read_as_no_wait():
    old = report("interpreters", 2, 1.0, [(1, 0, 5, 0.0, 1.0, 0.9), (2, 5, 5, 0.0, 1.0, 0.9)])
    assert old.wait == 0.0
    assert old.speedup == pytest.approx(1.8)  # min(items' time 2.0, CPU 1.8) / 1.0
    assert old.records[0] == (0, 1, 0.0, 0.2, 0.18)


def test_waiting_for_a_core_is_not_counted_as_work():
    # Two workers on a machine whose other load took half their chunks' time.
    busy = report("interpreters", 2, 2.0, [(1, 0, 5, 0.0, 2.0, 1.0, 1.0), (2, 5, 5, 0.0, 2.0, 1.0, 1.0)],
                  usage=Usage(cpu=2.0, wall=2.0))
    assert busy.serial_estimate == pytest.approx(2.0)
    assert busy.speedup == pytest.approx(1.0)
    assert "speedup ≈ 1.00× (estimate" in busy.summary()


def test_threads_on_pure_python_show_no_speedup():
    # The GIL: each thread's chunk lasts the whole run, yet one core computes.
    gil = report("threads", 2, 2.0, [(1, 0, 8, 0.0, 2.0, 1.0, 0.0), (2, 8, 8, 0.0, 2.0, 1.0, 0.0)],
                 usage=Usage(cpu=2.02, wall=2.0))
    assert gil.cores_used == pytest.approx(1.01)
    assert gil.speedup <= gil.cores_used


def test_a_computing_run_on_a_loaded_machine_is_not_taken_for_waiting():
    # One worker that got half a core: it computed, and waited for a core the other half.
    loaded = report("interpreters", 1, 2.0, [(1, 0, 4, 0.0, 2.0, 1.0)],
                    usage=Usage(cpu=1.0, wall=2.0, wait=1.0))
    assert loaded.computed
    assert loaded.speedup == pytest.approx(0.5)  # its work per second of wall, no more


def test_waiting_runs_estimate_from_the_items_time_capped_by_the_workers():
    io = report("threads", 4, 1.0, [(w, 0, 4, 0.0, 1.0, 0.01, 0.0) for w in (1, 2, 3, 4)],
                usage=Usage(cpu=0.05, wall=1.0))
    assert io.speedup == pytest.approx(4.0)
    over = report("threads", 2, 1.0, [(w, 0, 4, 0.0, 1.5, 0.01, 0.0) for w in (1, 2)],
                  usage=Usage(cpu=0.05, wall=1.0))
    assert over.speedup == pytest.approx(2.0)  # never more than the workers could do


def test_a_measured_baseline_replaces_the_estimate_everywhere():
    runs = {"serial": report("serial", 1, 4.0, [(1, 0, 10, 0.0, 4.0, 4.0, 0.0)], Usage(4.0, 4.0)),
            "interpreters": report("interpreters", 2, 2.5, [(1, 0, 5, 0.0, 2.5, 2.0, 0.5),
                                                             (2, 5, 5, 0.0, 2.5, 2.0, 0.5)],
                                   Usage(4.1, 2.5))}
    rows = compare_rows(runs)
    final = runs["interpreters"]
    assert final.speedup == pytest.approx(1.6) == rows[1]["speedup"]
    assert rows[1]["cores_used"] == final.cores_used == pytest.approx(1.64)
    assert "speedup 1.60× measured against a serial run (4.00 s)" in final.summary()
    assert "speedup" not in runs["serial"].summary()  # the baseline itself claims none


def test_grammar():
    one = report("threads", 1, 1.0, [(1, 0, 1, 0.0, 1.0, 1.0)])
    assert one.summary().startswith("1 item in 1.00 s on 1 thread ·")
    serial = report("serial", 1, 1.0, [(1, 0, 3, 0.0, 1.0, 1.0)])
    assert serial.summary().startswith("3 items in 1.00 s on the main thread ·")


# ---- through the kernel: the same figures in the summary, `_parallel` and `--compare` -------------
@pytest.fixture(scope="module")
def kernel():
    km, kc = start("xparallel")
    yield kc
    stop(km, kc)


def numbers(summary: str) -> tuple[float, float]:
    cores = float(re.search(r"cores used ([\d.]+)", summary).group(1))
    speedup = float(re.search(r"speedup ≈? ?([\d.]+)×", summary).group(1))
    return cores, speedup


@pytest.mark.timeout(240)
def test_summary_and_report_agree_through_the_kernel(kernel):
    run = execute(kernel, "%%parallel -b interpreters -w 2\n"
                          "def spin(n):\n    return sum(i * i for i in range(n))\n"
                          "r = [spin(300_000) for _ in range(12)]", timeout=120)
    assert run.status == "ok", run.reply
    summary = run.stdout.splitlines()[0]
    assert "(estimate; --compare measures it)" in summary
    cores, speedup = numbers(summary)
    assert value(kernel, "f'{_parallel.cores_used:.2f}'") == f"{cores:.2f}"
    assert value(kernel, "f'{_parallel.speedup:.2f}'") == f"{speedup:.2f}"
    assert value(kernel, "_parallel.summary()") == summary
    assert value(kernel, "_parallel.usage is not None")  # measured over the process tree


@pytest.mark.timeout(240)
def test_cores_used_counts_processes_an_item_starts(kernel):
    # thread_time() of the chunk's thread sees none of this: the CPU is in a child process.
    run = execute(kernel, "%%parallel -b threads -w 1\n"
                          "import subprocess, sys\n"
                          "SPIN = 'import time\\nend = time.process_time() + 0.5\\n"
                          "while time.process_time() < end: pass'\n"
                          "r = [subprocess.run([sys.executable, '-c', SPIN]).returncode "
                          "for _ in range(2)]", timeout=120)
    assert run.status == "ok", run.reply
    chunks = value(kernel, "sum(row[5] for row in _parallel.timeline)")
    assert chunks < 0.3
    assert value(kernel, "_parallel.cpu") >= 0.9


@pytest.mark.timeout(400)
def test_compare_table_and_report_agree(kernel):
    run = execute(kernel, "%%parallel --compare -w 2\n"
                          "def spin(n):\n    return sum(i * i for i in range(n))\n"
                          "r = [spin(200_000) for _ in range(8)]", timeout=300)
    assert run.status == "ok", run.reply
    rows = value(kernel, "[(r['backend'], round(r['speedup'], 6), round(r['cores_used'], 6)) "
                         "for r in _parallel.comparison]")
    final = dict((name, (s, c)) for name, s, c in rows)["interpreters"]
    assert value(kernel, "(round(_parallel.speedup, 6), round(_parallel.cores_used, 6))") == tuple(final)
    summary = value(kernel, "_parallel.summary()")
    assert "measured against a serial run" in summary
    assert f"speedup {final[0]:.2f}×" in summary and f"cores used {final[1]:.2f}" in summary
    serial_wall = value(kernel, "[r['wall'] for r in _parallel.comparison if r['backend'] == 'serial'][0]")
    assert abs(final[0] - serial_wall / value(kernel, "_parallel.wall")) < 1e-5
    table = [o for m in run.of_type("execute_result") for o in [m["content"]["data"]["text/plain"]]]
    assert table and f"{final[0]:.2f}×" in table[0]


@pytest.mark.timeout(400)
def test_reports_from_real_runs_agree_once_compared(kernel):
    for name in ("serial", "threads", "processes", "interpreters"):
        run = execute(kernel, f"%%parallel -b {name} -w 2 --quiet\n"
                              "def spin(n):\n    return sum(i * i for i in range(n))\n"
                              f"r_{name} = [spin(150_000) for _ in range(6)]\n", timeout=120)
        assert run.status == "ok", run.reply
        execute(kernel, f"runs = globals().setdefault('runs', {{}}); runs[{name!r}] = _parallel")
    execute(kernel, "from xparallel.report import compare_rows\nrows = compare_rows(runs)")
    for name in ("threads", "processes", "interpreters"):
        summary = value(kernel, f"runs[{name!r}].summary()")
        row = value(kernel, f"[r for r in rows if r['backend'] == {name!r}][0]")
        assert "measured against a serial run" in summary
        assert f"speedup {row['speedup']:.2f}×" in summary
        assert f"cores used {row['cores_used']:.2f}" in summary


def test_a_silent_progress_prints_nothing(capsys):
    from xparallel.progress import make_progress

    progress = make_progress("threads", 2, 4, "", quiet=False, silent=True)
    progress.start(None)
    run = report("threads", 2, 0.1, [(1, 0, 4, 0.0, 0.1, 0.05)])
    progress.finish(None, run)
    assert capsys.readouterr().out == ""


@pytest.mark.timeout(120)
def test_every_round_is_measured_also_the_silent_ones(kernel):
    # The run measures itself (process-tree CPU around it), whatever its progress shows: the
    # rounds --retries runs again are silent, and the report still has their usage.
    execute(kernel, "tries = {}")
    run = execute(kernel, "%%parallel -b threads -w 2 --retries 2 --quiet\n"
                          "def flaky(i):\n"
                          "    tries[i] = tries.get(i, 0) + 1\n"
                          "    if i == 3 and tries[i] < 2:\n"
                          "        raise ValueError(i)\n"
                          "    return sum(j * j for j in range(100_000))\n"
                          "r = [flaky(i) for i in range(6)]", timeout=60)
    assert run.status == "ok", run.reply
    assert value(kernel, "_parallel.retried") == {3: 1}
    assert value(kernel, "_parallel.usage is not None and _parallel.usage.cpu > 0") is True
