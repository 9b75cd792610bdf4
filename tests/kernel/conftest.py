# The xparallel kernel, one per module: the fixture is defined once, in kernel_client.
from kernel_client import xparallel_kernel  # noqa: F401
