"""Receptive fields, bottom-up through the graph and top-down for one layer (docs/design.md § Receptive field).

Convention: index coordinates. Input pixel i has its centre at i, so the input has r = 1, j = 1,
start = 0; `start` of a layer is the input coordinate of the centre of its first unit's field.
Per axis, through a window of effective kernel k', stride s and leading padding pad_lo:

    r_out = r_in + (k'−1)·j_in,   j_out = j_in·s,   start_out = start_in + ((k'−1)/2 − pad_lo)·j_in

and the effective padding is P = (r−1)/2 − start.

Every axis is computed on its own. Where paths merge (add, concat) each axis keeps the set of
distinct paths that reach it (`Path`): paths with the same jump whose intervals nest collapse into
the larger one, so aligned paths leave one. When more than one remains, the field is *not aligned*:
unit u's field is the union of the paths' intervals for u, and its span depends on u. The engine
then reports the largest span and the unit that has it, computed exactly over every output unit
(Araujo et al., "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019, refuse
instead; an exact per-unit answer is never a bound that is not one).

A layer that sees its whole input on an axis (one output position whose window covers every input
position: global pooling, adaptive pooling to 1, flatten, dense, a kernel as large as its input)
has the whole network input as its field on that axis, marked global, however far its unclipped
field would reach into the padding.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .formula import Expr, Num


@dataclass(frozen=True)
class AxisStep:
    """One windowed layer on a path, along one axis."""

    layer: str
    kernel: int  # effective kernel k'
    stride: int


@dataclass(frozen=True, eq=False)
class Chain:
    """The windowed layers on a path, oldest first. Each link shares everything before it, so
    extending a path is O(1) and a network of n layers keeps O(n) links, not n copies of a chain."""

    step: AxisStep | None = None
    before: "Chain | None" = None

    def then(self, step: AxisStep) -> "Chain":
        return Chain(step, self if self.step is not None else None)

    def steps(self) -> tuple[AxisStep, ...]:
        out: list[AxisStep] = []
        link: Chain | None = self
        while link is not None and link.step is not None:
            out.append(link.step)
            link = link.before
        return tuple(reversed(out))


NO_CHAIN = Chain()


@dataclass(frozen=True)
class Step:
    """One windowed layer on the path of both axes (when both axes follow the same layers)."""

    layer: str
    kernel: tuple[int, int]  # effective kernel k' per axis
    stride: tuple[int, int]


@dataclass(frozen=True)
class Path:
    """One path's field along one axis: unit u reads [lo + u·jump, hi + u·jump] of the input."""

    size: int
    jump: int
    start: Fraction
    chain: Chain = NO_CHAIN

    @property
    def pad(self) -> int:
        return int(Fraction(self.size - 1, 2) - self.start)

    @property
    def lo(self) -> Fraction:
        return self.start - Fraction(self.size - 1, 2)

    @property
    def hi(self) -> Fraction:
        return self.start + Fraction(self.size - 1, 2)

    def through(self, layer: str, k_eff: int, stride: int, pad_lo: int) -> "Path":
        return Path(
            size=self.size + (k_eff - 1) * self.jump,
            jump=self.jump * stride,
            start=self.start + (Fraction(k_eff - 1, 2) - pad_lo) * self.jump,
            chain=self.chain.then(AxisStep(layer, k_eff, stride)),
        )

    def contains(self, other: "Path") -> bool:
        """Same jump and nested intervals: then `other` adds nothing at any unit."""
        return self.jump == other.jump and self.lo <= other.lo and other.hi <= self.hi


def _prune(paths: list[Path]) -> tuple[Path, ...]:
    """Drop every path another one contains (of two equal ones, keep the first)."""
    kept: list[Path] = []
    for p in sorted(paths, key=lambda p: (-p.size, p.jump, p.start)):
        if not any(k.contains(p) for k in kept):
            kept.append(p)
    return tuple(kept)


