"""A tiny, safe arithmetic parser (no eval).

Accepts integers, + - − * × · / ( ), and the ⌊ ⌋ ⌈ ⌉ brackets and max(a, b) that the
derivations print, plus named variables when a mapping is given (block arguments). Numbers may
carry thousands separators: `122,304` or `122_304`. Results are exact Fractions.

Every number, written or computed on the way, is held to MAX_WHOLE, and brackets to MAX_NESTING
levels: an expression is user input, and a 5,000-digit number or 300 nested brackets must give a
message, not Python's int-to-text limit or a RecursionError.
"""
from __future__ import annotations

from fractions import Fraction
import math
import re

from .i18n import msg
from .quoting import cut

# The largest 64-bit integer: NumPy's and PyTorch's sizes are int64, and nothing cnncalc counts
# comes near it. Also the bound on whole numbers in YAML (yaml_source).
MAX_WHOLE = 2**63 - 1
_MAX_DIGITS = len(str(MAX_WHOLE))
MAX_NESTING = 50  # brackets and max( ) inside each other; printed derivations use a handful

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d{1,3}(?:,\d{3})+(?!\d)|\d[\d_]*)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+−*×·/()⌊⌋⌈⌉,]))"
)


class ArithError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ArithError(msg("unexpected '{tok}' in '{text}'", tok=text[pos:].strip()[:10], text=cut(text)))
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str, names: dict):
        self.text, self.names = text, names
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0  # brackets open at the current token

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, expected: str | None = None):
        kind, val = self.peek()
        if kind is None or (expected is not None and val != expected):
            want = f"'{expected}'" if expected else "more"
            raise ArithError(msg("'{text}' ends early: expected {what}", text=cut(self.text), what=want))
        self.i += 1
        return kind, val

    def parse(self) -> Fraction:
        v = self.sum()
        if self.i != len(self.toks):
            raise ArithError(msg("unexpected '{tok}' in '{text}'", tok=cut(self.toks[self.i][1]),
                                 text=cut(self.text)))
        return v

    def sum(self) -> Fraction:
        v = self.term()
        while self.peek()[1] in ("+", "-", "−"):
            op = self.take()[1]
            rhs = self.term()
            v = self.bounded(v + rhs if op == "+" else v - rhs)
        return v

    def term(self) -> Fraction:
        v = self.unary()
        while self.peek()[1] in ("*", "×", "·", "/"):
            op = self.take()[1]
            rhs = self.unary()
            if op == "/":
                if rhs == 0:
                    raise ArithError(f"division by zero in '{cut(self.text)}'")
                v = self.bounded(v / rhs)
            else:
                v = self.bounded(v * rhs)
        return v

    def bounded(self, v: Fraction) -> Fraction:
        """`v`, unless it (or its denominator) has grown past MAX_WHOLE."""
        if abs(v.numerator) > MAX_WHOLE or v.denominator > MAX_WHOLE:
            raise ArithError(f"'{cut(self.text)}' grows past 2^63 − 1 ({MAX_WHOLE:,}), "
                             "larger than any count cnncalc makes")
        return v

    def unary(self) -> Fraction:
        """Signs in a loop, not by recursion: `------5` is as deep as `5`."""
        negative = False
        while self.peek()[1] in ("-", "−", "+"):
            negative ^= self.take()[1] != "+"
        v = self.atom()
        return -v if negative else v

    def atom(self) -> Fraction:
        kind, val = self.take()
        if kind == "num":
            return self.number(val)
        if kind == "name":
            if val == "max" and self.peek()[1] == "(":
                self.take("(")
                self.open_bracket()
                a = self.sum()
                self.take(",")
                b = self.sum()
                self.take(")")
                self.depth -= 1
                return max(a, b)
            if val not in self.names:
                raise ArithError(msg("unknown name '{name}' in '{text}'", name=cut(val), text=cut(self.text)))
            return Fraction(self.names[val])
        closing = {"(": ")", "⌊": "⌋", "⌈": "⌉"}
        if val in closing:
            self.open_bracket()
            v = self.sum()
            self.take(closing[val])
            self.depth -= 1
            if val == "⌊":
                return Fraction(math.floor(v))
            if val == "⌈":
                return Fraction(math.ceil(v))
            return v
        raise ArithError(msg("unexpected '{tok}' in '{text}'", tok=val, text=cut(self.text)))

    def number(self, written: str) -> Fraction:
        """A written number; its digits are counted before int() reads them."""
        digits = written.replace(",", "").replace("_", "").lstrip("0") or "0"
        if len(digits) > _MAX_DIGITS or int(digits) > MAX_WHOLE:
            raise ArithError(f"{cut(written, 20)} is too large: whole numbers end at 2^63 − 1 ({MAX_WHOLE:,})")
        return Fraction(int(digits))

    def open_bracket(self) -> None:
        """One more level of brackets, within MAX_NESTING (each level is a few Python frames)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ArithError(f"'{cut(self.text)}' nests brackets more than {MAX_NESTING} deep; "
                             "write it with fewer brackets")


def evaluate(text: str, names: dict | None = None) -> Fraction:
    """Evaluate an arithmetic expression exactly; raises ArithError on anything else."""
    if not text or not text.strip():
        raise ArithError("empty expression")
    return _Parser(text, names or {}).parse()


def evaluate_int(text: str, names: dict | None = None) -> int:
    v = evaluate(text, names)
    if v.denominator != 1:
        raise ArithError(f"'{cut(text)}' is {v}, not a whole number")
    return int(v)
