"""Worker output that reaches the notebook while the item still runs, for workers in other
processes (`processes`, `dask`): stdout and stderr are replaced by streams that gather what is
written and hand it to `send` in batches, at most `INTERVAL` s after it was written (a thread
sends what a quiet item left), so a cell printing 100,000 lines costs a few hundred messages, not
100,000. Per worker the order is kept (one sender, one channel).

Standard library only: it runs in worker processes and on dask workers."""

from __future__ import annotations

import io
import threading
import time
from typing import Any, Callable

INTERVAL = 0.1
BATCH_BYTES = 1 << 16
NOT_OURS = object()


class Batcher:
    """Gathers (key, stream, text) pieces; `send(key, pieces)` gets each key's [(stream, text)]
    in the order they were written, in batches. `key` tells jobs apart where one worker process
    serves several (dask); None where it serves one notebook (processes)."""

    def __init__(self, send: Callable[[Any, list[tuple[int, str]]], None],
                 interval: float = INTERVAL) -> None:
        self._send = send
        self._interval = interval
        self._lock = threading.Lock()
        self._pieces: list[tuple[Any, int, str]] = []
        self._size = 0
        self._wake = threading.Event()
        self._sender = threading.Thread(target=self._run, daemon=True, name="xparallel-output")
        self._sender.start()

    def write(self, key: Any, stream: int, text: str) -> None:
        with self._lock:
            last = self._pieces[-1] if self._pieces else None
            if last is not None and last[0] == key and last[1] == stream:
                self._pieces[-1] = (key, stream, last[2] + text)
            else:
                self._pieces.append((key, stream, text))
            self._size += len(text)
            full = self._size >= BATCH_BYTES
        if full:
            self.flush()
        else:
            self._wake.set()

    def flush(self) -> None:
        with self._lock:
            pieces, self._pieces, self._size = self._pieces, [], 0
            # Under the lock: batches leave in the order they were written.
            by_key: dict[Any, list[tuple[int, str]]] = {}
            for key, stream, text in pieces:
                by_key.setdefault(key, []).append((stream, text))
            for key, batch in by_key.items():
                self._send(key, batch)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self._interval)  # gather what follows the first write
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - a channel gone (the notebook left): drop it
                pass


class BatchedStream(io.TextIOBase):
    """sys.stdout / sys.stderr of a worker process."""

    def __init__(self, batcher: Batcher, stream: int, original: Any = None,
                 key: Callable[[], Any] | None = None) -> None:
        """`key()`: the job the writing thread works for, or a `NOT_OURS` for text that is not
        a job's (it goes to `original`)."""
        super().__init__()
        self._batcher = batcher
        self._stream = stream
        self._key = key
        self.original = original

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        key = self._key() if self._key is not None else None
        if key is NOT_OURS:
            return self.original.write(text) if self.original is not None else len(text)
        if text:
            self._batcher.write(key, self._stream, text)
        return len(text)

    def flush(self) -> None:
        pass
