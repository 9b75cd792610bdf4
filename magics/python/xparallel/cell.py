"""The cell rule: setup statements, then a last statement whose outermost `for` is split.

Pure standard library, because the workers (sub-interpreters and processes) rebuild the same
program from the same source: what the notebook plans and what a worker runs cannot drift apart.
"""

from __future__ import annotations

import ast
import functools
import symtable
from dataclasses import dataclass, field
from types import CodeType
from typing import Callable

ITEM = "__xp_item__"
ITEM_ARG = "__xp_x__"
FUNC = "__xp_func__"
# A dict form's failed entry keeps its key where the key expression succeeded: the item function
# records the key it computed on the exception it raises, under this attribute (pickled with it).
KEY_ATTR = "__xparallel_key__"
_KEY = "__xp_key__"
_NO_KEY = "__xp_no_key__"
_ERROR = "__xp_error__"

ACCEPTED_FORMS = """\
The last statement of a %%parallel cell must be a mapped form, optionally assigned:
    result = [f(x) for x in items]          list comprehension (any inner for/if clauses)
    result = {x: f(x) for x in items}       dict comprehension
    result = {f(x) for x in items}          set comprehension
    result = (f(x) for x in items)          generator expression (gathered as a list)
    result = map(f, items[, more_items])    map (also list(map(...)), set(...), tuple(...))
    result = itertools.starmap(f, pairs)    starmap
The outermost `for` is split across workers; every statement before it is setup."""


class CellShapeError(ValueError):
    """The cell does not follow the cell rule."""


@dataclass
class Plan:
    """What a %%parallel cell means. Built from the cell's Python source alone."""

    source: str
    filename: str
    setup: list[ast.stmt]
    kind: str                      # list, set, dict, tuple, generator, map, starmap
    targets: list[ast.expr]        # assignment targets; empty: the cell's value
    iterable: ast.expr             # the outermost iterable, evaluated in the notebook
    function: ast.expr | None      # map/starmap: the function expression
    item_def: ast.FunctionDef      # def __xp_item__(__xp_x__): ... (one item's contribution)
    flat: bool                     # the item function returns a list to be flattened
    lineno: int
    end_lineno: int
    spread: bool = False           # map over several iterables / starmap: f(*item)
    free_names: set[str] = field(default_factory=set)
    # A warm cell run again is planned and compiled once (plans are cached by source): the code
    # of each of its parts, by name. A Plan is never changed once made.
    _compiled: dict[str, CodeType] = field(default_factory=dict, repr=False, compare=False)

    def compiled(self, part: str, build: Callable[[], ast.AST], mode: str = "exec") -> CodeType:
        """`build()`'s tree compiled under the cell's file name, once per plan."""
        code = self._compiled.get(part)
        if code is None:
            code = compile(ast.fix_missing_locations(build()), self.filename, mode)
            self._compiled[part] = code
        return code

    def setup_code(self) -> CodeType:
        return self.compiled("setup", self.setup_module)

    def item_code(self) -> CodeType:
        return self.compiled("item", self.item_module)

    def iterable_code(self) -> CodeType:
        return self.compiled("iterable", self.iterable_expression, "eval")

    def function_code(self) -> CodeType:
        """map/starmap: the function expression."""
        return self.compiled("function", lambda: ast.Expression(body=self.function), "eval")

    def setup_module(self) -> ast.Module:
        return ast.Module(body=list(self.setup), type_ignores=[])

    def item_module(self) -> ast.Module:
        return ast.Module(body=[self.item_def], type_ignores=[])

    def iterable_expression(self) -> ast.Expression:
        return ast.Expression(body=self.iterable)


def locate_new_nodes(node: ast.AST, lineno: int, end_lineno: int | None) -> ast.AST:
    """Nodes made here get the mapped statement's position, so tracebacks point at that line;
    nodes taken from the cell keep their own."""
    for child in ast.walk(node):
        if "lineno" in child._attributes and getattr(child, "lineno", None) is None:
            child.lineno, child.end_lineno = lineno, end_lineno or lineno
            child.col_offset, child.end_col_offset = 0, 0
    return node


