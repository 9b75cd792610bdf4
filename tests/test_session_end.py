"""The suite ends after its last test: a ZeroMQ context left with an unsent message (a request to a
kernel that is gone) made pytest hang in Context.__del__ -> term() at the end of the session, for
ever. A child pytest reproduces that situation, without and with the suite's conftest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

LEFT_BEHIND = '''
import gc
import zmq


class Holder:
    pass


def test_leaves_a_context_with_an_unsent_message():
    gc.disable()  # the cycle is collected only when the session ends, as in a long suite
    holder = Holder()
    holder.me = holder
    holder.ctx = zmq.Context()
    holder.sock = holder.ctx.socket(zmq.DEALER)
    holder.sock.linger = -1
    holder.sock.connect("tcp://127.0.0.1:9")  # nobody listens: the message stays queued
    holder.sock.send(b"never delivered")
    gc.enable()
'''


def child_pytest(folder: Path, *plugin: str, limit: float) -> int | None:
    """The child's exit code, or None when it had not ended within `limit` seconds."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin,
               str(folder / "test_left_behind.py")]
    try:
        return subprocess.run(command, cwd=folder, env=env, capture_output=True,
                              timeout=limit).returncode
    except subprocess.TimeoutExpired:
        return None


@pytest.mark.timeout(60)
def test_a_context_left_behind_does_not_hang_the_end_of_the_session(tmp_path):
    pytest.importorskip("zmq")
    (tmp_path / "test_left_behind.py").write_text(LEFT_BEHIND)
    assert child_pytest(tmp_path, limit=8) is None, "the situation no longer hangs a bare pytest"
    assert child_pytest(tmp_path, "-p", "conftest", limit=30) == 0
