"""The one chunk-size rule, for every backend (the dispatcher asks it; backends only say how long
a chunk should aim to take on them).

Single items until one is measured, so that slow items spread over every worker at once; then a
chunk aims at a bounded time from the measured time per item (growing at most fourfold per
chunk); when the total is known, at most a few chunks' worth per worker, and near the end at most
half of each worker's share of what is left (the tail split), so that the last chunks finish
together instead of one worker running a long tail alone. A fixed size (--chunksize) overrides it
all. It learns from chunks as they are delivered, in any order."""

from __future__ import annotations

import math

TARGET_SECONDS = 0.02
CHUNKS_PER_WORKER = 4
MAX_ITEMS = 1 << 16


class ChunkSizer:
    def __init__(self, workers: int, fixed: int = 0, total: int | None = None,
                 target_seconds: float = TARGET_SECONDS) -> None:
        """`workers`: how many chunks can run at once (dask: every worker thread)."""
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
            tail = -(-left // (2 * self._workers))
            size = min(size, max(1, balanced), max(1, tail), max(1, left))
        size = min(size, MAX_ITEMS)
        self._last = size
        return size

    def record(self, items: int, seconds: float) -> None:
        """A chunk of `items` took `seconds` of work (not counting waits for a core)."""
        if items:
            sample = seconds / items
            self._per_item = sample if self._per_item is None else 0.7 * self._per_item + 0.3 * sample
