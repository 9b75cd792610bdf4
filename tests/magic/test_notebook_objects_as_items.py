"""Items may be the notebook's own objects: instances of a class defined in the notebook, its
functions. They used to travel by a name the workers cannot find (`__main__.Doc`) and the cell
failed with AttributeError on every backend that pickles."""

from __future__ import annotations

import pytest

from kernel_client import execute, value

DEFINE = ("from dataclasses import dataclass\n"
          "@dataclass\nclass Doc:\n    text: str\n    def words(self):\n        return len(self.text.split())\n"
          "docs = [Doc('a b c'), Doc('d'), Doc('e f')]\n"
          "def double(x):\n    return 2 * x\n")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["interpreters", "processes"])
def test_instances_of_notebook_classes_and_notebook_functions_as_items(kc, backend):
    assert execute(kc, DEFINE).status == "ok"
    run = execute(kc, f"%%parallel -b {backend} -w 2 --quiet\n"
                      "counts = [d.words() for d in docs]")
    assert run.status == "ok", run.stderr
    assert value(kc, "counts") == [3, 1, 2]
    run = execute(kc, f"%%parallel -b {backend} -w 2 --quiet\n"
                      "applied = [f(21) for f in [double, abs, double]]")
    assert run.status == "ok", run.stderr
    assert value(kc, "applied") == [42, 21, 42]
    # Results made of the notebook's class come back as that class.
    run = execute(kc, f"%%parallel -b {backend} -w 2 --quiet\n"
                      "made = [Doc(d.text.upper()) for d in docs]")
    assert run.status == "ok", run.stderr
    assert value(kc, "all(type(d) is Doc for d in made) and made[0] == Doc('A B C')") is True
