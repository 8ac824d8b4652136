"""Arithmetic that remembers how it was written.

Every count the engine reports is built from these expressions, so the number and the worked
derivation shown to a student ("(5·5·1 + 1)·6") can never disagree: the text is rendered from
the very tree that is evaluated. `cnncalc.arith.evaluate` parses the rendered text back.

Each node computes its value when it is made, from its operands' values (issue 14: evaluating
trees on demand, with Fractions throughout, was a large part of analysing deep networks). Values
are exact: Python ints while they are whole, a Fraction only where a division leaves a remainder
(which a Floor or Ceil usually brings back to an int). The text is rendered only when asked for:
most runs (`params --format json`, tables) never show a derivation.
"""
from __future__ import annotations

from fractions import Fraction
import math

Number = int | Fraction

_PRECEDENCE = {"+": 1, "−": 1, "·": 2, "/": 2}


def _exact(v) -> Number:
    """`v` as an int when it is whole, else as a Fraction (a float is read exactly)."""
    if type(v) is int:
        return v
    f = v if type(v) is Fraction else Fraction(v)
    return f.numerator if f.denominator == 1 else f


def _divide(a: Number, b: Number) -> Number:
    """a/b exactly: an int when b divides a, else a Fraction (never a float)."""
    if type(a) is int and type(b) is int:
        q, r = divmod(a, b)
        return q if r == 0 else Fraction(a, b)
    return _exact(Fraction(a) / b)


class Expr:
    __slots__ = ("v",)
    precedence = 100
    v: Number  # the exact value, computed when the node is made

    def value(self) -> Number:
        return self.v

    def text(self) -> str:
        raise NotImplementedError

    def int_value(self) -> int:
        v = self.v
        if type(v) is int:
            return v
        if v.denominator != 1:
            raise ValueError(f"{self.text()} is not a whole number")
        return int(v)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Expr({self.text()} = {self.v})"

    # Operators accept plain ints so layer code reads like the formula in docs/design.md.
    def __add__(self, other): return Op("+", self, lit(other))
    def __radd__(self, other): return Op("+", lit(other), self)
    def __sub__(self, other): return Op("−", self, lit(other))
    def __rsub__(self, other): return Op("−", lit(other), self)
    def __mul__(self, other): return Op("·", self, lit(other))
    def __rmul__(self, other): return Op("·", lit(other), self)
    def __truediv__(self, other): return Op("/", self, lit(other))
    def __rtruediv__(self, other): return Op("/", lit(other), self)


class Num(Expr):
    __slots__ = ()

    def __init__(self, v: Number):
        self.v = _exact(v)

    def text(self) -> str:
        v = self.v
        if type(v) is int:
            return str(v)
        return f"{v.numerator}/{v.denominator}"


class Op(Expr):
    __slots__ = ("op", "left", "right", "precedence")

    def __init__(self, op: str, left: Expr, right: Expr):
        self.op, self.left, self.right = op, left, right
        self.precedence = _PRECEDENCE[op]
        a, b = left.v, right.v
        if op == "+":
            v = a + b
        elif op == "−":
            v = a - b
        elif op == "·":
            v = a * b
        else:
            v = _divide(a, b)
        # A sum or product of Fractions can come out whole (1/2·2): kept as an int from then on.
        self.v = v if type(v) is int else _exact(v)

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
    __slots__ = ("inner",)

    def __init__(self, inner: Expr):
        self.inner = inner
        self.v = math.floor(inner.v)

    def text(self) -> str:
        return f"⌊{self.inner.text()}⌋"


class Ceil(Expr):
    __slots__ = ("inner",)

    def __init__(self, inner: Expr):
        self.inner = inner
        self.v = math.ceil(inner.v)

    def text(self) -> str:
        return f"⌈{self.inner.text()}⌉"


# Layers write the same small integers (kernel sizes, strides, channel counts, the 1 of a bias)
# over and over; a Num never changes once made, so each of these is made once and shared.
_SMALL_NUMS = {n: Num(n) for n in range(-1, 1025)}


def lit(v) -> Expr:
    if type(v) is int:
        n = _SMALL_NUMS.get(v)
        return n if n is not None else Num(v)
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
