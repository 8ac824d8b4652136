"""Arithmetic that remembers how it was written.

Every count the engine reports is built from these expressions, so the number and the worked
derivation shown to a student ("(5·5·1 + 1)·6") can never disagree: the text is rendered from
the very tree that is evaluated. `cnncalc.arith.evaluate` parses the rendered text back.
"""
from __future__ import annotations

from fractions import Fraction
import math

Number = int | Fraction

_PRECEDENCE = {"+": 1, "−": 1, "·": 2, "/": 2}


class Expr:
    precedence = 100

    def value(self) -> Fraction:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def int_value(self) -> int:
        v = self.value()
        if v.denominator != 1:
            raise ValueError(f"{self.text()} is not a whole number")
        return int(v)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Expr({self.text()} = {self.value()})"

    # Operators accept plain ints so layer code reads like the formula in docs/design.md.
    def __add__(self, other): return Op("+", self, lit(other))
    def __radd__(self, other): return Op("+", lit(other), self)
    def __sub__(self, other): return Op("−", self, lit(other))
    def __rsub__(self, other): return Op("−", lit(other), self)
    def __mul__(self, other): return Op("·", self, lit(other))
    def __rmul__(self, other): return Op("·", lit(other), self)
    def __truediv__(self, other): return Op("/", self, lit(other))
    def __rtruediv__(self, other): return Op("/", lit(other), self)


# Fraction(int) costs about 1 µs (its constructor checks every numeric type); layers write the same
# small integers (kernel sizes, strides, channel counts) thousands of times, so each is made once.
_INT_FRACTIONS: dict[int, Fraction] = {}


class Num(Expr):
    def __init__(self, v: Number):
        if type(v) is int:
            f = _INT_FRACTIONS.get(v)
            if f is None:
                f = Fraction(v)
                if len(_INT_FRACTIONS) < 65536:
                    _INT_FRACTIONS[v] = f
            self.v = f
        else:
            self.v = Fraction(v)

    def value(self) -> Fraction:
        return self.v

    def text(self) -> str:
        if self.v.denominator == 1:
            return str(self.v.numerator)
        return f"{self.v.numerator}/{self.v.denominator}"


class Op(Expr):
    def __init__(self, op: str, left: Expr, right: Expr):
        self.op, self.left, self.right = op, left, right
        self.precedence = _PRECEDENCE[op]

    def value(self) -> Fraction:
        a, b = self.left.value(), self.right.value()
        if self.op == "+":
            return a + b
        if self.op == "−":
            return a - b
        if self.op == "·":
            return a * b
        return a / b

    def text(self) -> str:
        left = self.left.text()
        if self.left.precedence < self.precedence:
            left = f"({left})"
        right = self.right.text()
        # Right operands of − and / need brackets at equal precedence: a − (b + c), a/(b·c).
        tight = self.op in ("−", "/")
        if self.right.precedence < self.precedence or (tight and self.right.precedence == self.precedence):
            right = f"({right})"
        if self.op in ("+", "−"):
            return f"{left} {self.op} {right}"
        return f"{left}{self.op}{right}"


class Floor(Expr):
    def __init__(self, inner: Expr):
        self.inner = inner

    def value(self) -> Fraction:
        return Fraction(math.floor(self.inner.value()))

    def text(self) -> str:
        return f"⌊{self.inner.text()}⌋"


class Ceil(Expr):
    def __init__(self, inner: Expr):
        self.inner = inner

    def value(self) -> Fraction:
        return Fraction(math.ceil(self.inner.value()))

    def text(self) -> str:
        return f"⌈{self.inner.text()}⌉"


def lit(v) -> Expr:
    return v if isinstance(v, Expr) else Num(v)


def product(factors) -> Expr:
    """a·b·c…; an empty product is 1."""
    factors = [lit(f) for f in factors]
    if not factors:
        return Num(1)
    out = factors[0]
    for f in factors[1:]:
        out = out * f
    return out


def total(terms) -> Expr:
    """a + b + c…; an empty sum is 0."""
    terms = [lit(t) for t in terms]
    if not terms:
        return Num(0)
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


ZERO = Num(0)
