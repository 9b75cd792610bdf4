"""The ordered results, put back in the cell's form (list, set, dict, tuple), with failed items
left out (--errors skip) or stood in for by their exception (--errors collect; in a dict, under
the item's own key)."""

from __future__ import annotations

from typing import Any

from .cell import KEY_ATTR, Plan
from .records import ErrorKind
from .report import ItemError


_LEFT_OUT = object()


def stand_in(plan: Plan, error: ItemError) -> Any:
    """What takes a failed item's place under --errors collect: the exception. In a dict the
    entry is `key: exception` with the key the item's key expression gave; when the key
    expression itself failed there is no key, and the item is left out (counted, and its error
    stays in `_parallel.errors`). Flattened plans (inner for/if clauses) get that one stand-in
    as the item's whole contribution."""
    exception = error.exception()
    if plan.kind == "dict":
        key = getattr(exception, KEY_ATTR, _LEFT_OUT)
        if key is _LEFT_OUT:
            return _LEFT_OUT
        entry: Any = (key, exception)
    else:
        entry = exception
    return [entry] if plan.flat else entry


def gather(plan: Plan, values: list, errors: list[ItemError], mode: str) -> tuple[Any, int]:
    """(the cell's value, how many items were left out)."""
    failed = {e.index: e for e in errors if e.kind is not ErrorKind.SETUP}
    if mode == "collect" and failed:
        values = list(values)
        for index, error in failed.items():
            if index < len(values):
                values[index] = stand_in(plan, error)
        left_out = {i for i, v in enumerate(values) if v is _LEFT_OUT}
    else:
        left_out = set(failed)
    kept = [v for i, v in enumerate(values) if i not in left_out]
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
