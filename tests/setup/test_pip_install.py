"""`pip install --no-build-isolation` of a clean copy of the sources into a fresh Python 3.14
virtual environment: the engine, the magic, the kernel and its kernelspec land in that environment,
and the magic's tests (stock ipykernel) and the kernel's protocol tests pass against what it holds."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from install_env import make_venv, passed_count, project_version, run

pytestmark = pytest.mark.timeout(1500)


@pytest.fixture(scope="module")
def venv(source_copy, tmp_path_factory):
    path = tmp_path_factory.mktemp("venv314")
    python = make_venv("python3", path)
    # --no-index: dependencies come from the distribution (the venv sees them); nothing is fetched.
    result = run([python, "-m", "pip", "install", "--no-build-isolation", "--no-index", source_copy],
                 timeout=1500)
    # The environment's own IPython kernel, as its users make it: the distribution's `python3`
    # kernelspec names /usr/bin/python3, which does not see this environment.
    run([python, "-m", "ipykernel", "install", "--sys-prefix"], timeout=60)
    return path, python, result.stdout


def test_the_package_imports_from_the_environment(venv):
    path, python, _ = venv
    out = run([python, "-c", "import importlib.metadata as m, xparallel, xparallel._engine as e; "
                             "print(xparallel.__version__, m.version('xparallel'), e.__file__)"],
              timeout=60, cwd=path).stdout.split()
    assert out[0] == out[1] == project_version()
    assert out[2].startswith(str(path / "lib")), out


def test_the_kernelspec_is_in_the_environment_and_names_its_kernel(venv):
    path, python, _ = venv
    # `jupyter kernelspec list` as the environment's Python runs it (this venv has no jupyter
    # scripts of its own: the distribution's /usr/bin/jupyter-* would run the system Python).
    listing = run([python, "-m", "jupyter_client.kernelspecapp", "list", "--json"],
                  timeout=60).stdout
    specs = json.loads(listing)["kernelspecs"]
    assert "xparallel" in specs, listing
    spec = specs["xparallel"]
    assert spec["resource_dir"] == str(path / "share" / "jupyter" / "kernels" / "xparallel")
    executable = spec["spec"]["argv"][0].replace("{resource_dir}", spec["resource_dir"])
    assert os.path.realpath(executable) == str(path / "bin" / "xparallel")
    assert os.access(executable, os.X_OK)
    assert run([executable, "--version"], timeout=30).stdout.strip() == f"xparallel {project_version()}"


def test_the_kernel_runs_on_the_environment(venv, source_copy):
    """Started through its kernelspec, the kernel is a Python of this environment: sys.prefix is
    the venv, its packages are the venv's, the magic works."""
    path, python, _ = venv
    script = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from kernel_client import execute, start, stop
        km, kc = start("xparallel")
        try:
            info = kc.kernel_info(reply=True, timeout=30)["content"]
            where = execute(kc, "import sys, xparallel, xparallel_kernel\\n"
                                "print(sys.prefix, sys.executable, xparallel.__file__, xparallel_kernel.__file__)")
            run = execute(kc, "%%parallel -w 2 -b interpreters --quiet\\nsquares = [x * x for x in range(100)]")
            total = execute(kc, "print(sum(squares))")
            print(json.dumps([info["implementation_version"], where.stdout, run.status, total.stdout]))
        finally:
            stop(km, kc)
    """)
    probe = path.parent / "kernel_probe.py"
    probe.write_text(script)
    out = run([python, probe, source_copy / "tests"], timeout=180, cwd=path).stdout
    version, where, status, total = json.loads(out.strip().splitlines()[-1])
    assert version == project_version()
    prefix, executable, magic, kernel = where.split()
    assert prefix == str(path)
    assert executable.startswith(str(path / "bin" / "python"))
    assert magic.startswith(str(path / "lib")) and kernel.startswith(str(path / "lib"))
    assert status == "ok" and total.strip() == str(sum(x * x for x in range(100)))


def test_the_magic_tests_pass_in_a_stock_ipykernel_of_the_environment(venv, source_copy):
    path, python, _ = venv
    spec = json.loads(run([python, "-m", "jupyter_client.kernelspecapp", "list", "--json"],
                          timeout=60).stdout)["kernelspecs"]["python3"]
    assert spec["spec"]["argv"][0] == str(python), spec
    out = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/magic", "-k", "ipykernel"],
              timeout=900, cwd=source_copy).stdout
    assert passed_count(out) >= 20, out[-3000:]


def test_the_kernel_protocol_tests_pass_against_the_installed_kernelspec(venv, source_copy):
    _, python, _ = venv
    out = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/kernel"],
              timeout=900, cwd=source_copy).stdout
    assert passed_count(out) >= 20, out[-3000:]
