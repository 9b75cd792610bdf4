"""Reading figures a notebook printed rounded, at the precision they were printed.

A notebook computes its verdicts and shares from exact figures and prints them rounded. A test that
recomputes a verdict or a share from the printed figures must allow for that rounding, or a run whose
figures fall near a boundary fails by chance (a share recomputed from `0.00, 0.00, 0.01, 0.03` s can
be anything from 50 % to 88 %). These helpers take the figures as printed (strings), each standing
for the interval its last digit allows, and answer what the exact figures could have given.
"""

from __future__ import annotations

import itertools
from typing import Callable, Iterator


def precision(printed: str) -> float:
    """Half a unit of the last printed digit: `0.04` stood for something in [0.035, 0.045]."""
    decimals = len(printed.strip().partition(".")[2])
    return 0.5 * 10.0 ** -decimals


def corners(*printed: str) -> Iterator[tuple[float, ...]]:
    """Every combination of the figures at either end of their interval, and as printed.

    Figures printed positive are times, counts and ratios, never negative: their lower end stops at 0."""
    ends = []
    for text in printed:
        value, half = float(text), precision(text)
        ends.append((max(0.0, value - half) if value >= 0 else value - half, value, value + half))
    return itertools.product(*ends)


def verdicts(rule: Callable[..., object], *printed: str) -> set:
    """Every verdict `rule` could have given on the exact figures behind `printed`."""
    return {rule(*figures) for figures in corners(*printed)}


def could_be(shown: str, formula: Callable[..., float], *printed: str) -> bool:
    """Whether `shown`, printed rounded, can be `formula` of the exact figures behind `printed`.

    `formula` must be monotone in each figure over the intervals (shares, ratios, sums are), so its
    range over them lies between its values at the corners."""
    values = []
    for figures in corners(*printed):
        try:
            values.append(formula(*figures))
        except ZeroDivisionError:
            continue
    if not values:
        return True  # every figure printed as zero: anything could have been computed
    half = precision(shown)
    return min(values) - half <= float(shown) <= max(values) + half
