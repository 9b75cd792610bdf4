"""Running some of a cell's items again and merging them into a whole run: `--resume` (the items
the last run of the same target did not finish) and `--retries` (items that raised). The subset
runs on the chosen backend like any run; its report is renumbered to the full input's indices
and merged with the results kept, so the cell's value, `_parallel` and `partial()` read as one
run over every item."""

from __future__ import annotations

import ast
import itertools
from collections import OrderedDict
from typing import Any, Callable

from IPython.core.error import UsageError

from .cell import Plan
from .measure import Usage
from .records import ErrorKind
from .report import ParallelReport, plural

REMEMBERED_TARGETS = 8          # the last runs kept for --resume, one per target
RECORDED_ITEMS = 1_000_000      # a generator's inputs kept for --resume and %parallel_debug
_last_runs: "OrderedDict[str, ParallelReport]" = OrderedDict()


def target_key(plan: Plan) -> str:
    """What identifies "the same cell" for --resume: the assignment targets (`r`, `a, b`), or,
    for a bare form, the mapped statement's iterable and item function."""
    if plan.targets:
        return " = ".join(ast.unparse(t) for t in plan.targets)
    return "<value> " + ast.unparse(plan.iterable) + " " + ast.unparse(plan.item_def)


def remember(plan: Plan, report: ParallelReport) -> None:
    key = target_key(plan)
    _last_runs.pop(key, None)
    _last_runs[key] = report
    while len(_last_runs) > REMEMBERED_TARGETS:
        _last_runs.popitem(last=False)


def recorded(items: Any) -> tuple[Any, Any]:
    """(items to run, the inputs as the report keeps them). A list is copied (the notebook may
    change it later), immutable sequences are kept as they are, anything else (a generator) is
    recorded while it is consumed, its first RECORDED_ITEMS items (later ones cannot be reused
    by --resume: they run again)."""
    if isinstance(items, list):
        copy = list(items)
        return copy, copy
    if isinstance(items, (tuple, range, str, bytes)):
        return items, items
    seen: list = []

    def recording() -> Any:
        keep = seen.append
        rest = iter(items)
        for item in itertools.islice(rest, RECORDED_ITEMS):
            keep(item)
            yield item
        yield from rest  # past the limit the inputs are not kept: memory stays the results'

    return recording(), seen


def _same(old: Any, new: Any) -> bool:
    if old is new:
        return True
    try:
        return bool(old == new)
    except Exception:  # noqa: BLE001 - arrays and other values without a plain truth: not same
        return False


def plan_resume(plan: Plan, inputs: list) -> tuple[dict[int, Any], list[int], str]:
    """(kept results by index, indices to run, what the summary says). Raises a UsageError that
    says what to do when there is nothing to resume."""
    key = target_key(plan)
    last = _last_runs.get(key)
    if last is None:
        raise UsageError(f"%%parallel --resume: no earlier run of `{key}` to resume in this "
                         "kernel. Run the cell without --resume first.")
    done = last.finished()
    before = last.inputs if last.inputs is not None else []
    kept: dict[int, Any] = {}
    changed = 0
    for index in sorted(done):
        if index >= len(inputs) or index >= len(before):
            continue
        if _same(before[index], inputs[index]):
            kept[index] = last.values[index]
        else:
            changed += 1
    if done and not kept:
        raise UsageError(
            f"%%parallel --resume: the inputs differ from those of the run being resumed at every "
            f"finished position (item 0 was {short_repr(before[0] if before else None)}, is "
            f"{short_repr(inputs[0] if inputs else None)}): nothing can be reused. Run the cell "
            "without --resume.")
    todo = [i for i in range(len(inputs)) if i not in kept]
    note = f"resumed: {len(kept):,} reused, {len(todo):,} run"
    if changed:
        note += f" ({changed:,} finished items' inputs changed, so they ran again)"
    if not todo:
        note += " (every item was finished: nothing ran)"
    return kept, todo, note