def _is_call_to(node: ast.expr, name: str) -> bool:
    if not isinstance(node, ast.Call) or node.keywords:
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == name) or (
        isinstance(func, ast.Attribute) and func.attr == name)


def _item_function(body_value: ast.expr, prelude: list[ast.stmt], stmt: ast.stmt) -> ast.FunctionDef:
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=ITEM_ARG)], kwonlyargs=[],
                         kw_defaults=[], defaults=[])
    function = ast.FunctionDef(name=ITEM, args=args, body=[*prelude, ast.Return(value=body_value)],
                               decorator_list=[], returns=None, type_params=[])
    locate_new_nodes(function, stmt.lineno, stmt.end_lineno)
    return function


def _name(id_: str, ctx: ast.expr_context | None = None) -> ast.Name:
    return ast.Name(id=id_, ctx=ctx or ast.Load())


def _keyed_pair(key: ast.expr, value: ast.expr) -> ast.Tuple:
    """(KEY := key, value): the key is known to the item function before its value is computed."""
    return ast.Tuple(elts=[ast.NamedExpr(target=_name(_KEY, ast.Store()), value=key), value],
                     ctx=ast.Load())


def _forget_key() -> ast.expr:
    """An always-true comprehension condition that forgets the previous entry's key, so that a
    key expression that fails is not blamed on the entry before it."""
    reset = ast.NamedExpr(target=_name(_KEY, ast.Store()), value=_name(_NO_KEY))
    return ast.Compare(left=reset, ops=[ast.Is()], comparators=[_name(_NO_KEY)])


def _record_key_on_failure(function: ast.FunctionDef) -> None:
    """Wraps the item function's body: an exception leaves with the key of the entry it was
    computing (when its key expression had succeeded), so --errors collect keeps that key."""
    no_key = ast.Assign(targets=[_name(_NO_KEY, ast.Store()), _name(_KEY, ast.Store())],
                        value=ast.Call(func=_name("object"), args=[], keywords=[]))
    record = ast.If(
        test=ast.Compare(left=_name(_KEY), ops=[ast.IsNot()], comparators=[_name(_NO_KEY)]),
        body=[ast.Assign(targets=[ast.Attribute(value=_name(_ERROR), attr=KEY_ATTR,
                                                ctx=ast.Store())], value=_name(_KEY))],
        orelse=[])
    handler = ast.ExceptHandler(type=_name("BaseException"), name=_ERROR,
                                body=[record, ast.Raise(exc=None, cause=None)])
    function.body = [no_key, ast.Try(body=function.body, handlers=[handler], orelse=[],
                                     finalbody=[])]


def plan_cell(source: str, filename: str = "<xparallel-cell>") -> Plan:
    """Parses a cell (pure Python: IPython syntax already transformed) into a Plan: the same
    plan again for the same cell (a warm cell rerun; every worker's job after the first)."""
    return _plan_cell(source, filename)


