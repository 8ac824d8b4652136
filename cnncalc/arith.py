"""A tiny, safe arithmetic parser (no eval).

Accepts integers, + - − * × · / ( ), and the ⌊ ⌋ ⌈ ⌉ brackets and max(a, b) that the
derivations print, plus named variables when a mapping is given (block arguments). Numbers may
carry thousands separators: `122,304` or `122_304`. Results are exact Fractions.
"""
from __future__ import annotations

from fractions import Fraction
import math
import re

from .i18n import msg

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
            raise ArithError(msg("unexpected '{tok}' in '{text}'", tok=text[pos:].strip()[:10], text=text))
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

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, expected: str | None = None):
        kind, val = self.peek()
        if kind is None or (expected is not None and val != expected):
            want = f"'{expected}'" if expected else "more"
            raise ArithError(msg("'{text}' ends early: expected {what}", text=self.text, what=want))
        self.i += 1
        return kind, val

    def parse(self) -> Fraction:
        v = self.sum()
        if self.i != len(self.toks):
            raise ArithError(msg("unexpected '{tok}' in '{text}'", tok=self.toks[self.i][1], text=self.text))
        return v

    def sum(self) -> Fraction:
        v = self.term()
        while self.peek()[1] in ("+", "-", "−"):
            op = self.take()[1]
            rhs = self.term()
            v = v + rhs if op == "+" else v - rhs
        return v

    def term(self) -> Fraction:
        v = self.unary()
        while self.peek()[1] in ("*", "×", "·", "/"):
            op = self.take()[1]
            rhs = self.unary()
            if op == "/":
                if rhs == 0:
                    raise ArithError(f"division by zero in '{self.text}'")
                v = v / rhs
            else:
                v = v * rhs
        return v

    def unary(self) -> Fraction:
        if self.peek()[1] in ("-", "−"):
            self.take()
            return -self.unary()
        if self.peek()[1] == "+":
            self.take()
            return self.unary()
        return self.atom()

    def atom(self) -> Fraction:
        kind, val = self.take()
        if kind == "num":
            return Fraction(int(val.replace(",", "").replace("_", "")))
        if kind == "name":
            if val == "max" and self.peek()[1] == "(":
                self.take("(")
                a = self.sum()
                self.take(",")
                b = self.sum()
                self.take(")")
                return max(a, b)
            if val not in self.names:
                raise ArithError(msg("unknown name '{name}' in '{text}'", name=val, text=self.text))
            return Fraction(self.names[val])
        closing = {"(": ")", "⌊": "⌋", "⌈": "⌉"}
        if val in closing:
            v = self.sum()
            self.take(closing[val])
            if val == "⌊":
                return Fraction(math.floor(v))
            if val == "⌈":
                return Fraction(math.ceil(v))
            return v
        raise ArithError(msg("unexpected '{tok}' in '{text}'", tok=val, text=self.text))


def evaluate(text: str, names: dict | None = None) -> Fraction:
    """Evaluate an arithmetic expression exactly; raises ArithError on anything else."""
    if not text or not text.strip():
        raise ArithError("empty expression")
    return _Parser(text, names or {}).parse()


def evaluate_int(text: str, names: dict | None = None) -> int:
    v = evaluate(text, names)
    if v.denominator != 1:
        raise ArithError(f"'{text}' is {v}, not a whole number")
    return int(v)
