import pytest

from kernel_client import start, stop


@pytest.fixture(scope="module")
def kernel():
    km, kc = start("xparallel")
    yield km, kc
    stop(km, kc)


@pytest.fixture()
def kc(kernel):
    return kernel[1]


@pytest.fixture()
def km(kernel):
    return kernel[0]