def short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def merge(sub: ParallelReport, indices: list[int], kept: dict[int, Any], total: int,
          inputs: Any, settled: set[int] = frozenset()) -> ParallelReport:
    """The subset run `sub` (over `indices`, in that order) with the `kept` results, as one
    report over all `total` items: values and errors at the full input's indices."""
    values: list[Any] = [None] * total
    for index, value in kept.items():
        values[index] = value
    for position, value in enumerate(sub.values):
        values[indices[position]] = value
    for error in sub.errors:
        if error.kind is not ErrorKind.SETUP and error.index < len(indices):
            error.index = indices[error.index]
    # Results are the ordered prefix that came back: kept ones count as come back.
    ran = set(indices[:len(sub.values)]) | set(kept) | set(settled)
    prefix = 0
    while prefix < total and prefix in ran:
        prefix += 1
    sub.values = values[:prefix]
    sub.results = list(sub.values)
    sub.inputs = inputs
    sub.total = total
    sub.items = len(sub.values)
    sub.reused = len(kept)
    return sub


def _append_round(report: ParallelReport, sub: ParallelReport, indices: list[int],
                  earlier_errors: list, settled: set[int] = frozenset()) -> ParallelReport:
    """A further round `sub` (run over `indices`) merged into `report`: what `report` finished
    stays, `earlier_errors` stay beside the round's own, and wall time, timeline and usage add
    up. The caller says what the round changed in the status."""
    kept = {i: report.values[i] for i in report.finished()}
    merged = merge(sub, indices, kept, report.total or len(report.inputs), report.inputs, settled)
    merged.errors = sorted(earlier_errors + merged.errors, key=lambda e: e.index)
    merged.wall += report.wall
    merged.timeline = report.timeline + merged.timeline
    merged.reason = report.reason
    merged.backend, merged.workers = report.backend, report.workers
    if report.usage is not None and sub.usage is not None:
        merged.usage = Usage(report.usage.cpu + sub.usage.cpu,
                             report.usage.wall + sub.usage.wall,
                             None if report.usage.wait is None or sub.usage.wait is None
                             else report.usage.wait + sub.usage.wait)
    return merged


def retry_failed(report: ParallelReport, retries: int,
                 run_subset: Callable[[list[Any]], ParallelReport]) -> ParallelReport:
    """Runs the items that raised again, up to `retries` more times each, and merges what then
    succeeds. Interrupts are not retried, nor setup failures (they would fail again)."""
    attempts: dict[int, int] = {}
    for _ in range(retries):
        failed = sorted({e.index for e in report.errors
                         if e.kind in (ErrorKind.ITEM, ErrorKind.TIMEOUT)})
        if not failed or any(e.kind is ErrorKind.SETUP for e in report.errors):
            break
        for index in failed:
            attempts[index] = attempts.get(index, 0) + 1
        sub = run_subset([report.inputs[i] for i in failed])
        rerun = set(failed)
        merged = _append_round(report, sub, failed,
                               [e for e in report.errors if e.index not in rerun])
        merged.status = "failed" if merged.errors else (
            "interrupted" if report.status == "interrupted" else "ok")
        report = merged
    report.retried = attempts
    return report


def continue_after_timeouts(report: ParallelReport, seconds: float,
                            run_subset: Callable[[list[Any]], ParallelReport]) -> ParallelReport:
    """A run stopped because items ran past --timeout goes on: the items that neither finished
    nor failed (those interrupted beside the late ones, and those not started) run, as often as
    timeouts stop a round, and everything is merged into one report."""
    inputs = report.inputs
    while report.round_timed_out:
        failed = {e.index for e in report.errors}
        done = report.finished()
        pending = [i for i in range(len(inputs)) if i not in done and i not in failed]
        if not pending:
            break
        print(f"[xparallel] {plural(len(report.timed_out), 'item')} ran past --timeout "
              f"{seconds:g} s so far (a TimeoutError in each one's place, its worker replaced); "
              f"going on with the {plural(len(pending), 'item')} left")
        sub = run_subset([inputs[i] for i in pending])
        timed_out = [pending[i] for i in sub.timed_out if i < len(pending)]
        merged = _append_round(report, sub, pending, list(report.errors), settled=failed)
        merged.timed_out = sorted(set(report.timed_out) | set(timed_out))
        merged.status = "failed" if merged.errors else "ok"
        report = merged
    report.round_timed_out = False
    return report
