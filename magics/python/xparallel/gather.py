"""The ordered results, put back in the cell's form (list, set, dict, tuple), with failed items
left out (--errors skip) or stood in for by their exception (--errors collect)."""

from __future__ import annotations

from typing import Any

from .cell import Plan
from .report import ItemError


def stand_in(plan: Plan, error: ItemError) -> Any:
    """What takes a failed item's place under --errors collect: the exception; in a dict the
    entry `exception: exception` (the key may be what failed); flattened plans (inner for/if
    clauses) get that one stand-in as the item's whole contribution."""
    exception = error.exception()
    entry = (exception, exception) if plan.kind == "dict" else exception
    return [entry] if plan.flat else entry


def gather(plan: Plan, values: list, errors: list[ItemError], mode: str) -> tuple[Any, int]:
    """(the cell's value, how many items were skipped)."""
    failed = {e.index: e for e in errors if e.kind != "setup"}
    skipped = 0
    if mode == "collect" and failed:
        values = list(values)
        for index, error in failed.items():
            if index < len(values):
                values[index] = stand_in(plan, error)
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
