"""`auto`: which backend a cell runs on. Interpreters, unless a module the cell needs refuses
own-GIL sub-interpreters (NumPy does): found beforehand by probing the modules the cell names,
or while running when a worker's import is refused (then the run moves to processes)."""

from __future__ import annotations

import ast
import re
import sys

from .cell import Plan
from .records import ItemError
from .records import refuses_subinterpreters as is_refusal

_EXTENSION = re.compile(r"module ([\w.]+) does not support loading in subinterpreters")
_refuses: dict[str, bool] = {}


def setup_imports(plan: Plan) -> set[str]:
    names = set()
    for stmt in plan.setup:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names




def refuses_subinterpreters(module: str) -> bool:
    """Whether `module` fails to import in an own-GIL sub-interpreter (asked once, remembered)."""
    if module not in _refuses:
        import functools

        from . import engine  # the C++ engine: only asked when interpreters are in question
        from ._payload import probe_import

        job = engine.submit(functools.partial(probe_import, module), [0], workers=None)
        job.wait(60)
        _refuses[module] = any(is_refusal(e.type_name, e.message) for e in job.errors)
    return _refuses[module]


def choose_backend(modules: set[str]) -> tuple[str, str]:
    from .backends import AUTO, auto_choices

    preferred, fallback = auto_choices()[:2]
    try:
        from . import engine  # noqa: F401
    except ImportError as error:  # a build without the C++ engine: processes still work
        return fallback, (f"{AUTO}: {fallback}, because the sub-interpreter engine does not load: "
                          f"{error}")
    skip = set(sys.stdlib_module_names) | {"xparallel", "cloudpickle", "__main__", "builtins"}
    for name in sorted(m for m in modules if m in sys.modules and m not in skip):
        if refuses_subinterpreters(name):
            return fallback, f"{AUTO}: {fallback}, because {name} cannot load in a sub-interpreter"
    return preferred, f"{AUTO}: {preferred}"


def refusal(errors: list[ItemError]) -> ItemError | None:
    return next((e for e in errors if is_refusal(e.type_name, e.message)), None)


def _extension(error: ItemError) -> str:
    found = _EXTENSION.search(error.message)
    return found.group(1) if found else "an extension module"


def refused_package(error: ItemError) -> str:
    """The package whose import was refused; remembered, so later probes know it."""
    package = _extension(error).split(".")[0]
    _refuses[package] = True
    return package


def refusal_advice(errors: list[ItemError]) -> str | None:
    found = refusal(errors)
    if found is None:
        return None
    return (f"{_extension(found).split('.')[0]} cannot be imported in a sub-interpreter: its "
            f"extension module {_extension(found)} does not support own-GIL sub-interpreters "
            "(yet). Use `--backend processes`, or `--backend threads` (NumPy releases the GIL in "
            "its heavy loops), or `--backend auto`, which picks processes for such cells.")
