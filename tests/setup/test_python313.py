"""Python 3.13, the oldest Python the project supports: `python3.13 -m build --wheel` of a clean
copy of the sources, installed with pip into a fresh 3.13 virtual environment, runs the engine's
tests. This build also takes the route of a machine without xeus (find_package(xeus) disabled):
it must say that the kernel is not built and still install the engine and the magic."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest

from install_env import clean_env, make_venv, passed_count, project_version, run

pytestmark = [pytest.mark.timeout(1500),
              pytest.mark.skipif(shutil.which("python3.13") is None, reason="no python3.13 here")]


@pytest.fixture(scope="module")
def wheel(source_copy, tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel313")
    # No ninja here: without a generator named, scikit-build-core asks for the ninja package,
    # which `build` then finds missing (pip without isolation does not check).
    result = run(["python3.13", "-m", "build", "--wheel", "--no-isolation", "--outdir", out,
                  "-Ccmake.define.CMAKE_DISABLE_FIND_PACKAGE_xeus=ON", source_copy], timeout=1500,
                 env=clean_env(CMAKE_GENERATOR="Unix Makefiles"))
    (built,) = out.glob("xparallel-*-cp313-cp313-*.whl")
    return built, result.stdout


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    path = tmp_path_factory.mktemp("venv313")
    python = make_venv("python3.13", path)
    run([python, "-m", "pip", "install", "--no-index", wheel[0]], timeout=300)
    return path, python


def test_without_xeus_the_build_says_the_kernel_is_not_built(wheel):
    _, log = wheel
    text = " ".join(log.split())  # CMake wraps its warnings
    assert re.search(r"NOT building the xparallel kernel: xeus(, [\w-]+)* not found", text), log[-4000:]
    assert "%load_ext xparallel" in text


def test_without_xeus_the_wheel_holds_the_engine_and_the_magic_only(wheel):
    built, _ = wheel
    names = zipfile.ZipFile(built).namelist()
    assert any(n.startswith("xparallel/_engine.cpython-313") and n.endswith(".so") for n in names), names
    assert "xparallel/magic.py" in names and "xparallel/_version.py" in names
    assert not [n for n in names if "/scripts/" in n or "kernels/xparallel" in n or
                n.startswith("xparallel_kernel/")], names


def test_the_engine_imports_on_313(venv):
    path, python = venv
    out = run([python, "-c", "import sys, xparallel, xparallel._engine as e; "
                             "print(sys.version_info[:2] == (3, 13), xparallel.__version__, e.__file__)"],
              timeout=60, cwd=path).stdout.split()
    assert out[:2] == ["True", project_version()]
    assert out[2].startswith(str(path / "lib" / "python3.13")), out


def test_the_engine_tests_pass_on_313(venv, source_copy):
    _, python = venv
    out = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/python"],
              timeout=900, cwd=source_copy).stdout
    assert passed_count(out) >= 10, out[-3000:]


def test_the_default_pool_maps_after_a_warm_pool_on_313(venv, tmp_path):
    """3.13's default start method is fork: after a warm pool, its children must run. (The
    module's time limit covers building the wheel; the script itself is bounded below.)"""
    _, python = venv
    script = Path(__file__).with_name("fork_after_a_warm_pool.py")
    out = run([python, script], timeout=90, cwd=tmp_path).stdout
    assert out.split("\n")[-2] == "[4, 3, 2, 1, 0, 1, 2, 3]", out
