"""`cmake --install` into a prefix puts the Python package where a Python looks below that prefix.
Regression: with -DCMAKE_INSTALL_PREFIX=/usr/local on Debian the package went to
/usr/local/local/lib/python3.X/dist-packages (the site path was made relative to sys.prefix, /usr,
then joined to the prefix), so `import xparallel` failed."""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

import pytest

from install_env import ROOT, clean_env, project_version, run


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cmake-prefix")


def install(build: Path, prefix: str, stage: Path) -> None:
    """Configures for `prefix` and installs, staged below `stage` (DESTDIR), the way a packager
    or `sudo cmake --install` would, without the kernel (this is about the Python package)."""
    run(["cmake", "-S", ROOT, "-B", build, f"-DCMAKE_INSTALL_PREFIX={prefix}",
         "-DXPARALLEL_BUILD_KERNEL=OFF", f"-DPython_EXECUTABLE={sys.executable}"], timeout=300)
    run(["cmake", "--build", build, "--target", "_engine"], timeout=900)
    run(["cmake", "--install", build], timeout=120, env=clean_env(DESTDIR=str(stage)))


def imports_from(site_dir: Path) -> str:
    env = clean_env(PYTHONPATH=str(site_dir))
    return run([sys.executable, "-c", "import xparallel, xparallel._engine; print(xparallel.__file__, "
                                      "xparallel.__version__)"], timeout=60, env=env, cwd="/").stdout


@pytest.mark.timeout(1200)
def test_a_prefix_python_searches_gets_the_package_in_its_site_directory(build_dir, tmp_path):
    # Where this Python looks below /usr/local (Debian: lib/python3.X/dist-packages).
    searched = [p for p in site.getsitepackages() if p.startswith("/usr/local/")]
    assert searched, site.getsitepackages()
    install(build_dir, "/usr/local", tmp_path)
    site_dir = tmp_path / searched[0].lstrip("/")
    assert (site_dir / "xparallel" / "__init__.py").exists(), sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("__init__.py"))
    assert not (tmp_path / "usr" / "local" / "local").exists()
    where, version = imports_from(site_dir).split()
    assert where == str(site_dir / "xparallel" / "__init__.py") and version == project_version()


@pytest.mark.timeout(600)
def test_a_prefix_python_does_not_search_gets_the_standard_layout(build_dir, tmp_path):
    """A prefix of one's own (/opt/xparallel): lib/python3.X/site-packages below it, as a Python
    installed there would use; the user puts that on PYTHONPATH."""
    install(build_dir, "/opt/xparallel", tmp_path)  # reuses the build above: only a reconfigure
    rel = os.path.relpath(sysconfig.get_path("platlib", "posix_prefix",
                                             {"base": "/opt/xparallel", "platbase": "/opt/xparallel"}),
                          "/opt/xparallel")
    site_dir = tmp_path / "opt" / "xparallel" / rel
    where, _ = imports_from(site_dir).split()
    assert where == str(site_dir / "xparallel" / "__init__.py")
