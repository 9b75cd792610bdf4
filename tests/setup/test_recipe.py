"""The conda recipe cannot be built here (no conda channel): what can be checked is that it builds
the version the project declares, with the same pip command as the pip route, and that its test
imports the package and lists the kernelspec."""

from __future__ import annotations

import yaml

from install_env import ROOT, project_version


def recipe() -> dict:
    return yaml.safe_load((ROOT / "recipe" / "recipe.yaml").read_text())


def test_the_recipe_builds_the_declared_version_with_pip():
    r = recipe()
    assert r["context"]["version"] == project_version()
    assert r["source"] == {"path": ".."}
    (script,) = r["build"]["script"]
    assert "-m pip install . --no-deps --no-build-isolation" in script


def test_the_recipe_test_imports_the_package_and_lists_the_kernelspec():
    tests = recipe()["tests"]
    imports = [name for t in tests if "python" in t for name in t["python"]["imports"]]
    assert "xparallel" in imports
    scripts = " ".join(line for t in tests for line in t.get("script", []))
    assert "jupyter kernelspec list" in scripts and "'xparallel' in" in scripts
