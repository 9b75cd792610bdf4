"""The engine and the magic built as on macOS: clang with libc++ (`-DXPARALLEL_BUILD_KERNEL=OFF`: the
kernel links xeus, which the distribution built against libstdc++). The build links libc++, not
libstdc++; the C++ unit tests, the engine's Python tests and the platform module's tests pass on it.
The one route where the C++ is compiled by another compiler and library than g++/libstdc++."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from install_env import ROOT, clean_env, passed_count, run

GTEST_SOURCE = Path("/usr/src/googletest")  # Debian's libgtest-dev ships the sources here

pytestmark = pytest.mark.skipif(
    not shutil.which("clang++") or not GTEST_SOURCE.is_dir(),
    reason="needs clang++, libc++ and GoogleTest's sources (the toolchain root has them)")


def needed(binary: Path) -> list[str]:
    """The shared libraries `binary` names as NEEDED (what the loader will map for it)."""
    dynamic = run(["readelf", "-d", binary], timeout=30).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line]


@pytest.mark.timeout(600)
def test_engine_and_magic_built_with_clang_and_libcxx(tmp_path):
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
         "-DCMAKE_CXX_COMPILER=clang++", "-DCMAKE_CXX_FLAGS=-stdlib=libc++",
         "-DXPARALLEL_BUILD_KERNEL=OFF", "-DXPARALLEL_BUILD_TESTS=ON",
         f"-DXPARALLEL_GTEST_SOURCE={GTEST_SOURCE}",
         # Link-time optimisation (pybind11's default for Release) doubles the build's time.
         "-DCMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF",
         f"-DPython_EXECUTABLE={sys.executable}", f"-DCMAKE_INSTALL_PREFIX={prefix}",
         "-DXPARALLEL_PYTHON_SITE=python"], timeout=120)
    (compiler,) = build.glob("CMakeFiles/*/CMakeCXXCompiler.cmake")
    assert 'set(CMAKE_CXX_COMPILER_ID "Clang")' in compiler.read_text()
    run(["cmake", "--build", build, "-j2", "--target", "_engine", "test_engine"], timeout=420)

    (module,) = (build / "magics").glob("_engine*.so")
    for binary in (module, build / "tests" / "cpp" / "test_engine"):
        libraries = needed(binary)
        assert "libc++.so.1" in libraries, (binary, libraries)
        assert not any(name.startswith("libstdc++") for name in libraries), (binary, libraries)

    ctest = run(["ctest", "--test-dir", build, "--output-on-failure"], timeout=60).stdout
    assert "100% tests passed" in ctest, ctest

    run(["cmake", "--install", build], timeout=60)
    site = prefix / "python"
    env = clean_env(PYTHONPATH=str(site))
    where = run([sys.executable, "-c", "import xparallel._engine as e; print(e.__file__)"],
                timeout=60, env=env, cwd="/").stdout.strip()
    assert Path(where).parent == site / "xparallel", where
    tests = run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                 "tests/python", "tests/platform"], timeout=420, env=env, cwd=ROOT).stdout
    assert passed_count(tests) > 20 and " failed" not in tests, tests[-3000:]