@functools.lru_cache(maxsize=64)
def _plan_cell(source: str, filename: str) -> Plan:
    try:
        tree = ast.parse(source, filename)
    except SyntaxError:
        raise
    if not tree.body:
        raise CellShapeError("the cell is empty.\n\n" + ACCEPTED_FORMS)
    *setup, last = tree.body

    targets: list[ast.expr] = []
    if isinstance(last, ast.Assign):
        targets, value = list(last.targets), last.value
    elif isinstance(last, ast.AnnAssign) and last.value is not None and last.simple:
        targets, value = [last.target], last.value
    elif isinstance(last, ast.Expr):
        value = last.value
    else:
        raise CellShapeError(
            f"the last statement (line {last.lineno}) is a {type(last).__name__.lower()}, "
            "not a mapped form.\n\n" + ACCEPTED_FORMS)

    # list(...), set(...), tuple(...) around a map, a starmap or a generator expression.
    gather = None
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id in ("list", "set", "tuple") and len(value.args) == 1
            and not value.keywords and (isinstance(value.args[0], ast.GeneratorExp)
                                        or _is_call_to(value.args[0], "map")
                                        or _is_call_to(value.args[0], "starmap"))):
        gather, value = value.func.id, value.args[0]

    flat = False
    spread = False
    function = None
    if isinstance(value, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        kind = {ast.ListComp: "list", ast.SetComp: "set", ast.GeneratorExp: "generator",
                ast.DictComp: "dict"}[type(value)]
        first, *rest = value.generators
        if first.is_async or any(g.is_async for g in rest):
            raise CellShapeError("async comprehensions cannot be split across workers.\n\n"
                                 + ACCEPTED_FORMS)
        keyed = isinstance(value, ast.DictComp)
        element = _keyed_pair(value.key, value.value) if keyed else value.elt
        iterable = first.iter
        if first.ifs or rest:
            # One item's contribution: the same comprehension over just that item, flattened.
            generators = [ast.comprehension(target=first.target,
                                            iter=ast.Tuple(elts=[_name(ITEM_ARG)], ctx=ast.Load()),
                                            ifs=list(first.ifs), is_async=0),
                          *[ast.comprehension(target=g.target, iter=g.iter, ifs=list(g.ifs),
                                              is_async=0) for g in rest]]
            if keyed:
                generators[-1].ifs.append(_forget_key())
            item_def = _item_function(ast.ListComp(elt=element, generators=generators), [], last)
            flat = True
        else:
            bind = ast.Assign(targets=[first.target], value=_name(ITEM_ARG))
            item_def = _item_function(element, [bind], last)
        if keyed:
            _record_key_on_failure(item_def)
            locate_new_nodes(item_def, last.lineno, last.end_lineno)
    elif _is_call_to(value, "map") and len(value.args) >= 2:
        kind = "map"
        function = value.args[0]
        if len(value.args) == 2:
            iterable = value.args[1]
        else:
            spread = True
            iterable = ast.Call(func=_name("zip"), args=list(value.args[1:]), keywords=[])
        call = ast.Call(func=_name(FUNC),
                        args=[ast.Starred(value=_name(ITEM_ARG), ctx=ast.Load()) if spread
                              else _name(ITEM_ARG)], keywords=[])
        item_def = _item_function(call, [], last)
    elif _is_call_to(value, "starmap") and len(value.args) == 2:
        kind = "starmap"
        function, iterable = value.args
        spread = True
        call = ast.Call(func=_name(FUNC), args=[ast.Starred(value=_name(ITEM_ARG), ctx=ast.Load())],
                        keywords=[])
        item_def = _item_function(call, [], last)
    else:
        raise CellShapeError(
            f"the last statement (line {last.lineno}) is not a mapped form: "
            f"`{ast.unparse(value)[:60]}`.\n\n" + ACCEPTED_FORMS)

    if gather is not None:
        kind = gather
    plan = Plan(source=source, filename=filename, setup=setup, kind=kind, targets=targets,
                iterable=iterable, function=function, item_def=item_def, flat=flat,
                lineno=last.lineno, end_lineno=last.end_lineno or last.lineno, spread=spread)
    plan.free_names = worker_free_names(plan)
    return plan


def worker_free_names(plan: Plan) -> set[str]:
    """Names the workers' program (setup + item function + map's function) uses but does not
    bind: these come from the notebook."""
    body: list[ast.stmt] = [*plan.setup, plan.item_def]
    if plan.function is not None:
        body.append(ast.Assign(targets=[_name(FUNC, ast.Store())], value=plan.function))
    text = ast.unparse(ast.fix_missing_locations(ast.Module(body=body, type_ignores=[])))
    top = symtable.symtable(text, "<cell>", "exec")
    bound = {s.get_name() for s in top.get_symbols()
             if s.is_assigned() or s.is_imported() or s.is_namespace()}
    used: set[str] = set()
    stack = [top]
    while stack:
        table = stack.pop()
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (symbol.is_global() or table is top):
                used.add(symbol.get_name())
        stack.extend(table.get_children())
    return used - bound - {ITEM, ITEM_ARG, FUNC, _KEY, _NO_KEY, _ERROR}
