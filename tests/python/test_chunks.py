"""The one chunk rule (xparallel.chunks), which the dispatcher applies on every backend."""

from __future__ import annotations

import math

from xparallel.chunks import ChunkSizer


def test_a_fixed_size_wins():
    sizer = ChunkSizer(2, fixed=7, total=100)
    assert sizer.next(0) == 7
    sizer.record(7, 10.0)
    assert sizer.next(7) == 7


def test_single_items_until_measured():
    sizer = ChunkSizer(2, total=64)
    assert [sizer.next(n) for n in range(3)] == [1, 1, 1]


def test_slow_items_stay_single():
    sizer = ChunkSizer(2, total=64)
    sizer.next(0)
    sizer.record(1, 0.1)  # 100 ms per item, target 20 ms
    assert sizer.next(1) == 1


def test_fast_items_grow_fourfold_per_chunk_up_to_the_target():
    sizer = ChunkSizer(2)
    size = sizer.next(0)
    dispatched = size
    for _ in range(20):
        sizer.record(size, size * 1e-6)  # 1 µs per item
        following = sizer.next(dispatched)
        assert following <= 4 * size
        size = following
        dispatched += size
    assert size == 20_000  # 20 ms / 1 µs


def test_the_target_is_the_backends():
    sizer = ChunkSizer(2, target_seconds=0.1)
    sizer.next(0)
    for size in (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536):
        sizer.record(size, size * 1e-5)
        sizer.next(0)
    assert sizer.next(0) == 10_000  # 100 ms / 10 µs


def test_known_totals_leave_several_chunks_per_worker_and_split_the_tail():
    total, workers = 800, 2
    sizer = ChunkSizer(workers, total=total)
    dispatched = 0
    sizes = []
    while dispatched < total:
        size = sizer.next(dispatched)
        left = total - dispatched
        assert size <= math.ceil(total / (workers * 4))
        assert size <= max(1, math.ceil(left / (2 * workers)))  # the tail split
        sizer.record(size, size * 1e-7)
        sizes.append(size)
        dispatched += size
    assert dispatched == total and sizes[-1] == 1


def test_never_more_than_what_is_left():
    sizer = ChunkSizer(1, total=10)
    sizer.record(1, 1e-9)
    assert sizer.next(9) <= 1
