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

Upsampling and transposed convolution do not slide one window: their output units read their
input units by a periodic map (`AxisMap`: unit n·q + ph reads reads[ph] shifted by n·r). After one,
a path's field is `PhasedPath`: per phase of a period P an exact integer interval, repeating every
P units shifted by J pixels, so the jump is the fraction J/P and the field's size and placement
depend on the unit. Everything stays exact (integers and Fractions); the reported size is the
largest over the layer's units, with the unit that has it, as for paths that are not aligned.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import gcd

from .formula import Expr, Num


@dataclass(frozen=True)
class AxisMap:
    """Which input units each output unit reads along one axis, periodically: output unit
    n·period + ph reads the input units reads[ph] shifted by n·advance. Indices are unclipped: one
    below 0 or past the input is a position beyond the border, as a window's padding is."""

    period: int
    advance: int
    reads: tuple[tuple[int, ...], ...]  # per phase, sorted (may be empty: a unit no input reaches)

    def of(self, unit: int) -> tuple[int, ...]:
        n, ph = divmod(unit, self.period)
        return tuple(i + n * self.advance for i in self.reads[ph])

    @staticmethod
    def window(k_eff: int, stride: int, pad_lo: int, dilation: int = 1) -> "AxisMap":
        """A sliding window as a map: unit u reads u·s − pad_lo + t·d for its taps t."""
        return AxisMap(1, stride, (tuple(t - pad_lo for t in range(0, k_eff, dilation)),))


# A phased path whose period would pass this many units is not followed (every phase is one exact
# interval kept in memory): the field is then reported as not defined, with the reason.
MAX_PERIOD = 1 << 16


@dataclass(frozen=True)
class AxisStep:
    """One layer that moves the field on a path, along one axis: a window (kernel, stride, leading
    padding, dilation) or, for upsampling and transposed convolution, a periodic map (`resample`)."""

    layer: str
    kernel: int  # effective kernel k' (0 for a resampling step)
    stride: int
    pad_lo: int = 0
    dilation: int = 1
    resample: AxisMap | None = None

    def reads(self) -> AxisMap:
        return self.resample or AxisMap.window(self.kernel, self.stride, self.pad_lo, self.dilation)


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


def _half(n: int) -> int | Fraction:
    """n/2 exactly: an int when n is even (an odd kernel's (k'−1)/2, an odd field's (r−1)/2)."""
    return n >> 1 if n & 1 == 0 else Fraction(n, 2)


@dataclass(frozen=True)
class Path:
    """One path's field along one axis: unit u reads [lo + u·jump, hi + u·jump] of the input.

    `start` is exact: an int while it is whole (odd kernels keep it so; issue 14: Fraction
    arithmetic was a large part of analysing deep networks), else a Fraction (x.5)."""

    size: int
    jump: int
    start: int | Fraction
    chain: Chain = NO_CHAIN

    @property
    def pad(self) -> int:
        return int(_half(self.size - 1) - self.start)

    @property
    def lo(self) -> Fraction:
        return self.start - Fraction(self.size - 1, 2)

    @property
    def hi(self) -> Fraction:
        return self.start + Fraction(self.size - 1, 2)

    period = 1

    @property
    def shift(self) -> int:
        return self.jump

    def interval(self, unit: int) -> tuple[Fraction, Fraction]:
        return (self.lo + unit * self.jump, self.hi + unit * self.jump)

    def sizes(self, units: int) -> tuple[int, int]:
        """(largest size, first unit with it) over the first `units` units."""
        return self.size, 0

    def through(self, layer: str, k_eff: int, stride: int, pad_lo: int, dilation: int = 1) -> "Path":
        jump = self.jump
        start = self.start + (_half(k_eff - 1) - pad_lo) * jump
        if type(start) is Fraction and start.denominator == 1:
            start = start.numerator  # back to an int (two half-pixel shifts)
        return Path(
            size=self.size + (k_eff - 1) * jump,
            jump=jump * stride,
            start=start,
            chain=self.chain.then(AxisStep(layer, k_eff, stride, pad_lo, dilation)),
        )

    def resample(self, layer: str, m: AxisMap) -> "Path | PhasedPath | None":
        lo = int(self.lo)
        return PhasedPath((lo,), (lo + self.size - 1,), self.jump, self.chain).resample(layer, m)

    def contains(self, other: "Path | PhasedPath") -> bool:
        """Same jump and nested intervals: then `other` adds nothing at any unit."""
        if isinstance(other, PhasedPath):
            return _contains(self, other)
        return self.jump == other.jump and self.lo <= other.lo and other.hi <= self.hi

    def phases(self, period: int) -> tuple[list[int | None], list[int | None], int]:
        """The same field written with `period` phases: (lows, highs, shift per period)."""
        lo = int(self.lo)
        lows: list[int | None] = [lo + ph * self.jump for ph in range(period)]
        return lows, [low + self.size - 1 for low in lows], period * self.jump

    def sort_key(self) -> tuple:
        return (-self.size, Fraction(self.jump), self.start)


