"""What `python -m xparallel.check` says about the platform: what it measures here (everything, on
this Linux), and on a Mac's NumPy (Apple's Accelerate) why the BLAS-thread lessons show a flat
sweep."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from xparallel import check


@pytest.mark.timeout(120)
def test_on_this_linux_everything_is_measured():
    result = subprocess.run([sys.executable, "-m", "xparallel.check", "--json"],
                            capture_output=True, text=True, timeout=60)
    platform = {f["name"]: f for f in json.loads(result.stdout)}["platform"]
    assert platform["facts"]["platform"] == "linux"
    assert all(platform["facts"]["measured"].values()), platform
    assert "not measured here" not in platform["detail"]
    assert platform["facts"]["worker_start_method"] == "forkserver"


def test_accelerate_says_the_sweep_is_flat_and_why():
    # What a Mac's pip NumPy (>= 2 on macOS >= 14) reports: its build names Accelerate, and
    # threadpoolctl lists no BLAS it controls.
    config = {"Build Dependencies": {"blas": {"name": "accelerate", "found": True},
                                     "lapack": {"name": "accelerate", "found": True}}}
    finding = check.blas_finding("2.3.0", [], config)
    assert finding.status == check.WARN
    assert "Apple's Accelerate" in finding.detail and "flat sweep" in finding.detail
    assert "threadpoolctl cannot set its threads" in finding.detail
    assert "OpenBLAS" in finding.advice
    assert finding.facts["built_with"] == "accelerate"


def test_a_reference_blas_is_not_taken_for_accelerate():
    config = {"Build Dependencies": {"blas": {"name": "blas", "found": True}}}
    finding = check.blas_finding("2.3.0", [], config)
    assert "Accelerate" not in finding.detail and "no BLAS it can control" in finding.detail
