"""Functions shipped by value get back the call specialisation a `def` gives them.

cloudpickle rebuilds a notebook function with `types.FunctionType(...)` and then sets its defaults. A
function made that way has no version (only the `def` statement, CPython's MAKE_FUNCTION, gives it
its code's), and setting `__defaults__` or `__kwdefaults__` clears a version anyway; CPython's
specialising interpreter cannot specialise a call to a function without a version, so every call
to it, a recursive function's own calls included, takes the generic path: 20-30 % more CPU for a
recursive `fib` than the same function imported from a module (measured, issue 23).

So a worker, once per job, rebuilds each function that arrived by value with a real `def`-style
MAKE_FUNCTION over the same code object, globals, defaults and attributes, and puts the rebuilt
function wherever the old one was referenced by name: the captured names, the globals of the
functions shipped with it, and the methods of the classes shipped by value. Functions with a
closure are left as they are (their cells may be shared with a sibling function, and a rebuilt
function would need cells of its own): correct, only slower. Runs in every kind of worker, so
standard library only.
"""

from __future__ import annotations

import sys
from types import CodeType, FunctionType
from typing import Any

_templates: dict[tuple[int, tuple[str, ...]], CodeType] = {}
# What a rebuilt function keeps of the old one; none of these clear a function's version.
_KEPT = ("__name__", "__qualname__", "__module__", "__doc__", "__type_params__")


def _template(defaults: int, keyword_only: tuple[str, ...]) -> CodeType:
    """Module code whose one statement is a `def` taking its defaults from `_d` and `_k`: run with
    another code object in place of the def's, it makes a function of that code as a `def` would."""
    key = (defaults, keyword_only)
    template = _templates.get(key)
    if template is None:
        parameters = [f"_xp_{i}=_d[{i}]" for i in range(defaults)]
        if keyword_only:
            parameters += ["*", *(f"{name}=_k[{name!r}]" for name in keyword_only)]
        template = compile(f"def _f({', '.join(parameters)}): pass", "<xparallel>", "exec")
        _templates[key] = template
    return template


def _shipped_by_value(function: Any) -> bool:
    """A function pickled by reference is its module's own, with its module's dict as globals."""
    if not isinstance(function, FunctionType) or function.__closure__:
        return False
    module = sys.modules.get(function.__module__ or "")
    return getattr(module, "__dict__", None) is not function.__globals__


def _rebuilt(function: FunctionType) -> FunctionType:
    keyword_only = tuple(function.__kwdefaults__ or ())
    try:
        template = _template(len(function.__defaults__ or ()), keyword_only)
    except SyntaxError:  # a keyword-only name the template cannot use: keep the function
        return function
    code = template.replace(co_consts=tuple(function.__code__ if isinstance(c, CodeType) else c
                                            for c in template.co_consts))
    scope = {"_d": function.__defaults__ or (), "_k": function.__kwdefaults__ or {}}
    exec(code, function.__globals__, scope)
    rebuilt: FunctionType = scope["_f"]
    for name in _KEPT:
        setattr(rebuilt, name, getattr(function, name))
    rebuilt.__dict__.update(function.__dict__)
    if hasattr(function, "__annotate__"):  # 3.14: read on demand; reading them could raise
        rebuilt.__annotate__ = function.__annotate__
    else:
        rebuilt.__annotations__ = function.__annotations__
    return rebuilt


def rebuild_shipped_functions(names: dict[str, Any]) -> None:
    """Rebuilds, in place, the functions shipped by value among `names` and what they reach."""
    replaced: dict[int, FunctionType] = {}
    namespaces: list[dict[str, Any]] = [names]
    classes: list[type] = []
    seen: set[int] = {id(names)}
    index = 0
    while index < len(namespaces):  # every namespace the shipped functions read names from
        for value in list(namespaces[index].values()):
            if isinstance(value, type) and id(value) not in seen:
                seen.add(id(value))
                classes.append(value)
                candidates = [v for v in vars(value).values() if _shipped_by_value(v)]
            else:
                candidates = [value] if _shipped_by_value(value) else []
            for function in candidates:
                if id(function) not in replaced:
                    replaced[id(function)] = _rebuilt(function)
                    if id(function.__globals__) not in seen:
                        seen.add(id(function.__globals__))
                        namespaces.append(function.__globals__)
        index += 1
    if not replaced:
        return
    for namespace in namespaces:
        for name, value in list(namespace.items()):
            if id(value) in replaced and isinstance(value, FunctionType):
                namespace[name] = replaced[id(value)]
    for cls in classes:
        for name, value in list(vars(cls).items()):
            if id(value) in replaced and isinstance(value, FunctionType):
                setattr(cls, name, replaced[id(value)])
