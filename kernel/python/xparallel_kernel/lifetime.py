"""The Python side of the kernel's bounded exit (see xlifetime.hpp)."""

from __future__ import annotations

import inspect
import sys


def end_engine_pool(timeout: float) -> bool:
    """Ends the engine's warm pool, if one was started, within about `timeout` seconds. Returns
    True when workers stuck in a blocking call had to be abandoned: the process must then not
    finalise normally (it would wait for them)."""
    engine = sys.modules.get("xparallel.engine")
    shutdown = getattr(engine, "shutdown_pool", None)
    if shutdown is None:
        return False
    try:
        bounded = "timeout" in inspect.signature(shutdown).parameters
    except (TypeError, ValueError):
        bounded = False
    if not bounded:
        # An engine whose shutdown may wait for ever: its own atexit hook runs during
        # finalisation, and the kernel's watchdog bounds that.
        return False
    return shutdown(timeout=timeout) is False


def flush_standard_streams() -> None:
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
