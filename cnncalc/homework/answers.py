"""The answers file: `layer: {quantity: value}` plus optional `totals`, read with positions."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..arith import ArithError, evaluate_int
from ..errors import CnnError, Where, did_you_mean
from ..i18n import _, tr
from ..quoting import cut, shown
from ..yaml_source import MarkedDict, load_yaml_text, read_stdin_text, read_text_file, where_of_key

QUANTITIES = ("output", "params", "non_trainable", "connections", "macs", "rf")
TOTAL_QUANTITIES = ("params", "non_trainable", "connections", "macs")
TOTALS_KEY = "totals"


@dataclass(frozen=True)
class Claim:
    layer: str  # a layer name, or "totals"
    quantity: str
    raw: object  # as written, for the report
    value: tuple[int, ...] | int | None  # output/rf: a tuple; counts: an int; None: not answered
    where: Where | None
    dims_textbook: bool = False  # output written as "28x28x6": H×W×C is accepted too


_DIMS = re.compile(r"\s*[x×X]\s*")
# A scalar as written, at the position YAML gives for it: a number YAML would read its own way
# (0156 as octal 110, 122.000 as the float 122.0, 1:30 as 90) is read from this text instead.
_NUMBER_TEXT = re.compile(r"[-+]?[0-9.][^\s#,\]}]*")
_KEY_TEXT = re.compile(r"[^\s:#,\[\]{}]+")
MAX_ERRORS_SHOWN = 20  # the CLI lists this many unreadable answers, then how many more


class AnswerErrors(CnnError):
    """Every unreadable answer of one file, each a CnnError with its own file:line:col; `str()`
    is one line per answer. The first one is also this error's message and position."""

    def __init__(self, errors: list[CnnError]):
        super().__init__(errors[0].message, errors[0].where, errors[0].layer)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def _written(lines: list[str], where: Where | None, pattern: re.Pattern) -> str | None:
    """The text at `where` in the file that matches `pattern`, or None."""
    if where is None or where.line is None or where.column is None or where.line > len(lines):
        return None
    m = pattern.match(lines[where.line - 1], where.column - 1)
    return m.group(0) if m else None


def _accepted() -> str:
    return _("accepted: 122304, 122,304, 122_304 or arithmetic with + - * / ( ) such as (5*5+1)*6")


