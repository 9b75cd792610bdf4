"""stdout and stderr of the kernel, published as `stream` messages.

Text goes into the C++ side's buffer (no lock in Python: an interrupt landing just after a Python
lock is taken would leave it held and deadlock the next print). A dedicated C++ thread publishes it
within 50 ms (a lone line at once, a burst as one message per interval), from whatever thread
wrote it and whether or not a cell runs; pending text is always published before any other message
(display data, errors, results, input requests, widget messages), so the output keeps its order.
"""

from __future__ import annotations

import io
from typing import Callable


class OutputStream(io.TextIOBase):
    def __init__(self, name: str, write: Callable[[str, str], None],
                 flush: Callable[[], None]) -> None:
        super().__init__()
        self.name = name
        self._write = write
        self._flush = flush

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
        if text:
            self._write(self.name, text)
        return len(text)

    def flush(self) -> None:
        self._flush()
