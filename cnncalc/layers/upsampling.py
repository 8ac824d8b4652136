"""The decoders' layers: transposed convolution and upsampling (nearest, bilinear).

Both move the receptive field by a `Resample`: per axis, which input units each output unit reads,
periodically (cnncalc.receptive_field.AxisMap). Output unit o of a transposed convolution reads the
input units i with i·s − p + t·d = o for a tap t; output o of an upsampling reads the pixels its
source coordinate falls between. The field of a unit then depends on its position, and the jump is
a fraction (docs/design.md § Receptive field).
"""
from __future__ import annotations

from fractions import Fraction
from math import floor, gcd

from ..formula import Expr, Num, product
from ..i18n import msg
from ..errors import CnnError
from ..receptive_field import MAX_PERIOD, AxisMap
from ..shapes import AxisResult, Shape
from ..quoting import shown
from . import options as opt
from .base import Counts, Layer, Option, Output, Resample, Varying

# Bilinear's connections are counted position by position along each axis: at most this many.
MAX_BILINEAR = 1 << 20


def _long_period(what: str, period: int) -> Varying:
    return Varying(f"{what} repeats its pattern only every {period:,} units, more than the {MAX_PERIOD:,} "
                   "cnncalc follows")


def _sym_padding(v) -> tuple[int, int]:
    """PyTorch's ConvTranspose2d padding: p or [ph, pw], the same on both sides of an axis."""
    if v == "valid":
        return (0, 0)
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return (v, v)
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                                                  for x in v):
        return (v[0], v[1])
    raise ValueError(f"must be a whole number ≥ 0 or [ph, pw] (a transposed convolution crops the same on both "
                     f"sides of an axis), got {shown(v)}")


def _non_negative_pair(v) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return (v, v)
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                                                  for x in v):
        return (v[0], v[1])
    raise ValueError(f"must be a whole number ≥ 0 or [height, width], got {shown(v)}")


