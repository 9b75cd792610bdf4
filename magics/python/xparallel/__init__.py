"""xparallel: run a notebook cell's mapped calls on own-GIL sub-interpreters."""

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:  # noqa: ANN001
    """`%load_ext xparallel`: registers %%parallel and %parallel_pool."""
    from .magic import register

    register(ipython)
