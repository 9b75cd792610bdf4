"""xparallel on a system without /proc (as macOS has none): a child runs in a mount namespace of its
own with an empty /proc. Its figures say "not measured here" instead of raising or reading 0, and
in a stock ipykernel `%parallel_pool` and `%%parallel` on processes and interpreters work.
Regressions: `%parallel_pool` raised FileNotFoundError on /proc/self/statm; every worker process
took the missing /proc/<kernel pid> for a dead kernel and exited (BrokenProcessPool)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

kernel_client = pytest.importorskip("kernel_client", exc_type=ImportError,
                                    reason="jupyter_client/pyzmq is not installed for this Python")

HIDE_PROC = ["unshare", "--mount", "--propagation", "unchanged", "--fork", sys.executable,
             str(Path(__file__).with_name("hide_proc.py"))]

pytestmark = pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")


def without_proc(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HIDE_PROC, sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(150)
def test_reads_answer_not_measured():
    result = without_proc("""
        import json, os
        from xparallel import platform_reads as r
        from xparallel.measure import RunClock
        from xparallel.pool_status import PoolStatus
        assert not os.path.exists("/proc/self"), "the namespace still has /proc"
        usage = RunClock.start().stop()
        print(json.dumps({
            "memory": [r.rss_bytes(), r.pss_bytes()], "peak": r.peak_rss_bytes(),
            "wait": r.thread_wait_seconds(), "threads": r.threads_cpu(),
            "children": r.descendants_cpu(), "waits": r.waits_ns([os.getpid()]),
            "usage_wait": usage.wait,
            "pool": repr(PoolStatus()), "alive": r.process_alive(os.getpid()),
        }))
    """)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["memory"] == [None, None] and seen["wait"] is None
    assert seen["threads"] is None and seen["children"] is None and seen["waits"] is None
    assert seen["usage_wait"] is None
    assert seen["peak"] > 0  # getrusage needs no /proc
    assert seen["alive"]
    assert "kernel RSS not measured here" in seen["pool"], seen["pool"]


@pytest.mark.timeout(150)
def test_the_check_says_what_is_not_measured():
    result = subprocess.run([*HIDE_PROC, sys.executable, "-m", "xparallel.check", "--json"],
                            capture_output=True, text=True, timeout=120)
    findings = {f["name"]: f for f in json.loads(result.stdout)}
    platform = findings["platform"]
    assert "the check itself failed" not in platform["detail"], platform
    assert "not measured here" in platform["detail"]
    assert platform["facts"]["measured"]["time waiting for a core"] is False


@pytest.fixture()
def kernel(tmp_path):
    """A stock ipykernel started without /proc, driven over ZeroMQ (loopback is shared)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec = tmp_path / "kernels" / "noproc"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [*HIDE_PROC, sys.executable, "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "Python without /proc", "language": "python"}))
    km = KernelManager(kernel_name="noproc",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")]))
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield km, kc
    finally:
        kernel_client.stop(km, kc)


def ok(kc, code: str):
    run = kernel_client.execute(kc, code, timeout=90)
    errors = [f"{m['content']['ename']}: {m['content']['evalue']}" for m in run.of_type("error")]
    assert run.status == "ok", (code, errors or run.messages)
    return run


@pytest.mark.timeout(240)
def test_the_magic_in_a_kernel_without_proc(kernel):
    _, kc = kernel
    ok(kc, "%load_ext xparallel\nimport os\nassert not os.path.exists('/proc/self')")
    for backend in ("processes", "interpreters"):
        ok(kc, f"%parallel -b {backend} -w 2 --quiet squares = [x * x for x in range(20)]")
        assert kernel_client.value(kc, "squares == [x * x for x in range(20)]") is True
        assert kernel_client.value(kc, "(_parallel.usage.wait, _parallel.wait)") == (None, None)
    ok(kc, "status = %parallel_pool")
    assert "kernel RSS not measured here" in kernel_client.value(kc, "repr(status)")
