"""One %%parallel run: plan the cell, run its setup here, ship what the workers need, drive the
chosen backend while showing progress, and put the ordered results into the namespace.

The jobs around it have their own modules: cell.py (the cell rule), capture.py (names shipped),
choose.py (auto), backends/ (where items run), gather.py (the results' form), output.py (worker
print), compare.py (--compare), notebook.py (the notebook side)."""

from __future__ import annotations

import functools
import itertools
import os
import sys
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.display import display

from .backends import (AUTO, Work, auto_choices, backend_class, backend_classes, backend_named,
                       traits)
from .capture import CaptureError, capture, cell_sources, referenced_modules
from .cell import CellShapeError, plan_cell
from .cellfile import cell_code
from .choose import choose_backend, refusal, refusal_advice, refused_package, setup_imports
from .debugging import unreached_note
from .gather import gather
from .notebook import assign, evaluate_iterable, local_item_function, raise_in_cell, run_setup
from .output import WorkerOutput
from .measure import RunClock
from .progress import make_progress
from .report import ParallelReport
from .reruns import continue_after_timeouts, merge, plan_resume, recorded, remember, retry_failed
from .records import ErrorKind, ItemError
from .transfer import TransferError

PUMP_SECONDS = 0.1
# auto's attempt on interpreters holds its workers' output back until an item has come back or
# this long has passed: a refused import (the reason to move to processes) comes before either.
HOLD_SECONDS = 1.0
LAST_REPORT: ParallelReport | None = None
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Options:
    workers: int | None            # None: the backend's warm size (or the CPUs)
    backend: str
    chunksize: int
    errors: str
    timeline: bool
    compare: bool
    quiet: bool
    scheduler: str | None = None   # -b dask: the scheduler's address
    resume: bool = False           # reuse the last run's finished results for the same inputs
    retries: int = 0               # run an item that raised again, up to this many times
    timeout: float | None = None   # an item running longer gets a TimeoutError in its place


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


class _TimedOut(Exception):
    """An item ran past --timeout: the run stops here and goes on without it."""


class _Refused(Exception):
    """A module refused sub-interpreters while running: stop here, `auto` reruns elsewhere."""


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
        return itertools.chain(self.seen, self._items)


@functools.lru_cache(maxsize=64)
def _transformed(transform: Any, source: str) -> str:
    """IPython's transformation of a cell's body (`%` lines, `!` commands) to Python, once per
    body: a warm cell run again is not transformed again."""
    return transform(source)


