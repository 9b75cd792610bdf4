"""xparallel: run a notebook cell's mapped calls on own-GIL sub-interpreters."""

from ._version import __version__  # generated from CMakeLists.txt's project(VERSION)
from .report import MISSING  # what _parallel.partial() puts where an item has no result


def load_ipython_extension(ipython) -> None:  # noqa: ANN001
    """`%load_ext xparallel`: registers %%parallel and %parallel_pool."""
    from .magic import register

    register(ipython)
