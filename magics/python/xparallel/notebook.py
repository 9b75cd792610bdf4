"""The notebook's side of a cell: run its code in the user's namespace, build the item function
there (for backends that share the notebook's interpreter), assign the results to the cell's
targets, and raise a worker's error from the cell's own line."""

from __future__ import annotations

import ast
from typing import Any

from .cell import FUNC, ITEM, Plan, locate_new_nodes


def run_setup(plan: Plan, namespace: dict) -> None:
    exec(plan.setup_code(), namespace)  # noqa: S102


def evaluate_iterable(plan: Plan, namespace: dict) -> Any:
    return eval(plan.iterable_code(), namespace)  # noqa: S307


def assign(plan: Plan, value: Any, namespace: dict) -> None:
    """TARGET = value for every target the cell wrote, with Python's own assignment rules."""
    scratch: dict[str, Any] = {}
    exec(plan.compiled("assign", lambda: _assigner(plan)), namespace, scratch)  # noqa: S102
    scratch["__xp_assign__"](value)


def _assigner(plan: Plan) -> ast.Module:
    stored = sorted({n.id for t in plan.targets for n in ast.walk(t)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
    body: list[ast.stmt] = [ast.Global(names=stored)] if stored else []
    body.append(ast.Assign(targets=plan.targets, value=ast.Name("__xp_value__", ast.Load())))
    function = ast.FunctionDef(name="__xp_assign__", args=ast.arguments(
        posonlyargs=[], args=[ast.arg(arg="__xp_value__")], kwonlyargs=[], kw_defaults=[],
        defaults=[]), body=body, decorator_list=[], returns=None, type_params=[])
    locate_new_nodes(function, plan.lineno, plan.end_lineno)
    return ast.Module(body=[function], type_ignores=[])


def local_item_function(plan: Plan, namespace: dict) -> Any:
    """The item function over the notebook's own namespace (threads, serial, %parallel_debug).
    For `map(f, ...)` forms, `f` is evaluated here and reaches the item function as a closure
    variable: nothing of xparallel's is put into the user's namespace."""
    scratch: dict[str, Any] = {}
    if plan.function is None:
        exec(plan.item_code(), namespace, scratch)  # noqa: S102
        return scratch[ITEM]
    exec(plan.compiled("bind", lambda: _binder(plan)), namespace, scratch)  # noqa: S102
    function = eval(plan.function_code(), namespace)  # noqa: S307
    return scratch["__xp_bind__"](function)


def _binder(plan: Plan) -> ast.Module:
    maker = ast.FunctionDef(
        name="__xp_bind__", args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=FUNC)],
                                              kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=[plan.item_def, ast.Return(value=ast.Name(ITEM, ast.Load()))], decorator_list=[],
        returns=None, type_params=[])
    locate_new_nodes(maker, plan.lineno, plan.end_lineno)
    return ast.Module(body=[maker], type_ignores=[])


def raise_in_cell(error: BaseException, plan: Plan) -> None:
    """Raises `error` from a frame at the mapped statement's line of the cell, so the traceback
    the user sees points at their own code, not at xparallel's."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    padding = "\n" * (plan.lineno - 1)
    code = compile(padding + "raise __xp_error__ from None", plan.filename, "exec")
    exec(code, {"__xp_error__": error, "__tracebackhide__": False})  # noqa: S102
