# The magic in both kernels: the fixture is defined once, in kernel_client.
from kernel_client import magic_kernels  # noqa: F401