@dataclass(frozen=True)
class AxisField:
    """The receptive field along one axis: local paths, the whole input, or not defined."""

    paths: tuple[Path, ...] = ()
    whole: int | None = None  # global: the network input's size along this axis
    undefined: str | None = None  # why no single field exists here (the reason, for the user)

    @staticmethod
    def of_input() -> "AxisField":
        return AxisField((Path(1, 1, Fraction(0)),))

    @property
    def is_global(self) -> bool:
        return self.whole is not None

    @property
    def aligned(self) -> bool:
        return self.undefined is None and (self.is_global or len(self.paths) == 1)

    def through(self, layer: str, k_eff: int, stride: int, pad_lo: int) -> "AxisField":
        if self.is_global or self.undefined:
            return self
        return AxisField(tuple(p.through(layer, k_eff, stride, pad_lo) for p in self.paths))

    def span(self, unit: int) -> tuple[Fraction, Fraction]:
        """The union of the paths' intervals for one output unit, as (first, last) input coordinate."""
        return (min(p.lo + unit * p.jump for p in self.paths), max(p.hi + unit * p.jump for p in self.paths))

    def largest(self, units: int) -> tuple[int, int]:
        """(size, unit): the widest field over the layer's `units` output positions, exactly."""
        best = (0, 0)
        for u in range(max(units, 1)):
            lo, hi = self.span(u)
            size = int(hi - lo) + 1
            if size > best[0]:
                best = (size, u)
        return best

    @staticmethod
    def merge(fields: list["AxisField"]) -> "AxisField":
        reasons = [f.undefined for f in fields if f.undefined]
        if reasons:
            return AxisField(undefined=reasons[0])
        wholes = [f.whole for f in fields if f.is_global]
        if wholes:
            return AxisField(whole=wholes[0])
        return AxisField(_prune([p for f in fields for p in f.paths]))


@dataclass(frozen=True)
class RF:
    h: AxisField
    w: AxisField

    @staticmethod
    def of_input() -> "RF":
        return RF(AxisField.of_input(), AxisField.of_input())

    @property
    def axes(self) -> tuple[AxisField, AxisField]:
        return (self.h, self.w)

    def through(self, layer: str, k_eff: tuple[int, int], stride: tuple[int, int],
                pad_lo: tuple[int, int]) -> "RF":
        return RF(self.h.through(layer, k_eff[0], stride[0], pad_lo[0]),
                  self.w.through(layer, k_eff[1], stride[1], pad_lo[1]))

    def whole_input(self, image_hw: tuple[int, int], axes: tuple[bool, bool] = (True, True)) -> "RF":
        """The whole network input along the given axes (a layer that sees all of its input)."""
        h, w = (AxisField(whole=size) if on else f for f, size, on in zip(self.axes, image_hw, axes))
        return RF(h, w)

    def undefined(self, reason: str) -> "RF":
        """No single field from here on (until a layer sees its whole input)."""
        return RF(*(f if f.is_global else AxisField(undefined=reason) for f in self.axes))

    @staticmethod
    def merge(fields: list["RF"]) -> "RF":
        return RF(AxisField.merge([f.h for f in fields]), AxisField.merge([f.w for f in fields]))


def combined_chain(h: tuple[AxisStep, ...], w: tuple[AxisStep, ...]) -> tuple[Step, ...] | None:
    """Both axes' paths as one chain when they pass through the same layers, else None."""
    if [s.layer for s in h] != [s.layer for s in w]:
        return None
    return tuple(Step(a.layer, (a.kernel, b.kernel), (a.stride, b.stride)) for a, b in zip(h, w))


@dataclass(frozen=True)
class TopDownStep:
    layer: str
    expr: tuple[Expr, Expr]  # how RF_i was computed, per axis
    size: tuple[int, int]


def top_down(chain: tuple[Step, ...]) -> list[TopDownStep]:
    """The textbook derivation: RF_L = k_L, then RF_i = (RF_{i+1} − 1)·s_i + k_i walking back to the input."""
    steps: list[TopDownStep] = []
    if not chain:
        return steps
    last = chain[-1]
    current = (Num(last.kernel[0]), Num(last.kernel[1]))
    steps.append(TopDownStep(last.layer, current, (last.kernel[0], last.kernel[1])))
    sizes = last.kernel
    for step in reversed(chain[:-1]):
        exprs = tuple((Num(sizes[a]) - 1) * step.stride[a] + step.kernel[a] for a in (0, 1))
        sizes = tuple(int(e.value()) for e in exprs)
        steps.append(TopDownStep(step.layer, exprs, sizes))
    return steps


def axis_chain_as_steps(chain: tuple[AxisStep, ...]) -> tuple[Step, ...]:
    """One axis's path written as a two-axis chain with the same numbers on both (for the
    top-down derivation of an axis whose path differs from the other axis's)."""
    return tuple(Step(s.layer, (s.kernel, s.kernel), (s.stride, s.stride)) for s in chain)

