"""Worker output in the cell: whole lines, each prefixed with its worker (`[w1] ...`, or a dask
worker's name), in order per worker, written from the kernel's main thread."""

from __future__ import annotations

import io
import sys
from typing import Any


def prefix(worker: int | str) -> str:
    return f"[{worker}]" if isinstance(worker, str) else f"[w{worker}]"


class WorkerOutput:
    def __init__(self) -> None:
        self._partial: dict[tuple, str] = {}
        self._held: list[tuple] | None = None

    def hold(self) -> None:
        """Keeps what workers write until release() or drop(): `auto`'s first attempt on
        interpreters may be abandoned for processes, and its output must not stay in the cell."""
        self._held = []

    def release(self) -> None:
        held, self._held = self._held, None
        if held:
            self.publish(held)

    def drop(self) -> None:
        self._held = None
        self._partial.clear()

    def publish(self, events: list[tuple], final: bool = False) -> None:
        """`events`: (worker, stream 1 or 2, text); a line's end may come in a later event."""
        if self._held is not None:
            self._held.extend(events)
            return
        for worker, stream, text in events:
            key = (worker, stream)
            pending = self._partial.get(key, "") + text
            *lines, rest = pending.split("\n")
            self._partial[key] = rest
            if lines:
                target = sys.stdout if stream == 1 else sys.stderr
                tag = prefix(worker)
                target.write("".join(f"{tag} {line}\n" for line in lines))
        if final:
            for (worker, stream), rest in sorted(self._partial.items(), key=str):
                if rest:
                    target = sys.stdout if stream == 1 else sys.stderr
                    target.write(f"{prefix(worker)} {rest}\n")
            self._partial.clear()


class PrefixedStream(io.TextIOBase):
    """A stream that writes whole lines to `target` with a worker's prefix, at once (for items
    that run on the main thread: `serial`)."""

    def __init__(self, target: Any, tag: str) -> None:
        super().__init__()
        self.original = target
        self._tag = tag
        self._rest = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._rest = (self._rest + text).split("\n")
        if lines:
            self.original.write("".join(f"{self._tag} {line}\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        self.original.flush()

    def finish(self) -> None:
        if self._rest:
            self.original.write(f"{self._tag} {self._rest}\n")
            self._rest = ""
