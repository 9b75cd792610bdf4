"""The browser tests' one time limit: a browser that stops answering fails its test by name
instead of stalling the suite (SIGALRM, so it also ends a wait inside Selenium's own socket read).
Each module says how long its tests may take: BROWSER_SECONDS."""

import signal

import pytest


@pytest.fixture(autouse=True)
def time_limit(request):
    seconds = getattr(request.module, "BROWSER_SECONDS")

    def expire(signum, frame):
        raise TimeoutError(f"the browser test took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
