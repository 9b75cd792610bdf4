"""One %%parallel run: plan the cell, run its setup here, ship what the workers need, drive the
backend while showing progress, and gather the ordered results into the namespace."""

from __future__ import annotations

import ast
import html
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from . import engine
from ._engine import TransferError
from .backends import BACKENDS, Work
from .capture import CaptureError, capture, cell_sources, referenced_modules
from .cell import FUNC, CellShapeError, Plan, locate_new_nodes, plan_cell
from .progress import make_progress
from .report import Comparison, ItemError, ParallelReport

PUMP_SECONDS = 0.1
LAST_REPORT: ParallelReport | None = None
_backends: dict[str, Any] = {}
_refuses: dict[str, bool] = {}


@dataclass
class Options:
    workers: int | None            # None: the backend's warm size (or the CPUs)
    backend: str
    chunksize: int
    errors: str
    timeline: bool
    compare: bool
    quiet: bool


def backend_named(name: str) -> Any:
    if name not in _backends:
        _backends[name] = BACKENDS[name]()
    return _backends[name]


# ---- the notebook side of a cell ---------------------------------------------------------------
def _exec(node: ast.Module | ast.Expression, filename: str, namespace: dict, mode: str) -> Any:
    code = compile(ast.fix_missing_locations(node), filename, mode)
    return eval(code, namespace) if mode == "eval" else exec(code, namespace)  # noqa: S307


