"""JSON encoding of message contents on their way to xeus."""

from __future__ import annotations

import base64
import datetime
import json
import math
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    return repr(value)


def _finite(value: Any) -> Any:
    # JSON has no NaN or infinity; ipykernel sends them as null too.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any) -> str:
    try:
        return json.dumps(value, default=_default, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), default=_default, allow_nan=False)
