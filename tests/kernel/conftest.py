import pytest

from kernel_client import start, stop


@pytest.fixture(scope="module")
def kernel():
    km, kc = start("xparallel")
    yield km, kc
    stop(km, kc)