class CellRun:
    def __init__(self, shell: Any, source: str, options: Options) -> None:
        self.shell = shell
        self.options = options
        self.namespace: dict = shell.user_ns
        python = _transformed(shell.transform_cell, source)
        # IPython counts the running cell before executing it: name ours like the cell (In[n]).
        number = max(0, shell.execution_count - 1)
        filename, python = cell_code(shell, source, python, number)
        try:
            self.plan = plan_cell(python, filename)
        except CellShapeError as error:
            raise UsageError(f"%%parallel: {error}") from None
        self._output = WorkerOutput()
        self._sources: dict[str, str] = {}
        self._withdrawn: Any = None   # the display a withdrawn attempt's bars leave to the next

    def execute(self) -> Any:
        __tracebackhide__ = True  # noqa: F841
        plan, options = self.plan, self.options
        run_setup(plan, self.namespace)
        if options.compare:
            from .compare import compare
            from .timeline import show_comparison, show_comparison_timelines

            compared = compare(self)
            report = compared.final
            self._keep(report)
            value = self._settle(report)
            show_comparison(compared.table._possible(), quiet=options.quiet)
            if options.timeline:
                show_comparison_timelines(compared.reports, compared.table)
            if not options.quiet:  # the same figures as the table's row, measured
                from .report import summary_html

                summary = report.summary()
                display({"text/plain": summary, "text/html": summary_html(summary)}, raw=True)
            if plan.targets:
                assign(plan, value, self.namespace)
            return compared.table
        backend, reason = options.backend, ""
        modules, captured = {}, b""
        chosen = traits(backend)
        if chosen is None or not chosen.shares_namespace:
            modules, captured = self.capture()
        if backend == AUTO:
            backend, reason = choose_backend(
                referenced_modules(modules, captured, setup_imports(plan)))
        note = unreached_note(backend)
        if note is not None:
            print(note, file=sys.stderr)
        items, resumed = None, None
        if options.resume or options.timeout:
            # Both run some items again by index: the input is taken up front.
            items = list(evaluate_iterable(plan, self.namespace))
        if options.resume:
            kept, todo, note = plan_resume(plan, items)
            resumed = (kept, todo, items)
            reason = "; ".join(part for part in (reason, note) if part)
        try:
            subset = items if resumed is None else [items[i] for i in resumed[1]]
            if options.backend == AUTO and backend == auto_choices()[0]:
                report = self._run_recovering(reason, modules, captured, items=subset)
            else:
                report = self.run_on(backend, reason, modules, captured, items=subset)
        except BaseException:
            self._conclude(resumed)  # an interrupt or a failure: what came back is kept
            raise
        report = self._conclude(resumed)
        if options.timeout and options.errors != "raise":
            report = continue_after_timeouts(report, options.timeout, lambda again: self.run_on(
                report.backend, reason, modules, captured, items=again))
            self._keep(report)
            remember(plan, report)
        if options.retries:
            report = retry_failed(report, options.retries, lambda again: self.run_on(
                report.backend, "", modules, captured, show=False, items=again))
            self._keep(report)
            remember(plan, report)
            if not options.quiet or report.retried:
                print(f"after retries: {report.summary()}")
        if options.timeline:
            from .timeline import show_timeline

            show_timeline(report)
        value = self._settle(report)
        if plan.targets:
            assign(plan, value, self.namespace)
            return None
        return value

    def _conclude(self, resumed: tuple | None) -> ParallelReport | None:
        """The run's report as `_parallel` and as the run --resume may resume next: a resumed
        run's subset merged with the results it reused."""
        report = LAST_REPORT if self.namespace.get("_parallel") is LAST_REPORT else None
        if report is None:
            return None
        if resumed is not None and report.inputs is not resumed[2]:
            kept, todo, items = resumed
            report = merge(report, todo, kept, len(items), items)
            self._keep(report)
        remember(self.plan, report)
        return report

    def _run_recovering(self, reason: str, modules: dict, captured: bytes,
                        items: Any = None) -> ParallelReport:
        """`auto` on interpreters: when a worker finds a module that refuses sub-interpreters
        only while running (an import inside a function), the whole mapped statement runs again
        on processes (setup lines are not rerun in the notebook; a lazy input's consumed items
        are replayed), and the summary says why."""
        __tracebackhide__ = True  # noqa: F841
        if items is None:
            items = evaluate_iterable(self.plan, self.namespace)
        replay = _Replay(items) if iter(items) is items else None
        preferred, fallback = auto_choices()[:2]
        first = self.run_on(preferred, reason, modules, captured,
                            items=replay if replay is not None else items, stop_on_refusal=True)
        refused = refusal(first.errors)
        if refused is None:
            return first
        # The attempt leaves nothing in the cell (its output was held back, its bars are
        # withdrawn): the rerun's bars take their place and its summary says why it moved.
        why = (f"{AUTO}: {fallback}, because {refused_package(refused)} cannot load in a "
               f"sub-interpreter (found when a worker imported it; the cell was rerun on "
               f"{fallback})")
        return self.run_on(fallback, why, modules, captured,
                           items=replay.again() if replay is not None else items)

    def _settle(self, report: ParallelReport) -> Any:
        """The results in the cell's form (also kept in the report), or the error that stopped
        the run: a setup failure always, an item's failure under --errors raise."""
        __tracebackhide__ = True  # noqa: F841
        value, report.skipped = gather(self.plan, report.results, report.errors,
                                       self.options.errors)
        report.results = value
        fatal = [e for e in report.errors
                 if e.kind is ErrorKind.SETUP or self.options.errors == "raise"]
        if fatal:
            advice = refusal_advice(fatal)
            if advice:
                raise UsageError(f"%%parallel: {advice}")
            first = min(fatal, key=lambda e: (e.kind is not ErrorKind.SETUP, e.index))
            error = first.exception()
            if first.kind.of_an_item:
                error.add_note("[xparallel] `%parallel_debug` runs this item again here, in the "
                               "debugger; `_parallel.partial()` has the results that came back")
            raise_in_cell(error, self.plan)
        return value

    def run_on(self, backend_name: str, reason: str, modules: dict, captured: bytes,
               show: bool = True, items: Any = None, stop_on_refusal: bool = False
               ) -> ParallelReport:
        """The mapped statement on one backend, with live progress; the report."""
        __tracebackhide__ = True  # noqa: F841
        plan, options = self.plan, self.options
        if items is None:
            items = evaluate_iterable(plan, self.namespace)
        try:
            total = len(items)
        except TypeError:
            total = None
        items, inputs = recorded(items)
        spec = {"source": plan.source, "filename": plan.filename, "modules": modules,
                "captured": captured, "sources": self._sources}
        kind = backend_class(backend_name)
        workers = 1 if kind.baseline else options.workers
        work = Work(spec=spec, bind_locally=lambda: local_item_function(plan, self.namespace),
                    options={"scheduler": options.scheduler, "timeout": options.timeout})
        # --timeout watches items one by one, from when each was handed to a free worker.
        watch = bool(options.timeout) and not kind.times_items
        chunksize = 1 if options.timeout else options.chunksize
        timed_out: list[int] = []
        try:
            backend = backend_named(backend_name)
        except ImportError as error:
            others = ", ".join(f"`-b {name}`" for name in backend_classes() if name != backend_name)
            raise UsageError(f"%%parallel: the {backend_name} backend cannot load here: {error}. "
                             f"Other backends ({others}) may.") from None
        status = "ok"
        job = None
        progress = None
        refused = False
        # Started before the workers are, so their start-up counts: the run's process-tree CPU.
        clock = RunClock.start()
        try:
            try:
                # With --retries every item runs: a failure is final only once retried.
                job = backend.submit(work, items, workers, chunksize,
                                     options.errors == "raise" and not options.retries, total)
                if watch:
                    job.one_chunk_per_slot()
                progress = self._progress(backend_name, job, total, reason, options.quiet,
                                          silent=not show)
                seen = 0
                if stop_on_refusal:
                    self._output.hold()

                def tick(job: Any) -> None:
                    nonlocal seen, refused
                    if stop_on_refusal and len(job.errors) > seen:
                        errors, seen = job.errors[seen:], len(job.errors)
                        if refusal(errors) is not None:
                            refused = True
                            raise _Refused  # no point running the rest here: auto runs it elsewhere
                    if stop_on_refusal and not refused and (
                            job.elapsed > HOLD_SECONDS or job.progress()[1] > 0):
                        self._output.release()  # an item came back, or time: it runs here
                    self._output.publish(job.events())
                    progress.update(job)
                    if watch and (late := job.overdue(options.timeout)):
                        timed_out.extend(late)
                        raise _TimedOut

                try:
                    job.wait(tick=tick, every=PUMP_SECONDS)
                except (_Refused, _TimedOut):
                    pass
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
            if job is not None:
                if not job.finished:  # anything but a normal end: stop the workers, keep what came
                    job.cancel()
                refused = refused or (stop_on_refusal and refusal(job.errors) is not None)
                if refused:
                    self._output.drop()
                    job.events()
                else:
                    self._output.release()
                    self._output.publish(job.events(), final=True)
                report = self._report(job, backend_name, reason, status)
                report.inputs = inputs
                report.total = total if total is not None else job.progress()[2]
                if timed_out:
                    _mark_timeouts(report, timed_out, options.timeout)
                elif options.timeout:  # serial: the item itself was stopped by a timer
                    report.timed_out = [e.index for e in report.errors
                                        if e.kind is ErrorKind.TIMEOUT]
                # Not after an interrupt: the notebook must get control back at once, and
                # threads still spinning make /proc reads slow (the figures then come from the
                # chunks that finished).
                if status != "interrupted":
                    report.usage = clock.stop()
                if progress is None:
                    progress = make_progress(backend_name, job.workers, total, reason, quiet=True)
                if refused:
                    self._withdrawn = progress.withdraw()
                else:
                    progress.finish(job, report)
                self._keep(report)
        return report

    def _progress(self, backend_name: str, job: Any, total: int | None, reason: str,
                  quiet: bool, silent: bool = False) -> Any:
        progress = make_progress(backend_name, job.workers, total, reason, quiet=quiet,
                                 silent=silent, replaces=self._withdrawn)
        self._withdrawn = None
        names = getattr(job, "worker_names", None)
        for bar, name in zip(getattr(progress, "bars", []), names or []):
            bar.description = name  # a dask worker's name or address, not w1
            bar.description_allow_html = False
            bar.style.description_width = "initial"
        progress.start(job)
        return progress

    def _keep(self, report: ParallelReport) -> None:
        global LAST_REPORT
        LAST_REPORT = self.namespace["_parallel"] = report

    def capture(self) -> tuple[dict, bytes]:
        try:
            modules, captured = capture(self.plan.free_names, self.namespace)
        except CaptureError as error:
            raise UsageError(f"%%parallel: {error}") from None
        self._sources = cell_sources([self.namespace[n] for n in self.plan.free_names
                                      if n in self.namespace])
        return modules, captured

    def _report(self, job: Any, backend: str, reason: str, status: str) -> ParallelReport:
        errors = list(job.errors)
        if status == "ok" and errors:
            status = "failed"
        where = getattr(job, "where", "")
        reason = "; ".join(part for part in (where, reason) if part)
        dispatched, collected, total, _ = job.progress()
        report = ParallelReport(backend=backend, workers=job.workers, reason=reason,
                                status=status, items=collected, wall=job.elapsed,
                                timeline=job.timeline(), errors=errors, results=list(job.results),
                                values=list(job.results), source=self.plan.source,
                                filename=self.plan.filename)
        report.worker_names = list(getattr(job, "worker_names", None) or
                                   [f"w{i + 1}" for i in range(job.workers)])
        return report



def _mark_timeouts(report: ParallelReport, late: list[int], seconds: float) -> None:
    """The items that ran past --timeout get a TimeoutError in their place. The run was stopped
    to set their workers aside: the items interrupted beside them are not failures (they run
    again, see reruns.continue_after_timeouts)."""
    import pickle

    from .reruns import short_repr

    interrupted = {e.index: e for e in report.errors if e.kind is ErrorKind.INTERRUPT}
    errors = [e for e in report.errors if e.kind is not ErrorKind.INTERRUPT]
    for index in sorted(set(late)):
        error = TimeoutError(f"item {index} ran longer than --timeout {seconds:g} s; its worker "
                             "was set aside and replaced")
        worker = interrupted[index].worker if index in interrupted else 0
        item = short_repr(report.inputs[index]) if index < len(report.inputs) else ""
        errors.append(ItemError(index, worker, ErrorKind.TIMEOUT, "TimeoutError", str(error), "",
                                item, pickle.dumps(error)))
    report.errors = sorted(errors, key=lambda e: e.index)
    report.timed_out = sorted(set(report.timed_out) | set(late))
    report.status = "failed"
    report.round_timed_out = True