_SUFFIX = {"k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3}


def _problem(text: str, why: str) -> str:
    """What is wrong with a number as written, naming the usual slips."""
    raw = cut(text)
    if re.search(r"\d\s+\d", text):
        return _("'{raw}' has a space inside a number (spaces do not separate thousands)").format(raw=raw)
    if "^" in text or "**" in text:
        return _("'{raw}' has a power, ^ or **, which is not accepted (write 5*5 for 5²)").format(raw=raw)
    thousands = re.fullmatch(r"\s*([-+]?\d{1,3})\.(\d{3})\s*", text)
    if thousands:
        return _("'{raw}' has a decimal point (counts are whole numbers; for thousands write {alt})").format(
            raw=raw, alt=f"{thousands.group(1)},{thousands.group(2)}")
    if re.search(r"\.\d", text):
        return _("'{raw}' has a decimal point (counts and sizes are whole numbers)").format(raw=raw)
    suffixed = re.fullmatch(r"\s*(\d{1,6})\s*([kKMG])\s*", text)
    if suffixed:
        return _("'{raw}' has a letter after a number (write {alt})").format(
            raw=raw, alt=f"{int(suffixed.group(1)) * _SUFFIX[suffixed.group(2)]:,}")
    if re.search(r"\d\s*[A-Za-z]", text):
        return _("'{raw}' has a letter after a number (60k and 1e3 are not accepted)").format(raw=raw)
    # `why` (the arithmetic parser's message) quotes the text again: here its start is enough
    return _("cannot read '{raw}' as a number: {why}").format(raw=cut(text, 20), why=why)


def _number(raw: object, where: Where | None, written: str | None = None) -> int:
    """A whole number from a value; `written` is its text in the file when YAML read it as a number."""
    if isinstance(raw, bool) or raw is None or isinstance(raw, (list, dict)):
        raise CnnError(_("expected a whole number or an arithmetic expression, got '{raw}'").format(raw=cut(raw))
                       + "; " + _accepted(), where)
    text = written if isinstance(raw, (int, float)) and written else str(raw)
    try:
        return evaluate_int(text)
    except ArithError as exc:
        raise CnnError(_problem(text, tr(exc.args[0])) + "; " + _accepted(), where) from None


def _dims(raw: object, where: Where | None, written: str | None) -> tuple[tuple[int, ...], bool]:
    """A shape: [6, 28, 28], '6x28x28', '28×28×6' or a single number (a vector)."""
    if isinstance(raw, list):
        items = getattr(raw, "item_where", [])
        return tuple(_number(v, items[i] if i < len(items) else where) for i, v in enumerate(raw)), False
    if isinstance(raw, str) and _DIMS.search(raw):
        return tuple(_number(p, where) for p in _DIMS.split(raw.strip())), True
    return (_number(raw, where, written),), False


def _claim(layer: str, quantity: str, raw: object, where: Where | None, written: str | None) -> Claim:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Claim(layer, quantity, None, None, where)  # a question left blank: not answered
    if quantity == "output":
        dims, textbook = _dims(raw, where, written)
        return Claim(layer, quantity, raw, dims, where, textbook)
    if quantity == "rf":
        dims, _t = _dims(raw, where, written)
        if len(dims) == 1:
            dims = dims * 2
        if len(dims) != 2:
            raise CnnError(_("a receptive field is one size or two (height, width), got '{raw}'").format(
                raw=cut(raw)), where)
        return Claim(layer, quantity, raw, dims, where)
    return Claim(layer, quantity, raw, _number(raw, where, written), where)


def _unknown_layer(layer: object, written: str | None, layer_names: list[str]) -> str:
    name = str(layer) if written is None else written
    if written is not None and written != str(layer) and written in layer_names:
        # `Off:` or `NULL:` is YAML for false or null, not the layer's name.
        text = _("YAML reads {written} as {value}, not as a name; put the layer's name in quotes: \"{written}\"")
        return text.format(written=cut(written), value=shown(layer))
    return _("there is no layer '{layer}' in this network; {hint}").format(
        layer=cut(name), hint=tr(did_you_mean(name, layer_names + [TOTALS_KEY])))


def parse_answers(text: str, source: str, layer_names: list[str] | None = None) -> list[Claim]:
    """Claims in file order; a blank value (a question of the template left blank) is a claim with
    `value` None, graded as not answered.

    With `layer_names`, an unknown layer is an error with a "did you mean" suggestion. Every
    unreadable answer is reported at once: AnswerErrors holds one error per answer.
    """
    data = load_yaml_text(text, source)
    if data is None:
        return []
    if not isinstance(data, dict):
        raise CnnError(_("an answers file is a mapping of layer names to their values"),
                       getattr(data, "where", Where(source)))
    lines = text.splitlines()
    claims: list[Claim] = []
    errors: list[CnnError] = []
    for key, values in data.items():
        key_where = data.key_where.get(key) if isinstance(data, MarkedDict) else Where(source)
        layer = str(key)
        allowed = TOTAL_QUANTITIES if layer == TOTALS_KEY else QUANTITIES
        written = None if isinstance(key, str) else _written(lines, key_where, _KEY_TEXT)
        misread = written not in (None, layer)  # `Off:` is YAML's false, `012:` its 10
        if layer_names is not None and layer != TOTALS_KEY and (layer not in layer_names or misread):
            errors.append(CnnError(_unknown_layer(key, written, layer_names), key_where))
            continue
        if values is None:
            continue
        if not isinstance(values, dict):
            errors.append(CnnError(_("'{layer}' needs a mapping of quantities ({allowed})").format(
                layer=cut(layer), allowed=", ".join(allowed)), where_of_key(data, key, key_where)))
            continue
        for quantity, raw in values.items():
            q_where = values.key_where.get(quantity) if isinstance(values, MarkedDict) else key_where
            if quantity not in allowed:
                hint = tr(did_you_mean(str(quantity), allowed))
                errors.append(CnnError(_("unknown quantity '{q}'; {hint}").format(q=cut(quantity), hint=hint),
                                       q_where))
                continue
            where = where_of_key(values, quantity, q_where)
            try:
                claims.append(_claim(layer, quantity, raw, where, _written(lines, where, _NUMBER_TEXT)))
            except CnnError as exc:
                errors.append(exc)
    if errors:
        raise AnswerErrors(errors)
    return claims


def parse_answers_file(path: str | Path, layer_names: list[str] | None = None) -> list[Claim]:
    """Answers from a file, or from standard input when `path` is `-`; either is read by the one
    bounded reader (a regular file, at most 256 KiB, UTF-8), so `/dev/zero` or a FIFO is refused."""
    if str(path) == "-":
        return parse_answers(read_stdin_text(), "<stdin>", layer_names)
    return parse_answers(read_text_file(path), str(path), layer_names)
