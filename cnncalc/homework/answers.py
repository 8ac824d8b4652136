"""The answers file: `layer: {quantity: value}` plus optional `totals`, read with positions."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..arith import ArithError, evaluate_int
from ..errors import CnnError, Where, did_you_mean
from ..i18n import _, tr
from ..yaml_source import MarkedDict, load_yaml_text, read_stdin_text, read_text_file, where_of_key

QUANTITIES = ("output", "params", "non_trainable", "connections", "macs", "rf")
TOTAL_QUANTITIES = ("params", "non_trainable", "connections", "macs")
TOTALS_KEY = "totals"


@dataclass(frozen=True)
class Claim:
    layer: str  # a layer name, or "totals"
    quantity: str
    raw: object  # as written, for the report
    value: tuple[int, ...] | int  # output/rf: a tuple; counts: an int
    where: Where | None
    dims_textbook: bool = False  # output written as "28x28x6": H×W×C is accepted too


_DIMS = re.compile(r"\s*[x×X]\s*")


def _number(raw: object, where: Where | None) -> int:
    if isinstance(raw, bool) or raw is None:
        raise CnnError(_("expected a whole number or an arithmetic expression, got '{raw}'").format(raw=raw), where)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise CnnError(_("'{raw}' is not a whole number").format(raw=raw), where)
    try:
        return evaluate_int(str(raw))
    except ArithError as exc:
        why = tr(exc.args[0])
        raise CnnError(_("cannot read '{raw}' as a number: {why}").format(raw=raw, why=why), where) from None


def _dims(raw: object, where: Where | None) -> tuple[tuple[int, ...], bool]:
    """A shape: [6, 28, 28], '6x28x28', '28×28×6' or a single number (a vector)."""
    if isinstance(raw, list):
        items = getattr(raw, "item_where", [])
        return tuple(_number(v, items[i] if i < len(items) else where) for i, v in enumerate(raw)), False
    if isinstance(raw, str) and _DIMS.search(raw):
        return tuple(_number(p, where) for p in _DIMS.split(raw.strip())), True
    return (_number(raw, where),), False


def _claim(layer: str, quantity: str, raw: object, where: Where | None) -> Claim:
    if quantity == "output":
        dims, textbook = _dims(raw, where)
        return Claim(layer, quantity, raw, dims, where, textbook)
    if quantity == "rf":
        dims, _t = _dims(raw, where)
        if len(dims) == 1:
            dims = dims * 2
        if len(dims) != 2:
            raise CnnError(_("a receptive field is one size or two (height, width), got '{raw}'").format(raw=raw),
                           where)
        return Claim(layer, quantity, raw, dims, where)
    return Claim(layer, quantity, raw, _number(raw, where), where)


def parse_answers(text: str, source: str, layer_names: list[str] | None = None) -> list[Claim]:
    """Claims in file order. Blank values (a template not filled in) are skipped.

    With `layer_names`, an unknown layer is an error with a "did you mean" suggestion.
    """
    data = load_yaml_text(text, source)
    if data is None:
        return []
    if not isinstance(data, dict):
        raise CnnError(_("an answers file is a mapping of layer names to their values"),
                       getattr(data, "where", Where(source)))
    claims: list[Claim] = []
    for layer, values in data.items():
        key_where = data.key_where.get(layer) if isinstance(data, MarkedDict) else Where(source)
        layer = str(layer)
        allowed = TOTAL_QUANTITIES if layer == TOTALS_KEY else QUANTITIES
        if layer != TOTALS_KEY and layer_names is not None and layer not in layer_names:
            raise CnnError(_("there is no layer '{layer}' in this network; {hint}").format(
                layer=layer, hint=tr(did_you_mean(layer, layer_names + [TOTALS_KEY]))), key_where)
        if values is None:
            continue
        if not isinstance(values, dict):
            raise CnnError(_("'{layer}' needs a mapping of quantities ({allowed})").format(
                layer=layer, allowed=", ".join(allowed)), where_of_key(data, layer, key_where))
        for quantity, raw in values.items():
            q_where = values.key_where.get(quantity) if isinstance(values, MarkedDict) else key_where
            if quantity not in allowed:
                hint = tr(did_you_mean(quantity, allowed))
                raise CnnError(_("unknown quantity '{q}'; {hint}").format(q=quantity, hint=hint),
                               q_where)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            claims.append(_claim(layer, quantity, raw, where_of_key(values, quantity, q_where)))
    return claims


def parse_answers_file(path: str | Path, layer_names: list[str] | None = None) -> list[Claim]:
    """Answers from a file, or from standard input when `path` is `-`; either is read by the one
    bounded reader (a regular file, at most 256 KiB, UTF-8), so `/dev/zero` or a FIFO is refused."""
    if str(path) == "-":
        return parse_answers(read_stdin_text(), "<stdin>", layer_names)
    return parse_answers(read_text_file(path), str(path), layer_names)
