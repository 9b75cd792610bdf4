import pytest

from kernel_client import execute, start, stop


@pytest.fixture(scope="module", params=["xparallel", "python3"], ids=["xparallel-kernel", "ipykernel"])
def kernel(request):
    """The magic in its own kernel (loaded at start) and in a stock ipykernel (%load_ext)."""
    km, kc = start(request.param)
    if request.param == "python3":
        assert execute(kc, "%load_ext xparallel").status == "ok"
    yield km, kc
    stop(km, kc)
