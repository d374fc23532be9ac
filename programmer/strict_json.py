"""Strict JSON parsing, shared by program files, drug libraries and wire payloads.

Python's json module accepts things a safety-critical reader must not: a key given twice (which value
wins is a silent guess), NaN and Infinity literals, and numbers such as 1e999 that overflow to infinity.
Here each of those is a ValueError that says what was wrong.
"""

from __future__ import annotations

import json
import math


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large to be a number")
    return value


def loads(text: str, allow_non_finite: bool = False) -> object:
    """Parse JSON text strictly. Raises ValueError (json.JSONDecodeError for syntax) or RecursionError.

    ``allow_non_finite`` passes NaN/Infinity/overflow through as floats, for callers whose models reject
    them with a message naming the field; wire payloads keep the default and refuse them outright.
    """
    if allow_non_finite:
        return json.loads(text, object_pairs_hook=_unique_keys)
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant, parse_float=_finite_float)
