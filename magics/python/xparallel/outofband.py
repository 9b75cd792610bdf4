"""Captured values pickled with their large buffers kept out of band (pickle protocol 5).

A NumPy array's data is not copied into the pickle: the pickle refers to it, and the buffers stay
views on the notebook's own arrays until a backend decides how they travel (the processes backend
puts them in shared memory once, for every worker to map). A backend that knows nothing of them
(sub-interpreters, dask) pickles the captured value again and gets the ordinary in-band pickle.
"""

from __future__ import annotations

import pickle
from typing import Any

# Smaller buffers stay in the pickle: a shared-memory segment costs more than copying them.
OUT_OF_BAND_MIN = 1 << 20


class OutOfBand(bytes):
    """A pickle whose large buffers are kept aside: load it with
    `pickle.loads(data, buffers=data.buffers)`. `buffers` are zero-copy views (PickleBuffer) on
    the captured objects, which `values` keeps alive."""

    buffers: list[pickle.PickleBuffer]
    values: Any

    @property
    def nbytes(self) -> int:
        """Bytes of the buffers kept out of band."""
        return sum(memoryview(b).nbytes for b in self.buffers)

    def inband(self) -> bytes:
        import cloudpickle

        return cloudpickle.dumps(self.values, protocol=5)

    def __reduce_ex__(self, protocol: Any) -> tuple:
        # Whoever ships this without knowing about its buffers gets a self-contained pickle.
        return (bytes, (self.inband(),))


def dumps(values: Any) -> bytes:
    """cloudpickle.dumps(values), with buffers of OUT_OF_BAND_MIN bytes or more out of band: an
    OutOfBand then, else plain bytes."""
    import cloudpickle

    kept: list[pickle.PickleBuffer] = []

    def in_band(buffer: pickle.PickleBuffer) -> bool:
        if memoryview(buffer).nbytes < OUT_OF_BAND_MIN:
            return True
        kept.append(buffer)
        return False

    data = cloudpickle.dumps(values, protocol=5, buffer_callback=in_band)
    if not kept:
        return data
    captured = OutOfBand(data)
    captured.buffers = kept
    captured.values = values
    return captured
