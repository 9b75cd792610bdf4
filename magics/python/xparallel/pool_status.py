"""What %parallel_pool shows: the warm interpreter pool, and any other backend's warm workers
(a dask cluster: scheduler, workers, threads, memory)."""

from __future__ import annotations

import html
import sys

from . import platform_reads
from .backends import backend_named, scheduler_backend, started_backends


class PoolStatus:
    def __init__(self) -> None:
        from . import engine, forking

        pool = engine.current_pool()
        self.running = bool(pool and pool.running)
        self.fork_end = forking.last_end
        self.workers = pool.size if pool else 0
        self.states = pool.states() if self.running else []
        # None where this system does not say: shown as "not measured here".
        rss, peak = platform_reads.rss_bytes(), platform_reads.peak_rss_bytes()
        self.rss_mb = None if rss is None else rss / 2**20
        self.peak_mb = None if peak is None else peak / 2**20
        if "distributed" in sys.modules:
            backend_named(scheduler_backend())  # its status shows the notebook's own client too
        self.others = [line for backend in started_backends().values()
                       if (line := backend.status())]

    def __repr__(self) -> str:
        if not self.running:
            why = (self.fork_end.describe() if self.fork_end
                   else "starts with the next %%parallel cell")
            text = (f"interpreters pool: not running ({why}) · kernel RSS "
                    f"{platform_reads.shown(self.rss_mb, '.0f', ' MB')}")
        else:
            states = ", ".join(f"w{i + 1} {s}" for i, s in enumerate(self.states))
            text = (f"interpreters pool: {self.workers} workers ({states}) · kernel RSS "
                    f"{platform_reads.shown(self.rss_mb, '.0f', ' MB')}, peak "
                    f"{platform_reads.shown(self.peak_mb, '.0f', ' MB')}")
            if self.fork_end:
                text += (" · started fresh: the last pool was ended before a fork at "
                         f"{self.fork_end.when}")
        return "\n".join([text, *self.others])

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(repr(self)) + "</pre>"
