import pytest

from install_env import sdist_copy


@pytest.fixture(scope="session")
def source_copy(tmp_path_factory):
    """One clean copy of the sources for every install route the tests take."""
    return sdist_copy(tmp_path_factory.mktemp("sdist"))
