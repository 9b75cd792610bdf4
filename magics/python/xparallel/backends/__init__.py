"""Backends behind one dispatcher, so the magic, the progress display and the report do not care
which one ran. Only `interpreters` needs the C++ module, and only when it runs.

A backend is only what it alone knows: a `base.WorkerContext` (prepare its workers, submit a
chunk, wait, take the chunks that came back in any order, their output, interrupt, close), the
shape of CPython's WorkerContext under InterpreterPoolExecutor. Everything else, the same on every
backend, is the dispatcher's (`xparallel.dispatch.Job`): feeding lazily, the one chunk rule
(`xparallel.chunks`), the window, ordering, progress, the timeline, errors as
`xparallel.records.ItemError`, --errors, cancelling.

A backend is a `base.Backend` subclass in its own module holding its traits (name, nouns, help,
whether it shares the notebook's namespace, what the debugger reaches, whether --compare runs it,
its status line) and `context(work, workers, stop_on_error)`, its WorkerContext, which
`Backend.submit` wraps in the one Job. The `-b` choices and help, the summary's nouns, the
debugger's note, auto's choices and --compare's list are read from those traits here: a new
backend is its module plus its line in BACKENDS, or `register(cls)` from anywhere (a test).
The Job gives:
    workers                   how many workers run it
    pump(timeout) -> bool     feed, wait, collect for up to `timeout` s; True once over
    wait(timeout, tick)       pump until over, calling tick(job) about every 0.1 s
    cancel()                  drop queued work, interrupt running items
    finished, cancelled       over (done or cancelled); cancelled
    results, errors           per-item values in input order; ItemError records
    progress()                (dispatched, collected, total or None,
                               [(done, cpu s, busy s, state, failed)] per worker)
    timeline()                [(worker, first index, count, start s, end s, cpu s, wait s)]
                              wait: time runnable but waiting for a core (schedstat)
    events()                  [(worker, stream, text)] printed by workers since the last call
    elapsed                   seconds since the job started
    worker_names, where       labels for the bars (None: w1, w2...), said in the summary
Nothing in the protocol assumes the workers share the notebook's machine or file system: work is
described by a pickled spec, items and results travel pickled.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterator

from .base import Backend, Work

# The built-in backends: name -> (module in this package, class), in the order --compare runs them.
BACKENDS: dict[str, tuple[str, str]] = {
    "serial": ("serial", "SerialBackend"),
    "threads": ("threads", "ThreadsBackend"),
    "processes": ("processes", "ProcessesBackend"),
    "interpreters": ("interpreters", "InterpretersBackend"),
    "dask": ("dask", "DaskBackend"),
}
AUTO = "auto"  # the magic's choice among the backends, not one itself

_classes: dict[str, type[Backend]] = {}  # every backend, built-in ones once imported
_instances: dict[str, Any] = {}
_listeners: list[Callable[[], None]] = []  # told when a backend is registered (the -b help)


def register(cls: type[Backend]) -> type[Backend]:
    """Adds a backend (a class decorator too): `-b NAME` runs it from then on."""
    if not (isinstance(cls, type) and issubclass(cls, Backend)) or not getattr(cls, "name", ""):
        raise TypeError(f"register: expected a backends.base.Backend subclass with a name, "
                        f"got {cls!r}")
    if cls.name == AUTO:
        raise ValueError(f"register: {AUTO!r} is the magic's choice among backends, not a name "
                         "a backend can take")
    _load_builtins()
    _classes[cls.name] = cls
    _instances.pop(cls.name, None)
    for listener in _listeners:
        listener()
    return cls


def on_register(listener: Callable[[], None]) -> None:
    _listeners.append(listener)


def _load_builtins() -> None:
    for name, (module, cls) in BACKENDS.items():
        if name not in _classes:
            _classes[name] = getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def backend_classes() -> dict[str, type[Backend]]:
    """Every backend by name: the built-in ones in --compare's order, then registered ones."""
    _load_builtins()
    return dict(_classes)


def backend_class(name: str) -> type[Backend]:
    return backend_classes()[name]


def traits(name: str) -> type[Backend] | None:
    """The backend called `name`, or None (a report of a backend this kernel does not have)."""
    return backend_classes().get(name)


class _Names:
    """`-b`'s choices, read when the option is parsed: a backend registered later is one."""

    def __iter__(self) -> Iterator[str]:
        return iter((AUTO, *backend_classes()))

    def __contains__(self, name: object) -> bool:
        return name == AUTO or name in backend_classes()

    def __len__(self) -> int:
        return 1 + len(backend_classes())


NAMES = _Names()


def help_text() -> str:
    """`-b`'s help: every backend's own words, then auto's."""
    auto = sorted((c.auto_rank, c.name) for c in backend_classes().values()
                  if c.auto_rank is not None)
    choice = (f"{auto[0][1]}, or {auto[1][1]} when the cell needs a module that refuses "
              "sub-interpreters, such as NumPy, also when that is only found out while running"
              if len(auto) > 1 else (auto[0][1] if auto else "none"))
    never = ", ".join(c.name for c in backend_classes().values() if c.takes_scheduler)
    return (", ".join(c.help for c in backend_classes().values())
            + f", or {AUTO} (default: {choice}" + (f"; never {never})" if never else ")"))


def auto_choices() -> list[str]:
    """What auto picks from, preferred first (interpreters, then processes)."""
    ranked = [c for c in backend_classes().values() if c.auto_rank is not None]
    return [c.name for c in sorted(ranked, key=lambda c: c.auto_rank)]


def baseline_name() -> str:
    """The backend speedups are measured against (serial)."""
    return next(c.name for c in backend_classes().values() if c.baseline)


def scheduler_backend() -> str:
    """The backend `--scheduler ADDRESS` picks (dask)."""
    return next(c.name for c in backend_classes().values() if c.takes_scheduler)


def backend_named(name: str) -> Any:
    """The one instance of a backend in this kernel (it keeps its warm pool)."""
    if name not in _instances:
        _instances[name] = backend_class(name)()
    return _instances[name]


def started_backends() -> dict[str, Any]:
    return dict(_instances)


def compared_backends() -> list[str]:
    """What --compare runs: every backend that says it can run here and now."""
    return [name for name, cls in backend_classes().items() if cls.comparable()]


__all__ = ["BACKENDS", "NAMES", "Backend", "Work", "backend_named", "compared_backends", "register"]
