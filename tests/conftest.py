"""Shared pytest set-up: the suites run against the installed build (scripts/tasks sets the paths)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for folder in (HERE, os.path.join(HERE, "python")):
    if folder not in sys.path:
        sys.path.insert(0, folder)


import pytest  # noqa: E402


# A suite that talks to a kernel defines a `kernel` fixture yielding (manager, client).
@pytest.fixture()
def kc(kernel):
    return kernel[1]


@pytest.fixture()
def km(kernel):
    return kernel[0]
