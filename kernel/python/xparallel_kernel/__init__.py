"""The Python half of the xparallel Jupyter kernel (the C++ half embeds it)."""

from .lean_start import lean_ipython_import

with lean_ipython_import():  # the kernel's first import of IPython
    from .kernel import Kernel, __version__

__all__ = ["Kernel", "__version__"]
