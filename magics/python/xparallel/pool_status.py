"""What %parallel_pool shows: the warm interpreter pool, and any other backend's warm workers
(a dask cluster: scheduler, workers, threads, memory)."""

from __future__ import annotations

import html
import os
import resource
import sys

from .backends import backend_named, scheduler_backend, started_backends


class PoolStatus:
    def __init__(self) -> None:
        from . import engine

        pool = engine.current_pool()
        self.running = bool(pool and pool.running)
        self.workers = pool.size if pool else 0
        self.states = pool.states() if self.running else []
        with open("/proc/self/statm") as statm:
            self.rss_mb = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        self.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if "distributed" in sys.modules:
            backend_named(scheduler_backend())  # its status shows the notebook's own client too
        self.others = [line for backend in started_backends().values()
                       if (line := backend.status())]

    def __repr__(self) -> str:
        if not self.running:
            text = ("interpreters pool: not running (starts with the next %%parallel cell) · "
                    f"kernel RSS {self.rss_mb:.0f} MB")
        else:
            states = ", ".join(f"w{i + 1} {s}" for i, s in enumerate(self.states))
            text = (f"interpreters pool: {self.workers} workers ({states}) · kernel RSS "
                    f"{self.rss_mb:.0f} MB, peak {self.peak_mb:.0f} MB")
        return "\n".join([text, *self.others])

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(repr(self)) + "</pre>"
