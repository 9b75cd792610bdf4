"""stdout and stderr of the kernel, published as batched `stream` messages.

Writes are buffered and published when a line is complete and 50 ms have passed since the last
message (so a burst of prints is one message, and a `print` before a long computation shows at
once), and always before anything else reaches the front end (display data, errors, results,
input requests, widget messages), so the output keeps its order. Publishing happens only on the main thread: a write
from another thread is buffered and goes out with the main thread's next flush.
"""

from __future__ import annotations

import io
import threading
from collections import deque
import time
from typing import Callable

FLUSH_INTERVAL = 0.05
MAX_BUFFER = 64 * 1024


class BatchedStream(io.TextIOBase):
    # No lock: an interrupt can land just after a lock is taken (before its `with` block starts),
    # which would leave it held and deadlock the next print. Appending to a deque and popping from
    # it are atomic, from any thread.
    def __init__(self, name: str, publish: Callable[[str, str], None]) -> None:
        super().__init__()
        self.name = name
        self._publish = publish
        self._parts: deque[str] = deque()
        self._size = 0  # approximate: only decides when a large burst is flushed
        self._last_flush = 0.0
        self._main = threading.main_thread()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        self._parts.append(text)
        self._size += len(text)
        if threading.current_thread() is self._main and (
            self._size >= MAX_BUFFER
            or (text.endswith("\n") and time.monotonic() - self._last_flush >= FLUSH_INTERVAL)
        ):
            self.flush()
        return len(text)

    def flush(self) -> None:
        if threading.current_thread() is not self._main:
            return
        taken = []
        while self._parts:
            try:
                taken.append(self._parts.popleft())
            except IndexError:
                break
        self._size = 0
        self._last_flush = time.monotonic()
        if taken:
            self._publish(self.name, "".join(taken))
