"""The Python half of the xparallel Jupyter kernel (the C++ half embeds it)."""

from .kernel import Kernel, __version__

__all__ = ["Kernel", "__version__"]
