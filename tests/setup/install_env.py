"""Installing the package as a user does: a clean copy of the sources (the sdist, which leaves out
what .gitignore names, build/ included), a fresh virtual environment with the distribution's
packages visible (--system-site-packages), pip or build without isolation (no package index here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def project_version() -> str:
    """The one place the version is written: CMakeLists.txt's project() line."""
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(xparallel VERSION ([0-9.]+)", text).group(1)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the project's own build on the paths (scripts/tasks
    puts it there): what an installed environment sees must be what pip put into it."""
    build = os.environ.get("XPARALLEL_BUILD", "")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "JUPYTER_PATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and not (build and p.startswith(build)))
    env["CMAKE_BUILD_PARALLEL_LEVEL"] = str(os.cpu_count() or 2)
    env.update(extra)
    return env


def run(cmd: list[str | Path], *, timeout: float, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs cmd; on failure the assertion shows the command and the end of its output."""
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env if env is not None else clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} exited {result.returncode}:\n" + \
        result.stdout[-6000:]
    return result


def sdist_copy(workdir: Path) -> Path:
    """The sources as `python -m build --sdist` packs them, unpacked: a clean copy of the checkout."""
    dist = workdir / "dist"
    run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", dist, ROOT],
        timeout=120)
    (archive,) = dist.glob("xparallel-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    (source,) = workdir.glob("xparallel-*/")
    return source


def make_venv(python: str, path: Path) -> Path:
    """A fresh virtual environment that sees the distribution's packages; returns its python."""
    run([python, "-m", "venv", "--system-site-packages", path], timeout=120)
    return path / "bin" / "python"


def passed_count(pytest_output: str) -> int:
    match = re.search(r"(\d+) passed", pytest_output)
    return int(match.group(1)) if match else 0