def _assign(plan: Plan, value: Any, namespace: dict) -> None:
    """TARGET = value for every target the cell wrote, with Python's own assignment rules."""
    stored = sorted({n.id for t in plan.targets for n in ast.walk(t)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
    body: list[ast.stmt] = [ast.Global(names=stored)] if stored else []
    body.append(ast.Assign(targets=plan.targets, value=ast.Name("__xp_value__", ast.Load())))
    function = ast.FunctionDef(name="__xp_assign__", args=ast.arguments(
        posonlyargs=[], args=[ast.arg(arg="__xp_value__")], kwonlyargs=[], kw_defaults=[],
        defaults=[]), body=body, decorator_list=[], returns=None, type_params=[])
    locate_new_nodes(function, plan.lineno, plan.end_lineno)
    scratch: dict[str, Any] = {}
    code = compile(ast.Module(body=[function], type_ignores=[]), plan.filename, "exec")
    exec(code, namespace, scratch)  # noqa: S102
    scratch["__xp_assign__"](value)


def _local_item_function(plan: Plan, namespace: dict) -> Any:
    scratch: dict[str, Any] = {}
    code = compile(ast.fix_missing_locations(plan.item_module()), plan.filename, "exec")
    exec(code, namespace, scratch)  # noqa: S102
    return scratch["__xp_item__"]


def _setup_imports(plan: Plan) -> set[str]:
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

        from ._payload import probe_import

        job = engine.submit(functools.partial(probe_import, module), [0], workers=None)
        deadline = time.monotonic() + 60
        while not job.pump(0.05) and time.monotonic() < deadline:
            pass
        _refuses[module] = any(engine.is_subinterpreter_refusal(e[4], e[5]) for e in job.errors)
    return _refuses[module]


def choose_backend(modules: set[str]) -> tuple[str, str]:
    skip = set(sys.stdlib_module_names) | {"xparallel", "cloudpickle", "__main__", "builtins"}
    for name in sorted(m for m in modules if m in sys.modules and m not in skip):
        if refuses_subinterpreters(name):
            return "processes", f"auto: processes, because {name} cannot load in a sub-interpreter"
    return "interpreters", "auto: interpreters"


# ---- results ------------------------------------------------------------------------------------
def _stand_in(plan: Plan, error: ItemError) -> Any:
    """What takes a failed item's place under --errors collect: the exception; in a dict the
    entry `exception: exception` (the key may be what failed); flattened plans (inner for/if
    clauses) get that one stand-in as the item's whole contribution."""
    exception = error.exception()
    entry = (exception, exception) if plan.kind == "dict" else exception
    return [entry] if plan.flat else entry


def _gather(plan: Plan, values: list, errors: list[ItemError], mode: str) -> tuple[Any, int]:
    failed = {e.index: e for e in errors if e.kind != "setup"}
    skipped = 0
    if mode == "collect" and failed:
        values = list(values)
        for index, error in failed.items():
            if index < len(values):
                values[index] = _stand_in(plan, error)
    elif failed:
        kept = [v for i, v in enumerate(values) if i not in failed]
        skipped = len(values) - len(kept)
        values = kept
    if plan.flat:
        values = [v for part in values if part is not None for v in part]
    if plan.kind == "set":
        return set(values), skipped
    if plan.kind == "tuple":
        return tuple(values), skipped
    if plan.kind == "dict":
        return dict(values), skipped
    return values, skipped


def _raise_in_cell(error: BaseException, plan: Plan) -> None:
    """Raises `error` from a frame at the mapped statement's line of the cell, so the traceback
    the user sees points at their own code, not at xparallel's."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    padding = "\n" * (plan.lineno - 1)
    code = compile(padding + "raise __xp_error__ from None", plan.filename, "exec")
    exec(code, {"__xp_error__": error, "__tracebackhide__": False})  # noqa: S102


def _refusal(errors: list[ItemError]) -> ItemError | None:
    return next((e for e in errors if engine.is_subinterpreter_refusal(e.type_name, e.message)),
                None)


def _refused_package(error: ItemError) -> str:
    found = re.search(r"module ([\w.]+) does not support loading in subinterpreters", error.message)
    return (found.group(1) if found else "an extension module").split(".")[0]


def _refusal_advice(errors: list[ItemError]) -> str | None:
    refusal = _refusal(errors)
    if refusal is None:
        return None
    found = re.search(r"module ([\w.]+) does not support loading in subinterpreters",
                      refusal.message)
    extension = found.group(1) if found else "an extension module"
    return (f"{_refused_package(refusal)} cannot be imported in a sub-interpreter: its extension "
            f"module {extension} does not support own-GIL sub-interpreters (yet). Use "
            "`--backend processes`, or `--backend threads` (NumPy releases the GIL in its "
            "heavy loops), or `--backend auto`, which picks processes for such cells.")


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _backend_failure(error: RuntimeError, job: Any) -> bool:
    """Whether a RuntimeError is the backend's (a pool that cannot start, a worker lost) rather
    than the user's own, raised by their iterable: only the former becomes a usage error."""
    from .backends.base import BackendError

    if isinstance(error, BackendError):
        return True
    if job is not None and error is getattr(job, "input_error", None):
        return False
    if type(error) is not RuntimeError:  # RecursionError, NotImplementedError: the user's
        return False
    frame = error.__traceback__
    while frame is not None:  # a frame outside xparallel: raised by the user's code
        if not os.path.abspath(frame.tb_frame.f_code.co_filename).startswith(_PACKAGE):
            return False
        frame = frame.tb_next
    return True


class _Replay:
    """A lazy input, consumed while recording, so `auto` can run it again elsewhere."""

    def __init__(self, items: Any) -> None:
        self.seen: list = []
        self._items = items

    def __iter__(self) -> Any:
        record = self.seen.append
        for item in self._items:
            record(item)
            yield item

    def again(self) -> Any:
        import itertools

        return itertools.chain(self.seen, self._items)


# ---- one run ------------------------------------------------------------------------------------
class CellRun:
    def __init__(self, shell: Any, source: str, options: Options) -> None:
        self.shell = shell
        self.options = options
        self.namespace: dict = shell.user_ns
        python = shell.transform_cell(source)
        # IPython counts the running cell before executing it: name ours like the cell (In[n]).
        number = max(0, shell.execution_count - 1)
        filename = shell.compile.cache(python, number, raw_code=source)
        try:
            self.plan = plan_cell(python, filename)
        except CellShapeError as error:
            raise UsageError(f"%%parallel: {error}") from None
        self._partial_lines: dict[tuple[int, int], str] = {}
        self._sources: dict[str, str] = {}

    def execute(self) -> Any:
        __tracebackhide__ = True  # noqa: F841
        plan, options = self.plan, self.options
        _exec(plan.setup_module(), plan.filename, self.namespace, "exec")
        if options.compare:
            return self._compare()
        backend, reason = options.backend, ""
        modules, captured = {}, b""
        if backend in ("auto", "interpreters", "processes"):
            modules, captured = self._capture()
        if backend == "auto":
            backend, reason = choose_backend(
                referenced_modules(modules, captured, _setup_imports(plan)))
        if options.backend == "auto" and backend == "interpreters":
            report = self._run_recovering(reason, modules, captured)
        else:
            report = self._run(backend, reason, modules, captured)
        self._publish(report)
        value = self._settle(report)
        if plan.targets:
            _assign(plan, value, self.namespace)
            return None
        return value

    def _run_recovering(self, reason: str, modules: dict, captured: bytes) -> ParallelReport:
        """`auto` on interpreters: when a worker finds a module that refuses sub-interpreters
        only while running (an import inside a function), the whole mapped statement runs again
        on processes (setup lines are not rerun in the notebook; a lazy input's consumed items
        are replayed), and the summary says why."""
        __tracebackhide__ = True  # noqa: F841
        items = _exec(self.plan.iterable_expression(), self.plan.filename, self.namespace, "eval")
        replay = _Replay(items) if iter(items) is items else None
        first = self._run("interpreters", reason, modules, captured,
                          items=replay if replay is not None else items, stop_on_refusal=True)
        refusal = _refusal(first.errors)
        if refusal is None:
            return first
        package = _refused_package(refusal)
        _refuses[package] = True
        why = (f"auto: processes, because {package} cannot load in a sub-interpreter (found "
               "when a worker imported it; the cell was rerun on processes)")
        return self._run("processes", why, modules, captured,
                         items=replay.again() if replay is not None else items)

    def _settle(self, report: ParallelReport) -> Any:
        """The results in the cell's form (also kept in the report), or the error that stopped
        the run: a setup failure always, an item's failure under --errors raise."""
        __tracebackhide__ = True  # noqa: F841
        value, report.skipped = _gather(self.plan, report.results, report.errors,
                                        self.options.errors)
        report.results = value
        fatal = [e for e in report.errors if e.kind == "setup" or self.options.errors == "raise"]
        if fatal:
            advice = _refusal_advice(fatal)
            if advice:
                raise UsageError(f"%%parallel: {advice}")
            first = min(fatal, key=lambda e: (e.kind != "setup", e.index))
            _raise_in_cell(first.exception(), self.plan)
        return value

    def _run(self, backend_name: str, reason: str, modules: dict, captured: bytes,
             show: bool = True, items: Any = None, stop_on_refusal: bool = False) -> ParallelReport:
        __tracebackhide__ = True  # noqa: F841
        plan, options = self.plan, self.options
        if items is None:
            items = _exec(plan.iterable_expression(), plan.filename, self.namespace, "eval")
        try:
            total = len(items)
        except TypeError:
            total = None
        spec = {"source": plan.source, "filename": plan.filename, "modules": modules,
                "captured": captured, "sources": self._sources}
        workers = 1 if backend_name == "serial" else options.workers
        if plan.function is not None:
            self.namespace[FUNC] = _exec(ast.Expression(plan.function), plan.filename,
                                         self.namespace, "eval")
        work = Work(spec=spec, local_function=_local_item_function(plan, self.namespace))
        backend = backend_named(backend_name)
        status = "ok"
        job = None
        progress = None
        try:
            try:
                job = backend.submit(work, items, workers, options.chunksize,
                                     options.errors == "raise", total)
                progress = make_progress(backend_name, job.workers, total, reason,
                                         quiet=options.quiet or not show)
                progress.start(job)
                seen = 0
                while not job.pump(PUMP_SECONDS):
                    self._publish_events(job.events())
                    progress.update(job)
                    if stop_on_refusal and len(job.errors) > seen:
                        errors = [ItemError.from_tuple(row) for row in job.errors[seen:]]
                        seen += len(errors)
                        if _refusal(errors) is not None:
                            break  # no point running the rest here: auto runs it elsewhere
            except TransferError as error:  # items or results that cannot travel
                raise UsageError(f"%%parallel: {error}") from None
            except RuntimeError as error:
                if _backend_failure(error, job):  # a pool or worker that failed, not the cell
                    raise UsageError(f"%%parallel: {error}") from None
                raise
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            self.namespace.pop(FUNC, None)
            if job is not None:
                if not job.finished:  # anything but a normal end: stop the workers, keep what came
                    job.cancel()
                self._publish_events(job.events(), final=True)
                report = self._report(job, backend_name, job.workers, reason, status)
                if progress is None:
                    progress = make_progress(backend_name, job.workers, total, reason,
                                             quiet=True)
                progress.finish(job, report)
                global LAST_REPORT
                LAST_REPORT = report
                self.namespace["_parallel"] = report
        return report

    def _capture(self) -> tuple[dict, bytes]:
        try:
            modules, captured = capture(self.plan.free_names, self.namespace)
        except CaptureError as error:
            raise UsageError(f"%%parallel: {error}") from None
        self._sources = cell_sources([self.namespace[n] for n in self.plan.free_names
                                      if n in self.namespace])
        return modules, captured

    def _report(self, job: Any, backend: str, workers: int, reason: str, status: str) -> ParallelReport:
        errors = [ItemError.from_tuple(row) for row in job.errors]
        if status == "ok" and errors:
            status = "failed"
        dispatched, collected, total, _ = job.progress()
        return ParallelReport(backend=backend, workers=workers, reason=reason, status=status,
                              items=collected, wall=job.elapsed, timeline=job.timeline(),
                              errors=errors, results=list(job.results))

    def _publish_events(self, events: list[tuple], final: bool = False) -> None:
        """Worker output, line by line with its [wN] prefix, from the main thread."""
        for worker, stream, text in events:
            key = (worker, stream)
            pending = self._partial_lines.get(key, "") + text
            *lines, rest = pending.split("\n")
            self._partial_lines[key] = rest
            if lines:
                target = sys.stdout if stream == 1 else sys.stderr
                target.write("".join(f"[w{worker}] {line}\n" for line in lines))
        if final:
            for (worker, stream), rest in sorted(self._partial_lines.items()):
                if rest:
                    target = sys.stdout if stream == 1 else sys.stderr
                    target.write(f"[w{worker}] {rest}\n")
            self._partial_lines.clear()

    def _publish(self, report: ParallelReport) -> None:
        if self.options.timeline:
            from .timeline import show_timeline

            show_timeline(report)

    def _compare(self) -> Any:
        __tracebackhide__ = True  # noqa: F841
        modules, captured = self._capture()
        rows = []
        reports = {}
        for name in ("serial", "threads", "processes", "interpreters"):
            report = self._run(name, "", modules, captured, show=False)
            if report.errors:
                advice = _refusal_advice(report.errors)
                if name == "interpreters" and advice:  # not possible here: say why, go on
                    rows.append({"backend": name, "workers": report.workers, "wall": math.nan,
                                 "speedup": math.nan, "cores_used": math.nan, "possible": False,
                                 "note": advice.split(": ")[0]})
                    continue
                first = min(report.errors, key=lambda e: e.index)
                raise UsageError(f"%%parallel --compare: the {name} run failed: "
                                 f"{advice or first.type_name + ': ' + first.message}")
            reports[name] = report
        serial_wall = reports["serial"].wall
        for name, report in reports.items():
            rows.append({"backend": name, "workers": report.workers, "wall": report.wall,
                         "speedup": serial_wall / report.wall if report.wall else 0.0,
                         "cores_used": report.cores_used, "possible": True, "note": ""})
        order = ("serial", "threads", "processes", "interpreters")
        rows.sort(key=lambda row: order.index(row["backend"]))
        final = reports.get("interpreters") or reports["processes"]
        final.comparison = rows
        global LAST_REPORT
        LAST_REPORT = self.namespace["_parallel"] = final
        value = self._settle(final)
        comparison = _Comparison(rows)
        from .timeline import show_comparison

        show_comparison(Comparison([r for r in rows if r["possible"]]), quiet=self.options.quiet)
        if self.plan.targets:
            _assign(self.plan, value, self.namespace)
        return comparison


class _Comparison(Comparison):
    """The --compare table, with a line for each backend that could not run the cell."""

    def _possible(self) -> Comparison:
        return Comparison([r for r in self.rows if r.get("possible", True)])

    def _impossible(self) -> list[dict]:
        return [r for r in self.rows if not r.get("possible", True)]

    def __repr__(self) -> str:
        lines = [repr(self._possible())]
        lines += [f"{r['backend']:<13}not possible: {r['note']}" for r in self._impossible()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        notes = "".join(f"<p>{html.escape(r['backend'])}: not possible: {html.escape(r['note'])}</p>"
                        for r in self._impossible())
        return self._possible()._repr_html_() + notes
