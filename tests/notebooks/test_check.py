"""`python -m xparallel.check`, the pre-session check students run: run as they run it, in this
environment (the toolchain's), and again with something the session needs taken away."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xparallel.check", *args], capture_output=True,
                          text=True, timeout=60, env=env or dict(os.environ))


def findings(env: dict[str, str] | None = None) -> dict[str, dict]:
    result = check("--json", env=env)
    return {f["name"]: f for f in json.loads(result.stdout)} | {"_exit": result.returncode}


@pytest.mark.timeout(120)
def test_everything_the_session_uses_works_here():
    found = findings()
    for name in ("python", "interpreters", "engine", "kernel", "widgets", "blas"):
        assert found[name]["status"] == "ok", found[name]
    assert found["_exit"] == 0
    cores = found["cores"]["facts"]
    assert cores["logical"] == os.cpu_count() and cores["usable"] == len(os.sched_getaffinity(0))
    assert 1 <= cores["physical"] <= cores["logical"]
    # The toolchain's NumPy runs on a threaded OpenBLAS that threadpoolctl controls.
    [blas] = found["blas"]["facts"]["libraries"]
    assert blas["internal_api"] == "openblas" and blas["threading_layer"] == "pthreads"
    assert 1 < blas["num_threads"] <= os.cpu_count()
    assert found["start_method"]["facts"]["method"] == "forkserver"
    text = check()
    assert text.returncode == 0 and text.stdout.rstrip().endswith("READY: everything the session uses works here")
    assert f"cores: {os.cpu_count()} logical" in text.stdout


@pytest.mark.timeout(120)
def test_what_is_missing_comes_with_what_to_do():
    # A single BLAS thread (the environment says so) and no kernelspec on the Jupyter path: warnings,
    # each with its advice; the session can still run (exit 0), as it can in a stock ipykernel.
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_PATH"}
    env["OPENBLAS_NUM_THREADS"] = "1"
    found = findings(env)
    assert found["blas"]["status"] == "warn"
    assert "unset OMP_NUM_THREADS / OPENBLAS_NUM_THREADS" in found["blas"]["advice"]
    if found["kernel"]["status"] != "ok":  # (unless a kernelspec is installed system-wide too)
        assert found["kernel"]["status"] == "warn"
        assert "%load_ext xparallel" in found["kernel"]["advice"]
    assert found["_exit"] == 0
    text = check(env=env).stdout
    assert "READY, with warnings" in text and "        do: unset OMP_NUM_THREADS" in text
