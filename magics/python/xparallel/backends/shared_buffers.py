"""A cell's spec for worker processes, written once into shared memory for every worker to map.

The kernel writes the pickled spec and the captured values' large buffers (NumPy arrays' data, kept
out of band by `xparallel.outofband`) into one POSIX shared-memory segment, without mapping it; a
chunk carries only the segment's name. A worker maps the segment once per job, copy-on-write: arrays
are rebuilt on the mapped pages without a copy, and a worker that writes to one changes only its
own private pages, as it did with a pickled copy. The kernel unlinks the segment when the job ends
(done, failed or interrupted); multiprocessing's resource tracker unlinks it should the kernel die.

Small specs without such buffers travel inline with each chunk: mapping a segment costs more.
"""

from __future__ import annotations

import itertools
import mmap
import os
import pickle
import weakref
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Any

# Segment names start with this, so a leftover is recognisable in /dev/shm.
PREFIX = "xparallel-"
INLINE_MAX = 64 * 1024
_ALIGN = 64  # NumPy's preferred alignment for SIMD loops

_counter = itertools.count()


@dataclass(frozen=True)
class SegmentRef:
    """Where a job's spec is: the segment, the pickled spec's (offset, length) and each
    out-of-band buffer's."""

    name: str
    size: int
    spec: tuple[int, int]
    buffers: tuple[tuple[int, int], ...]


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


class SharedSpec:
    """The kernel's side. `ref` is what every chunk carries (bytes or a SegmentRef); release()
    unlinks the segment (once; later calls do nothing)."""

    def __init__(self, spec: dict) -> None:
        captured = spec.get("captured") or b""
        buffers = [b.raw() for b in getattr(captured, "buffers", ())]
        data = pickle.dumps({**spec, "captured": bytes(captured)}, 5)
        self.ref: bytes | SegmentRef = data
        self.release = lambda: None
        if not buffers and len(data) <= INLINE_MAX:
            return
        layout = []
        offset = len(data)
        for buffer in buffers:
            offset = _aligned(offset)
            layout.append((offset, buffer.nbytes))
            offset += buffer.nbytes
        name = f"{PREFIX}{os.getpid()}-{next(_counter)}-{os.urandom(4).hex()}"
        # Unlinked by release(), or when this object goes, or at exit, whichever comes first.
        self.release = weakref.finalize(self, _unlink, name)
        try:
            _create(name, offset, [(0, memoryview(data))] +
                    [(start, buffer) for (start, _), buffer in zip(layout, buffers)])
        except BaseException:
            self.release()
            raise
        self.ref = SegmentRef(name, offset, (0, len(data)), tuple(layout))


def _create(name: str, size: int, parts: list[tuple[int, memoryview]]) -> None:
    """A segment of `size` bytes holding each part at its offset. Written with pwrite, not
    through a mapping: the kernel keeps no mapping, and writing 256 MB through one costs a page
    fault per 4 KB page (several times slower on a VM)."""
    try:
        import _posixshmem
    except ImportError:  # no POSIX shared memory (Windows)
        segment = shared_memory.SharedMemory(name=name, create=True, size=max(1, size))
        for start, part in parts:
            segment.buf[start:start + part.nbytes] = part
        segment.close()
        return
    from multiprocessing import resource_tracker

    fd = _posixshmem.shm_open("/" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode=0o600)
    # Should the kernel die before release(), multiprocessing's resource tracker unlinks it.
    resource_tracker.register("/" + name, "shared_memory")
    try:
        os.ftruncate(fd, max(1, size))
        for start, part in parts:
            written = 0
            while written < part.nbytes:
                written += os.pwrite(fd, part[written:written + (1 << 26)], start + written)
    finally:
        os.close(fd)


def _unlink(name: str) -> None:
    try:
        import _posixshmem
    except ImportError:
        try:
            shared_memory.SharedMemory(name=name).unlink()
        except FileNotFoundError:
            pass
        return
    from multiprocessing import resource_tracker

    try:
        _posixshmem.shm_unlink("/" + name)
    except FileNotFoundError:
        pass
    resource_tracker.unregister("/" + name, "shared_memory")


# ---- the worker's side ------------------------------------------------------------------------
_resolved: dict[bytes, bytes] = {}
_preloaded: dict[bytes, Any] = {}


class _Preloaded:
    """Stands in a worker's spec for captured values already loaded from the segment, so that
    the spec's usual `pickle.loads(spec["captured"])` returns them."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def __reduce__(self) -> tuple:
        return (_take, (self.key,))


def _take(key: bytes) -> Any:
    return _preloaded[key]


def _map(name: str, size: int) -> mmap.mmap:
    try:
        import _posixshmem
    except ImportError:  # no POSIX shared memory (Windows): a private copy
        segment = shared_memory.SharedMemory(name=name, track=False)
        try:
            copy = mmap.mmap(-1, size)
            copy[:size] = segment.buf[:size]
            return copy
        finally:
            segment.close()
    fd = _posixshmem.shm_open("/" + name, os.O_RDONLY, mode=0o600)
    try:
        return mmap.mmap(fd, size, access=mmap.ACCESS_COPY)
    finally:
        os.close(fd)


def _forget_last_job() -> None:
    """Another job starts: the last one's arrays, and with them its mapping, go now. Its item
    function's namespace holds them in a cycle (functions and their globals), which only the
    cyclic collector would free, some time later."""
    held = bool(_preloaded)
    _resolved.clear()
    _preloaded.clear()
    if held:
        import gc

        from .._payload import _process_cache

        _process_cache.clear()
        gc.collect()


def resolve(key: bytes, ref: bytes | SegmentRef) -> bytes:
    """In a worker: the job's spec as pickled bytes, its captured values loaded from the segment
    on the first call for `key` (once per worker and job)."""
    if key not in _resolved:
        _forget_last_job()
    if isinstance(ref, bytes):
        _resolved[key] = ref
        return ref
    resolved = _resolved.get(key)
    if resolved is not None:
        return resolved
    mapping = _map(ref.name, ref.size)
    view = memoryview(mapping)
    start, length = ref.spec
    spec = pickle.loads(view[start:start + length])
    if ref.buffers:
        buffers = [view[o:o + n] for o, n in ref.buffers]
        # The arrays keep the mapping alive (views on it); nothing else does.
        _preloaded[key] = pickle.loads(spec["captured"], buffers=buffers)
        spec["captured"] = pickle.dumps(_Preloaded(key), 5)
        resolved = pickle.dumps(spec, 5)
    else:
        resolved = bytes(view[start:start + length])
        view.release()
        mapping.close()
    _resolved[key] = resolved
    return resolved
