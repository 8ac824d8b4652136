"""The columns each view shows. Cells are formatted here; nothing is computed."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable

from ..records import LayerRecord, is_binary


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def pair_text(pair: tuple) -> str:
    a, b = (_frac(x) for x in pair)
    return a if a == b else f"{a}×{b}"


def _frac(x: Any) -> str:
    if x is None:  # not defined here (an unaligned field's start, an undefined field)
        return "—"
    if isinstance(x, Fraction) and x.denominator != 1:
        # Exact: halves and other short binary fractions as decimals (2.5, 0.25), the rest as p/q (2/5).
        if is_binary(x) and x.denominator <= 1 << 10:
            return format(Decimal(x.numerator) / Decimal(x.denominator), "f")
        return f"{x.numerator}/{x.denominator}"
    return str(int(x)) if isinstance(x, Fraction) else str(x)


def rf_text(r: LayerRecord) -> str:
    """The RF cell: size, with (global), (max, unaligned) or — where no field is defined."""
    rf = r.rf
    if rf.undefined:
        return "—"
    text = pair_text(rf.size)
    if rf.is_global:
        return f"{text} (global)"
    if any(rf.global_axes):
        text += f" (global {'H' if rf.global_axes[0] else 'W'})"
    if not rf.aligned:
        return f"{text} (max, unaligned)"
    if not rf.uniform:  # after upsampling: the field's size depends on the unit
        return f"{text} (max)"
    return text


@dataclass(frozen=True)
class Column:
    key: str  # CSV header and JSON-ish name
    header: str  # table header
    text: Callable[[LayerRecord], str]
    raw: Callable[[LayerRecord], Any]  # value for CSV
    numeric: bool = False
    short: str = ""  # table header when the full headers do not fit the terminal ("": the same)


def _int_col(key: str, header: str, short: str = "") -> Column:
    return Column(key, header, lambda r: f"{getattr(r, key):,}", lambda r: getattr(r, key), True, short)


NAME = Column("name", "Layer", lambda r: r.name, lambda r: r.name)
TYPE = Column("type", "Type", lambda r: r.type, lambda r: r.type)
OUTPUT = Column("output", "Output", lambda r: shape_text(r.output), lambda r: shape_text(r.output))
PARAMS = _int_col("params", "Params")
NON_TRAINABLE = _int_col("non_trainable", "Non-trainable", "Non-train")
CONNECTIONS = _int_col("connections", "Connections", "Conns")
MACS = _int_col("macs", "MACs")
RF_SIZE = Column("rf", "RF", rf_text, rf_text)  # CSV keeps the (global)/(unaligned) marks
JUMP = Column("jump", "Jump", lambda r: pair_text(r.rf.jump), lambda r: pair_text(r.rf.jump), True)
START = Column("start", "Start", lambda r: pair_text(r.rf.start), lambda r: pair_text(r.rf.start), True)
PAD = Column("eff_padding", "Eff. pad", lambda r: pair_text(r.rf.pad), lambda r: pair_text(r.rf.pad), True)

VIEWS: dict[str, list[Column]] = {
    "params": [NAME, TYPE, OUTPUT, PARAMS, CONNECTIONS],
    "rf": [NAME, TYPE, OUTPUT, RF_SIZE, JUMP, START, PAD],
    "summary": [NAME, TYPE, OUTPUT, PARAMS, NON_TRAINABLE, CONNECTIONS, MACS, RF_SIZE, JUMP],
}

# Too wide for the terminal, a view hides these columns, first the first; the others (the name,
# and the numbers the view is about) are always shown whole.
HIDE_ORDER: dict[str, list[Column]] = {
    "params": [TYPE, CONNECTIONS],
    "rf": [TYPE, PAD, START, JUMP, OUTPUT],
    "summary": [JUMP, NON_TRAINABLE, TYPE, RF_SIZE, MACS, CONNECTIONS],
}