def transposed_reads(k: int, s: int, p: int, d: int) -> AxisMap:
    """Output o reads input i when i·s − p + t·d = o for a tap t < k: period s (o and o + s read
    inputs one apart), phase ph reading the i = (ph + p − t·d)/s that are whole."""
    reads = tuple(tuple(sorted((ph + p - t * d) // s for t in range(k) if (ph + p - t * d) % s == 0))
                  for ph in range(s))
    return AxisMap(s, 1, reads)


def landed_taps(n: int, out: int, k: int, s: int, p: int, d: int) -> int:
    """How many (input position i, tap t) pairs land inside the output (0 ≤ i·s − p + t·d < out)
    along one axis: n·k when nothing is cropped; padding crops p positions on each side, and
    output_padding adds positions no tap reaches. One closed-form range per tap, or per input
    position when there are fewer of those."""
    def count(lo: int, hi: int, step: int, limit: int) -> int:  # #x in [0, limit) with lo ≤ x·step ≤ hi
        first, last = max(0, -(-lo // step)), min(limit - 1, hi // step)
        return max(0, last - first + 1)
    if min(n, k) > MAX_BILINEAR:
        raise CnnError(f"a transposed convolution with {n:,} input positions and a kernel of {k:,} is beyond "
                       f"what cnncalc counts (at most {MAX_BILINEAR:,} of one of them)")
    if k <= n:
        return sum(count(p - t * d, out - 1 + p - t * d, s, n) for t in range(k))
    return sum(count(p - i * s, out - 1 + p - i * s, d, k) for i in range(n))


class ConvTranspose2d(Layer):
    """Transposed convolution (PyTorch's ConvTranspose2d): filters, kernel, stride, padding,
    output_padding, dilation, groups, bias."""

    kind = "convtranspose"
    primary = "filters"
    options = {
        "filters": Option(opt.positive_int, doc="number of output maps C_out"),
        "kernel": Option(opt.pair, doc="kernel size: k or [kh, kw]"),
        "stride": Option(opt.pair, 1, "step between the input pixels' footprints: s or [sh, sw]"),
        "padding": Option(_sym_padding, 0, "rows/columns cropped from each side of the full output: p or [ph, pw]"),
        "output_padding": Option(_non_negative_pair, 0,
                                 "rows/columns added at the bottom/right: 0 ≤ output_padding < stride or dilation"),
        "dilation": Option(opt.pair, 1, "spacing between kernel taps: d or [dh, dw]"),
        "groups": Option(opt.positive_int, 1, "split input and output maps into g groups"),
        "bias": Option(opt.boolean, True, "add a bias per output map"),
        "weights": Option(opt.inline_weights, None,
                          "inline weights: a nested list [C_in][C_out/g][kh][kw], or {weight, bias}"),
    }

    def check(self) -> None:
        if self.filters % self.groups:
            raise self.fail(f"filters {self.filters} must be a multiple of groups {self.groups}")
        for axis, op, s, d in zip("HW", self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise self.fail(f"output_padding {op} on {axis} must be smaller than the stride {s} or the dilation "
                                f"{d} (as PyTorch requires); use output_padding ≤ {max(s, d) - 1}")

    def output(self, in_shape: Shape) -> Output:
        c, h, w = self.feature_map(in_shape)
        if c % self.groups:
            raise self.fail(f"its {c} input maps cannot be split into groups {self.groups}; use a divisor of {c}")
        axes = tuple(self._axis(axis, n, i) for i, (axis, n) in enumerate((("H", h), ("W", w))))
        return Output((self.filters, axes[0].size, axes[1].size), axes)

    def _axis(self, axis: str, n: int, i: int) -> AxisResult:
        k, s, p, op, d = self.kernel[i], self.stride[i], self.padding[i], self.output_padding[i], self.dilation[i]
        k_eff = d * (k - 1) + 1
        size = (n - 1) * s - 2 * p + k_eff + op
        if size <= 0:
            raise self.fail(msg(
                "{axis}: the output would have {size} {what} ((in − 1)·s − 2·p + d·(k − 1) + output_padding + 1 with "
                "in {n}, s {s}, p {p}, k {k}, d {d}); use padding ≤ {most}", axis=axis, size=size,
                what="rows" if axis == "H" else "columns", n=n, s=s, p=p, k=k, d=d,
                most=((n - 1) * s + k_eff + op - 1) // 2))
        expr: Expr = (Num(n) - 1) * s
        if p:
            expr = expr - Num(2) * p
        expr = expr + Num(d) * (Num(k) - 1)  # PyTorch's documented form, dilation shown even when 1
        if op:
            expr = expr + op
        expr = expr + 1
        return AxisResult(axis, size, expr, p, p, k_eff, s)

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        c_in, h_in, w_in = in_shape
        c_out = out.shape[0]
        kh, kw = self.kernel
        per_group = Num(c_out) if self.groups == 1 else Num(c_out) / self.groups
        weights = Num(c_in) * per_group * kh * kw
        b = 1 if self.bias else 0
        # Connections: each output unit receives (C_in/g)·(taps landing on it) inputs, plus the bias;
        # summed over the output, C_out·(C_in/g)·T_H·T_W, T = the (input, tap) pairs that land.
        taps = []
        for i, n in enumerate((h_in, w_in)):
            a = out.axes[i]
            landed = landed_taps(n, a.size, self.kernel[i], self.stride[i], self.padding[i], self.dilation[i])
            full = n * self.kernel[i]
            taps.append(Num(n) * self.kernel[i] if landed == full else Num(n) * self.kernel[i] - (full - landed))
        fan = Num(c_in) if self.groups == 1 else Num(c_in) / self.groups
        connections = product([c_out, fan, *taps])
        if b:
            connections = connections + product(out.shape)
        return Counts(
            params=weights + c_out if b else weights,
            connections=connections,
            macs=product([h_in, w_in, c_in, per_group, kh, kw]),
        )

    def window(self, in_shape: Shape, out: Output) -> Resample | Varying:
        if max(self.stride) > MAX_PERIOD:
            return _long_period(f"a transposed convolution of stride {max(self.stride):,}", max(self.stride))
        if max(self.kernel) > MAX_PERIOD:  # each phase would list that many taps
            return Varying(f"a transposed convolution's kernel of {max(self.kernel):,} is more than the "
                           f"{MAX_PERIOD:,} taps cnncalc follows")
        return Resample(tuple(transposed_reads(self.kernel[i], self.stride[i], self.padding[i], self.dilation[i])
                              for i in (0, 1)))

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        shapes = {"weight": (in_shape[0], self.filters // self.groups, *self.kernel)}
        if self.bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def forward(self, x, weights):
        from ..kernels.upsampling import conv_transpose2d
        return conv_transpose2d(x, weights["weight"], weights.get("bias"), self.stride, self.padding,
                                self.output_padding, self.dilation, self.groups)


# -- upsampling ---------------------------------------------------------------------------------
def source_points(n: int, m: int, align_corners: bool, count: int | None = None) -> list[Fraction]:
    """Bilinear's exact source coordinate of the first `count` (all m by default) of m output
    positions over n input positions (PyTorch's rule, in exact arithmetic): align_corners false:
    (o + 1/2)·n/m − 1/2 (where negative, PyTorch reads 0); true: o·(n − 1)/(m − 1)."""
    count = m if count is None else count
    if align_corners:
        return [Fraction(0)] * count if m == 1 else [Fraction(o * (n - 1), m - 1) for o in range(count)]
    return [Fraction((2 * o + 1) * n - m, 2 * m) for o in range(count)]


def bilinear_taps(n: int, m: int, align_corners: bool) -> tuple[list[int], list[int], list[Fraction]]:
    """Per output position: the two input positions blended and the second one's weight, clamped to
    the input as PyTorch clamps them."""
    first, second, weight = [], [], []
    for src in source_points(n, m, align_corners):
        src = max(src, Fraction(0))
        i0 = min(floor(src), n - 1)
        first.append(i0)
        second.append(i0 + 1 if i0 < n - 1 else i0)
        weight.append(min(src - i0, Fraction(1)))
    return first, second, weight


def bilinear_period(n: int, m: int, align_corners: bool) -> tuple[int, int]:
    """(period, advance): output o + period reads the input positions of o shifted by advance."""
    if align_corners:
        if m == 1 or n == 1:
            return 1, 0
        g = gcd(n - 1, m - 1)
        return (m - 1) // g, (n - 1) // g
    g = gcd(n, m)
    return m // g, n // g


def bilinear_reads(n: int, m: int, align_corners: bool) -> AxisMap:
    """The input positions with a non-zero weight for each output position, unclipped (a source
    below 0 reads position −1 and 0, as a window reads padding), repeating every m/g outputs."""
    period, advance = bilinear_period(n, m, align_corners)
    if align_corners and period == 1 and advance == 0:
        return AxisMap(1, 0, ((0,),))
    reads = []
    for src in source_points(n, m, align_corners, period):
        i0 = floor(src)
        reads.append((i0,) if src == i0 else (i0, i0 + 1))
    return AxisMap(period, advance, tuple(reads))


def nearest_reads(n: int, m: int) -> AxisMap:
    if m % n == 0:
        return AxisMap(m // n, 1, ((0,),) * (m // n))
    return AxisMap(1, n // m, ((0,),))


def _scale(v) -> tuple[int, int]:
    try:
        return opt.pair(v)
    except ValueError as exc:
        raise ValueError(f"{exc}; for a ratio that is not whole give `size` (with mode: bilinear)") from None


class Upsample(Layer):
    """Upsampling (PyTorch's nn.Upsample / F.interpolate): nearest or bilinear, by a whole scale
    factor or to a size, align_corners as PyTorch."""

    kind = "upsample"
    primary = "scale"
    options = {
        "scale": Option(_scale, None, "whole scale factor: f or [fh, fw] (give scale or size)"),
        "size": Option(opt.pair, None, "output size: n or [h, w] (give scale or size)"),
        "mode": Option(opt.choice("nearest", "bilinear"), "nearest", "nearest or bilinear"),
        "align_corners": Option(opt.boolean, None, "bilinear only: corner pixels' centres aligned (PyTorch's flag)"),
    }

    def check(self) -> None:
        if (self.scale is None) == (self.size is None):
            raise self.fail("give exactly one of `scale` (a whole factor) and `size` (the output size)")
        if self.align_corners is not None and self.mode != "bilinear":
            raise self.fail("align_corners applies to bilinear only (PyTorch refuses it for nearest); "
                            "drop it or use mode: bilinear")

    @property
    def corners(self) -> bool:
        return bool(self.align_corners)

    def output(self, in_shape: Shape) -> Output:
        c, h, w = self.feature_map(in_shape)
        axes = []
        for i, (axis, n) in enumerate((("H", h), ("W", w))):
            if self.scale is not None:
                size, expr = n * self.scale[i], Num(n) * self.scale[i]
            else:
                size, expr = self.size[i], Num(self.size[i])
            if self.mode == "bilinear" and size > MAX_BILINEAR:
                raise self.fail(f"{axis}: bilinear upsampling to {size:,} positions is beyond what cnncalc counts "
                                f"(at most {MAX_BILINEAR:,} per axis)")
            if self.scale is None:
                if self.mode == "nearest" and size % n and n % size:
                    raise self.fail(msg(
                        "{axis}: nearest upsampling from {n} to {size} is not by a whole factor; use a size that is "
                        "a multiple of {n} (or divides it), or mode: bilinear", axis=axis, n=n, size=size))
            axes.append(AxisResult(axis, size, expr, 0, 0, 1, 1))
        return Output((c, axes[0].size, axes[1].size), tuple(axes))

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        """No weights, and interpolation's multiplications are not MACs (docs/design.md § Counts).
        Connections, as pooling's window sizes: the input pixels each output unit reads with a
        non-zero weight, C·R_H·R_W with R the sum over an axis's positions (1 each for nearest)."""
        if self.mode == "nearest":
            return Counts(connections=product(out.shape))
        reads = []
        for n, a in zip(in_shape[1:], out.axes):
            first, second, weight = bilinear_taps(n, a.size, self.corners)
            pairs = sum(1 for i0, i1, lam in zip(first, second, weight) if i1 != i0 and lam != 0)
            reads.append(Num(a.size) + pairs if pairs else Num(a.size))
        return Counts(connections=product([out.shape[0], *reads]))

    def _reads(self, n: int, m: int) -> AxisMap:
        return bilinear_reads(n, m, self.corners) if self.mode == "bilinear" else nearest_reads(n, m)

    def window(self, in_shape: Shape, out: Output) -> Resample | Varying:
        for n, a in zip(in_shape[1:], out.axes):
            period = (bilinear_period(n, a.size, self.corners)[0] if self.mode == "bilinear"
                      else max(1, a.size // n))
            if period > MAX_PERIOD:
                return _long_period(f"{self.mode} upsampling from {n:,} to {a.size:,}", period)
        return Resample(tuple(self._reads(n, a.size) for n, a in zip(in_shape[1:], out.axes)))

    def forward(self, x, weights):
        from ..kernels.upsampling import upsample_bilinear, upsample_nearest
        (_, h, w), out = x.shape[1:], self.geometry(x.shape[1:]).shape
        if self.mode == "nearest":
            return upsample_nearest(x, (max(1, out[1] // h), max(1, out[2] // w)),
                                    (max(1, h // out[1]), max(1, w // out[2])))
        return upsample_bilinear(x, _float_taps(h, out[1], self.corners), _float_taps(w, out[2], self.corners))


def _float_taps(n: int, m: int, corners: bool):
    i0, i1, lam = bilinear_taps(n, m, corners)
    return i0, i1, [float(x) for x in lam]
