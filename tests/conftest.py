"""Shared pytest set-up: the suites run against the installed build (scripts/tasks sets the paths)."""

import faulthandler
import gc
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for folder in (HERE, os.path.join(HERE, "python")):
    if folder not in sys.path:
        sys.path.insert(0, folder)


import pytest  # noqa: E402


# A suite that talks to a kernel defines a `kernel` fixture yielding (manager, client).
@pytest.fixture()
def kc(kernel):
    return kernel[1]


@pytest.fixture()
def km(kernel):
    return kernel[0]


# The end of the session is bounded like any test. A ZeroMQ context that a test left behind, whose
# sockets still hold unsent messages (a request to a kernel that is gone), makes the garbage
# collector's Context.__del__ -> term() wait for ever after the last test: every context still
# open is destroyed here with no linger; if the process still has not exited a minute later, every
# thread's stack is printed and it exits with a failure instead of eating CI's time.
SESSION_END_LIMIT = 60


def pytest_sessionfinish(session, exitstatus):
    try:
        import zmq
    except ImportError:
        zmq = None
    if zmq is not None:
        for thing in gc.get_objects():
            if isinstance(thing, zmq.Context) and not thing.closed:
                thing.destroy(linger=0)
    print(f"\n[conftest] the session must end within {SESSION_END_LIMIT} s of its last test",
          file=sys.stderr)
    faulthandler.dump_traceback_later(SESSION_END_LIMIT, exit=True)
