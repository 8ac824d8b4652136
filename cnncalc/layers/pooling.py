"""Max and average pooling, global pooling, and adaptive average pooling (torchvision's heads)."""
from __future__ import annotations

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
        return max_pool2d(x, self.kernel, self.output(x.shape[1:]).axes)


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
        return avg_pool2d(x, self.kernel, self.output(x.shape[1:]).axes, self.count_include_pad)


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

    def _windows(self, size: int, n: int) -> list[int]:
        return [-(-((i + 1) * size) // n) - (i * size) // n for i in range(n)]

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        _, h, w = in_shape
        rows, cols = self._windows(h, out.shape[1]), self._windows(w, out.shape[2])
        # Windows may differ in size; connections are Σ over output units of their window sizes.
        return Counts(connections=Num(out.shape[0]) * sum(rows) * sum(cols))

    def window(self, in_shape: Shape, out: Output) -> Window | Varying | None:
        _, h, w = in_shape
        oh, ow = out.shape[1:]
        if (h, w) == (oh, ow):
            return None
        regular = [self._regular(n, m) for n, m in ((h, oh), (w, ow))]
        if None in regular:
            rows, cols = self._windows(h, oh), self._windows(w, ow)
            return Varying(msg("adaptive pooling {size} → {out} has windows of {rows} rows and {cols} columns at "
                               "uneven steps", size=f"{h}×{w}", out=f"{oh}×{ow}", rows=f"{min(rows)}–{max(rows)}",
                               cols=f"{min(cols)}–{max(cols)}"))
        (kh, sh), (kw, sw) = regular
        # Equal windows at equal steps; an output of 1 sees its whole input (the engine marks it global).
        return Window((kh, kw), (sh, sw), (0, 0))

    def _regular(self, size: int, n: int) -> tuple[int, int] | None:
        """(kernel, stride) when every window has one size and one step, else None."""
        sizes = set(self._windows(size, n))
        starts = [(i * size) // n for i in range(n)]
        steps = {b - a for a, b in zip(starts, starts[1:])} or {size}
        return (sizes.pop(), steps.pop()) if len(sizes) == 1 and len(steps) == 1 else None

    def forward(self, x, weights):
        from ..kernels.pool import adaptive_avg_pool2d
        return adaptive_avg_pool2d(x, self.size)
