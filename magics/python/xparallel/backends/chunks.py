"""Automatic chunk sizes for the Python backends: the engine's rule (xchunk_sizer.cpp), in
Python so that they need no C++ module. Single items until one is measured (slow items spread at
once), then a chunk aims at a bounded time from the measured time per item, and, when the total
is known, at a few chunks per worker so the last ones balance. A fixed size overrides it all."""

from __future__ import annotations

import math

TARGET_SECONDS = 0.02
CHUNKS_PER_WORKER = 4
MAX_ITEMS = 1 << 16


class ChunkSizer:
    def __init__(self, workers: int, fixed: int = 0, total: int | None = None,
                 target_seconds: float = TARGET_SECONDS) -> None:
        self._workers = max(1, workers)
        self._fixed = fixed
        self._total = total
        self._target = target_seconds
        self._last = 0
        self._per_item: float | None = None

    def next(self, dispatched: int) -> int:
        """Size of the next chunk; `dispatched` items were already handed out."""
        if self._fixed > 0:
            return self._fixed
        size = 1
        if self._per_item is not None:
            size = int(self._target / max(self._per_item, 1e-9))
            # Grow at most fourfold per chunk: a few fast items say little about the next ones.
            size = min(max(size, 1), max(1, 4 * self._last))
        if self._total is not None:
            left = max(0, self._total - dispatched)
            balanced = math.ceil(self._total / (self._workers * CHUNKS_PER_WORKER))
            size = min(size, max(1, balanced), max(1, left))
        size = min(size, MAX_ITEMS)
        self._last = size
        return size

    def record(self, items: int, seconds: float) -> None:
        """A chunk of `items` took `seconds` of worker time."""
        if items:
            sample = seconds / items
            self._per_item = sample if self._per_item is None else 0.7 * self._per_item + 0.3 * sample
