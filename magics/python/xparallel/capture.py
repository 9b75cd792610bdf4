"""Names a cell uses but does not define, found in the notebook and shipped to the workers:
modules by name, everything else with cloudpickle (functions, classes and lambdas defined in the
notebook by value, with what they reference), once per job, so once per worker, not per item."""

from __future__ import annotations

import types
from typing import Any

# IPython's own names in the user namespace are never the cell's business.
_SHELL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "_", "__", "___"}


class CaptureError(TypeError):
    """A name the cell needs cannot be sent to isolated workers."""


def cell_sources(values: list[Any]) -> dict[str, str]:
    """Source text of earlier cells that the shipped functions and classes were defined in, so
    that a worker's traceback shows those lines too (they exist only in this kernel's memory)."""
    import linecache
    import os

    filenames: set[str] = set()
    for value in values:
        members = [value] + (list(vars(value).values()) if isinstance(value, type) else [])
        for member in members:
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if code is not None:
                filenames.add(code.co_filename)
    sources = {}
    for filename in filenames:
        lines = linecache.getlines(filename)
        if lines and not os.path.exists(filename):
            sources[filename] = "".join(lines)
    return sources


def capture(names: set[str], namespace: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """Returns ({alias: module name}, cloudpickled {name: value}) for the names found in
    `namespace`; names not there are builtins or will fail in the worker as they would here."""
    import cloudpickle

    from . import outofband

    modules: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in sorted(names):
        if name in _SHELL_NAMES or name.startswith("_i") or name not in namespace:
            continue
        value = namespace[name]
        if isinstance(value, types.ModuleType) and value.__name__ != "__main__":
            modules[name] = value.__name__
        else:
            values[name] = value
    if not values:
        return modules, b""
    try:
        # Large buffers (NumPy arrays) out of band: not copied here, shipped as each backend can.
        return modules, outofband.dumps(values)
    except Exception:
        pass
    for name, value in values.items():
        try:
            cloudpickle.dumps(value, protocol=5)
        except Exception as error:
            raise CaptureError(
                f"`{name}` ({type(value).__name__}) is needed by the workers but cannot be sent "
                f"to them: {error}. Create it inside the cell's setup lines (they run in every "
                "worker), or use `--backend threads`, whose workers share the notebook's "
                "objects.") from None
    raise CaptureError("the cell's captured names cannot be pickled together")


def referenced_modules(modules: dict[str, str], captured: bytes, setup_imports: set[str]) -> set[str]:
    """Top-level names of the modules the workers will import: for the auto backend's check."""
    names = {name.split(".")[0] for name in modules.values()} | set(setup_imports)
    if captured:
        # cloudpickle refers to the modules of functions shipped by reference, and to modules a
        # shipped function uses as globals, by their names.
        import pickletools

        try:
            for opcode, argument, _ in pickletools.genops(captured):
                if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE") and isinstance(argument, str):
                    if argument.isidentifier() or "." in argument:
                        head = argument.split(".")[0]
                        if head and head.isidentifier():
                            names.add(head)
        except Exception:
            pass
    return names
