"""Max and average pooling, global pooling, and adaptive average pooling (torchvision's heads)."""
from __future__ import annotations

import math

from ..formula import Num, product
from ..i18n import msg
from ..shapes import Shape
from . import options as opt
from .base import GLOBAL, Counts, Layer, Option, Output, Varying, Window


class _Pool2d(Layer):
    primary = "kernel"
    auto_name = "pool"
    options = {
        "kernel": Option(opt.pair, doc="window size: k or [kh, kw]"),
        "stride": Option(opt.pair, None, "step between windows; defaults to the kernel"),
        "padding": Option(opt.padding, 0, "p, [ph, pw], [top, bottom, left, right], same or valid"),
        "ceil_mode": Option(opt.boolean, False, "round the output size up (Caffe, original GoogLeNet)"),
    }

    def check(self) -> None:
        if self.stride is None:
            self.stride = self.kernel
        if self.padding != "same":
            t, b, l, r = self.padding
            if max(t, b) * 2 > self.kernel[0] or max(l, r) * 2 > self.kernel[1]:
                # PyTorch refuses it too: a window could lie wholly in the padding.
                raise self.fail(
                    f"padding {self.padding} is more than half the kernel {self.kernel}; use padding ≤ kernel/2"
                )

    def output(self, in_shape: Shape) -> Output:
        c, h, w = self.feature_map(in_shape)
        return self.sliding_output(c, h, w, self.kernel, self.stride, padding=self.padding, ceil_mode=self.ceil_mode)

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        return Counts(connections=product([*out.shape, *self.kernel]))

    def window(self, in_shape: Shape, out: Output) -> Window:
        h, w = out.axes
        return Window((h.k_eff, w.k_eff), self.stride, (h.pad_lo, w.pad_lo))


class MaxPool2d(_Pool2d):
    """Max pooling: kernel, stride (default: kernel), padding, ceil_mode."""

    kind = "maxpool"

    def forward(self, x, weights):
        from ..kernels.pool import max_pool2d
        return max_pool2d(x, self.kernel, self.geometry(x.shape[1:]).axes)


class AvgPool2d(_Pool2d):
    """Average pooling: kernel, stride (default: kernel), padding, ceil_mode, count_include_pad."""

    kind = "avgpool"
    options = {
        **_Pool2d.options,
        "count_include_pad": Option(opt.boolean, True,
                                    "divide by the whole window, padding included (PyTorch's default)"),
    }

    def forward(self, x, weights):
        from ..kernels.pool import avg_pool2d
        return avg_pool2d(x, self.kernel, self.geometry(x.shape[1:]).axes, self.count_include_pad)


class _GlobalPool(Layer):
    auto_name = "pool"

    def output(self, in_shape: Shape) -> Output:
        c, _, _ = self.feature_map(in_shape)
        return Output((c, 1, 1))

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        c, h, w = in_shape
        return Counts(connections=product([c, h, w]))

    def window(self, in_shape: Shape, out: Output) -> str:
        return GLOBAL


class GlobalAvgPool(_GlobalPool):
    """Global average pooling: (C, H, W) → (C, 1, 1)."""

    kind = "globalavgpool"

    def forward(self, x, weights):
        from ..kernels.pool import global_avg_pool
        return global_avg_pool(x)


class GlobalMaxPool(_GlobalPool):
    """Global max pooling: (C, H, W) → (C, 1, 1)."""

    kind = "globalmaxpool"

    def forward(self, x, weights):
        from ..kernels.pool import global_max_pool
        return global_max_pool(x)


class AdaptiveAvgPool(Layer):
    """PyTorch's AdaptiveAvgPool2d: window i spans [⌊i·in/out⌋, ⌈(i+1)·in/out⌉)."""

    kind = "adaptiveavgpool"
    primary = "size"
    auto_name = "pool"
    options = {"size": Option(opt.pair, doc="output size: n or [h, w]")}

    def output(self, in_shape: Shape) -> Output:
        c, _, _ = self.feature_map(in_shape)
        return Output((c, *self.size))

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        _, h, w = in_shape
        # Windows may differ in size; connections are Σ over output units of their window sizes.
        return Counts(connections=Num(out.shape[0]) * window_sum(h, out.shape[1]) * window_sum(w, out.shape[2]))

    def window(self, in_shape: Shape, out: Output) -> Window | Varying | None:
        _, h, w = in_shape
        oh, ow = out.shape[1:]
        if (h, w) == (oh, ow):
            return None
        regular = [regular_windows(n, m) for n, m in ((h, oh), (w, ow))]
        if None in regular:
            (rmin, rmax), (cmin, cmax) = window_range(h, oh), window_range(w, ow)
            return Varying(msg("adaptive pooling {size} → {out} has windows of {rows} rows and {cols} columns at "
                               "uneven steps", size=f"{h}×{w}", out=f"{oh}×{ow}", rows=f"{rmin}–{rmax}",
                               cols=f"{cmin}–{cmax}"))
        (kh, sh), (kw, sw) = regular
        # Equal windows at equal steps; an output of 1 sees its whole input (the engine marks it global).
        return Window((kh, kw), (sh, sw), (0, 0))

    def forward(self, x, weights):
        from ..kernels.pool import adaptive_avg_pool2d
        return adaptive_avg_pool2d(x, self.size)


# AdaptiveAvgPool2d's windows along one axis of `size` inputs and `n` outputs: window i spans
# [⌊i·size/n⌋, ⌈(i+1)·size/n⌉). Each answer below is in closed form, O(1) whatever the sizes
# (listing the windows made `adaptiveavgpool: 100000000` hang); tests/test_adaptive_windows.py
# compares each with the windows listed one by one. With size = q·n + r (0 ≤ r < n): for r = 0
# every window has q elements at steps of q; otherwise window i has q + 1 elements, or q + 2 where
# (i·r mod n) + r > n, and of the n − 1 steps between starts, r − 1 are q + 1 and the rest q.

def window_sum(size: int, n: int) -> int:
    """Σ of the n window sizes: size + n − gcd(size, n) (neighbours share one element wherever n ∤ i·size)."""
    return size + n - math.gcd(size, n)


def window_range(size: int, n: int) -> tuple[int, int]:
    """(smallest, largest) window size."""
    q, r = divmod(size, n)
    if r == 0:
        return q, q
    # i·r mod n takes every multiple of g = gcd(r, n) below n, so some window has q + 2 iff r > g.
    return q + 1, q + 2 if r > math.gcd(r, n) else q + 1


def regular_windows(size: int, n: int) -> tuple[int, int] | None:
    """(kernel, stride) when every window has one size and the starts one step, else None."""
    q, r = divmod(size, n)
    if r == 0:  # n = 1 included: one window, the whole axis
        return q, q
    if r == 1:  # every step q, every window q + 1
        return q + 1, q
    return None