@dataclass(frozen=True)
class PhasedPath:
    """A path through upsampling or transposed convolution, along one axis: unit n·P + ph reads
    input pixels [lows[ph] + n·shift, highs[ph] + n·shift] (None: no input pixel reaches it), so
    the jump is shift/P and the field may differ between phases. Exact integers throughout."""

    lows: tuple[int | None, ...]
    highs: tuple[int | None, ...]
    shift: int
    chain: Chain = NO_CHAIN

    @property
    def period(self) -> int:
        return len(self.lows)

    @property
    def jump(self) -> Fraction:
        return Fraction(self.shift, self.period)

    @property
    def size(self) -> int:
        return max((h - l + 1 for l, h in zip(self.lows, self.highs) if l is not None), default=0)

    def uniform_over(self, units: int) -> bool:
        """Every one of the first `units` units reached, all with fields of one size."""
        n = min(max(units, 1), self.period)
        sizes = {None if l is None else h - l + 1 for l, h in zip(self.lows[:n], self.highs[:n])}
        return len(sizes) == 1 and None not in sizes

    @property
    def start(self) -> Fraction | None:
        """The centre of unit 0's field (None when no pixel reaches unit 0)."""
        lo, hi = self.lows[0], self.highs[0]
        return None if lo is None else Fraction(lo + hi, 2)

    @property
    def pad(self) -> int | None:
        return None if self.lows[0] is None else -self.lows[0]

    def interval(self, unit: int) -> tuple[int, int] | None:
        n, ph = divmod(unit, self.period)
        lo = self.lows[ph]
        return None if lo is None else (lo + n * self.shift, self.highs[ph] + n * self.shift)

    def sizes(self, units: int) -> tuple[int, int]:
        """(largest size, first unit with it) over the first `units` units (0, 0: none reached)."""
        best = (0, 0)
        for ph in range(min(units, self.period)):
            lo = self.lows[ph]
            if lo is not None and self.highs[ph] - lo + 1 > best[0]:
                best = (self.highs[ph] - lo + 1, ph)
        return best

    def through(self, layer: str, k_eff: int, stride: int, pad_lo: int,
                dilation: int = 1) -> "Path | PhasedPath | None":
        step = AxisStep(layer, k_eff, stride, pad_lo, dilation)
        return self._mapped(step, AxisMap.window(k_eff, stride, pad_lo, dilation))

    def resample(self, layer: str, m: AxisMap) -> "Path | PhasedPath | None":
        return self._mapped(AxisStep(layer, 0, 1, resample=m), m)

    def _mapped(self, step: AxisStep, m: AxisMap) -> "Path | PhasedPath | None":
        """Output unit u's field is the union of the fields of the input units it reads. Input unit
        i + P has input i's field shifted by `shift`, so the output repeats every q·P/gcd(P, r)
        units (q, r: the map's period and advance), shifted by (r/gcd(P, r))·shift pixels."""
        g = gcd(self.period, m.advance)
        period = m.period * (self.period // g)
        if period > MAX_PERIOD:
            return None
        lows: list[int | None] = []
        highs: list[int | None] = []
        for u in range(period):
            parts = [iv for iv in (self.interval(i) for i in m.of(u)) if iv is not None]
            lows.append(min(p[0] for p in parts) if parts else None)
            highs.append(max(p[1] for p in parts) if parts else None)
        shift = (m.advance // g) * self.shift
        chain = self.chain.then(step)
        if period == 1 and lows[0] is not None:  # one phase: a sliding-window field again
            return Path(highs[0] - lows[0] + 1, shift, Fraction(lows[0] + highs[0], 2), chain)
        return PhasedPath(tuple(lows), tuple(highs), shift, chain)

    def contains(self, other: "Path | PhasedPath") -> bool:
        return _contains(self, other)

    def phases(self, period: int) -> tuple[list[int | None], list[int | None], int]:
        """The same field written with `period` phases (a multiple of its own period)."""
        lows: list[int | None] = []
        highs: list[int | None] = []
        for u in range(period):
            iv = self.interval(u)
            lows.append(None if iv is None else iv[0])
            highs.append(None if iv is None else iv[1])
        return lows, highs, self.shift * (period // self.period)

    def sort_key(self) -> tuple:
        return (-self.size, self.jump, self.start if self.start is not None else Fraction(0))


def _contains(outer: "Path | PhasedPath", inner: "Path | PhasedPath") -> bool:
    """Both written over their common period: the same shift, and at every phase `inner`'s
    interval inside `outer`'s (a phase `inner` leaves empty adds nothing). Then `inner` adds
    nothing at any unit (a U-Net's cropped skip beside its up-convolved path)."""
    period = outer.period * inner.period // gcd(outer.period, inner.period)
    if period > MAX_PERIOD:
        return False
    a_lo, a_hi, a_shift = outer.phases(period)
    b_lo, b_hi, b_shift = inner.phases(period)
    if a_shift != b_shift:
        return False
    return all(c is None or (a is not None and a <= c and d <= b)
               for a, b, c, d in zip(a_lo, a_hi, b_lo, b_hi))


def _prune(paths: list["Path | PhasedPath"]) -> tuple["Path | PhasedPath", ...]:
    """Drop every path another one contains (of two equal ones, keep the first)."""
    kept: list[Path] = []
    for p in sorted(paths, key=lambda p: p.sort_key()):
        if not any(k.contains(p) for k in kept):
            kept.append(p)
    return tuple(kept)


@dataclass(frozen=True)
class AxisField:
    """The receptive field along one axis: local paths, the whole input, or not defined."""

    paths: tuple["Path | PhasedPath", ...] = ()
    whole: int | None = None  # global: the network input's size along this axis
    undefined: str | None = None  # why no single field exists here (the reason, for the user)

    @staticmethod
    def of_input() -> "AxisField":
        return AxisField((Path(1, 1, 0),))

    @property
    def is_global(self) -> bool:
        return self.whole is not None

    @property
    def aligned(self) -> bool:
        return self.undefined is None and (self.is_global or len(self.paths) == 1)

    def through(self, layer: str, k_eff: int, stride: int, pad_lo: int, dilation: int = 1) -> "AxisField":
        if self.whole is not None or self.undefined:
            return self
        paths = self.paths
        if len(paths) == 1 and type(paths[0]) is Path:  # the usual case, and a Path's step is never None
            return AxisField((paths[0].through(layer, k_eff, stride, pad_lo, dilation),))
        return self._of([p.through(layer, k_eff, stride, pad_lo, dilation) for p in paths])

    def resample(self, layer: str, m: AxisMap) -> "AxisField":
        if self.is_global or self.undefined:
            return self
        return self._of([p.resample(layer, m) for p in self.paths])

    @staticmethod
    def _of(paths: list) -> "AxisField":
        if any(p is None for p in paths):
            return AxisField(undefined=f"the field repeats only every more than {MAX_PERIOD:,} units after "
                                       "upsampling, which cnncalc does not follow")
        return AxisField(tuple(paths))

    def span(self, unit: int) -> tuple[Fraction, Fraction] | None:
        """The union of the paths' intervals for one output unit, as (first, last) input coordinate;
        None when no input pixel reaches the unit (a transposed convolution's gap)."""
        parts = [iv for iv in (p.interval(unit) for p in self.paths) if iv is not None]
        if not parts:
            return None
        return (min(p[0] for p in parts), max(p[1] for p in parts))

    def largest(self, units: int) -> tuple[int, int]:
        """(size, unit): the widest field over the layer's `units` output positions, exactly."""
        if len(self.paths) == 1:
            return self.paths[0].sizes(max(units, 1))
        best = (0, 0)
        for u in range(max(units, 1)):
            span = self.span(u)
            if span is None:
                continue
            size = int(span[1] - span[0]) + 1
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
                pad_lo: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> "RF":
        return RF(self.h.through(layer, k_eff[0], stride[0], pad_lo[0], dilation[0]),
                  self.w.through(layer, k_eff[1], stride[1], pad_lo[1], dilation[1]))

    def resample(self, layer: str, maps: tuple[AxisMap, AxisMap]) -> "RF":
        return RF(self.h.resample(layer, maps[0]), self.w.resample(layer, maps[1]))

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


def is_textbook(chain: tuple[AxisStep, ...]) -> bool:
    """Only sliding windows on the path: the textbook recursion gives the field."""
    return all(s.resample is None for s in chain)


@dataclass(frozen=True)
class UnitStep:
    """One step of the exact walk back from one unit: the units of `layer`'s input that reach it."""

    layer: str
    first: int | None  # None: no unit reaches it (a transposed convolution's gap)
    last: int | None

    @property
    def size(self) -> int:
        return 0 if self.first is None else self.last - self.first + 1

    def expr(self) -> Expr:
        """RF = last − first + 1, the numbers in (a negative first, in the padding, is added)."""
        if self.first is None:
            return Num(0)
        if self.first < 0:
            return Num(self.last) + (-self.first) + 1
        return Num(self.last) - self.first + 1


def unit_walk(chain: tuple[AxisStep, ...], unit: int) -> list[UnitStep]:
    """The exact top-down walk for one output unit along one axis: the set of units of each earlier
    layer that reach it, layer by layer back to the input pixels (first and last of each set shown).
    Through windows it is the textbook recursion for that unit; through upsampling and transposed
    convolution it follows which units each unit reads, so it holds where the textbook one cannot."""
    units = {unit}
    steps: list[UnitStep] = []
    for step in reversed(chain):
        m = step.reads()
        units = {i for u in units for i in m.of(u)}
        steps.append(UnitStep(step.layer, min(units), max(units)) if units else UnitStep(step.layer, None, None))
    return steps


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

