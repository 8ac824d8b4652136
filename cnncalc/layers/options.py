"""Parsers for layer options. Each returns the normalised value or raises ValueError saying what is right."""
from __future__ import annotations

from typing import Any

from ..quoting import shown


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def positive_int(v: Any) -> int:
    if not _is_int(v) or v < 1:
        raise ValueError(f"must be a whole number ≥ 1, got {shown(v)}")
    return v


def pair(v: Any) -> tuple[int, int]:
    """`5` means (5, 5); `[1, 7]` is (height, width)."""
    if _is_int(v) and v >= 1:
        return (v, v)
    if isinstance(v, list) and len(v) == 2 and all(_is_int(x) and x >= 1 for x in v):
        return (v[0], v[1])
    raise ValueError(f"must be a whole number ≥ 1 or [height, width], got {shown(v)}")


def padding(v: Any):
    """`same`, `valid`, p, [ph, pw] or [top, bottom, left, right] → 'same' or (t, b, l, r)."""
    if v == "same":
        return "same"
    if v == "valid":
        return (0, 0, 0, 0)
    if _is_int(v) and v >= 0:
        return (v, v, v, v)
    if isinstance(v, list) and all(_is_int(x) and x >= 0 for x in v):
        if len(v) == 2:
            return (v[0], v[0], v[1], v[1])
        if len(v) == 4:
            return tuple(v)
    raise ValueError(
        f"must be same, valid, a whole number ≥ 0, [ph, pw] or [top, bottom, left, right], got {shown(v)}"
    )


def boolean(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise ValueError(f"must be true or false, got {shown(v)}")


def number(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    raise ValueError(f"must be a number, got {shown(v)}")


def probability(v: Any) -> float:
    x = number(v)
    if not 0 <= x < 1:
        raise ValueError(f"must be a number from 0 up to (not including) 1, got {shown(v)}")
    return x


def unit_interval(v: Any) -> float:
    x = number(v)
    if not 0 <= x <= 1:
        raise ValueError(f"must be a number from 0 to 1, got {shown(v)}")
    return x


def connection_table(v: Any) -> tuple[tuple[int, ...], ...]:
    """One list per output map: the input maps it reads (0-based), as in LeNet-5's Table I."""
    if not isinstance(v, list) or not v:
        raise ValueError("must be a list with, for each output map, the list of input maps it reads")
    rows = []
    for i, row in enumerate(v):
        if not isinstance(row, list) or not row or not all(_is_int(x) and x >= 0 for x in row):
            raise ValueError(f"row {i} must be a non-empty list of input map indices (0-based), got {shown(row)}")
        if len(set(row)) != len(row):
            raise ValueError(f"row {i} names an input map twice: {shown(row)}")
        rows.append(tuple(row))
    return tuple(rows)


def _nested_numbers(v: Any) -> bool:
    if isinstance(v, list):
        return bool(v) and all(_nested_numbers(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def nested_shape(v: Any) -> tuple[int, ...] | None:
    """The shape of a rectangular nested list ([[1, 2], [3, 4]] → (2, 2)); None if ragged."""
    if not isinstance(v, list):
        return ()
    shapes = {nested_shape(x) for x in v}
    if len(shapes) != 1 or None in shapes:
        return None
    return (len(v), *shapes.pop())


def inline_weights(v: Any) -> dict:
    """Inline weights: a nested list (the weight) or {weight: [...], bias: [...]}; shapes are checked
    by the forward pass, which knows the input."""
    if isinstance(v, dict):
        extra = set(v) - {"weight", "bias"}
        if extra or "weight" not in v:
            raise ValueError("must be a nested list or a mapping with `weight` (and optional `bias`), "
                             f"got keys {shown(sorted(map(str, v)))}")
        out = {"weight": v["weight"], **({"bias": v["bias"]} if "bias" in v else {})}
    else:
        out = {"weight": v}
    for key, value in out.items():
        if not _nested_numbers(value):
            raise ValueError(f"{key} must be a nested list of numbers, got {shown(value)}")
    return out


def choice(*allowed: str):
    def parse(v: Any) -> str:
        if v in allowed:
            return v
        raise ValueError(f"must be one of {', '.join(allowed)}, got {shown(v)}")
    return parse
