"""2-D convolution, with groups (depthwise included), dilation and LeNet-5-style connection tables."""
from __future__ import annotations

from functools import lru_cache

from ..formula import Num, product, total
from ..shapes import Shape
from . import options as opt
from .base import Counts, Layer, Option, Output, Window


class Conv2d(Layer):
    """2-D convolution: filters, kernel, stride, padding, dilation, groups, bias, connection table."""

    kind = "conv"
    primary = "filters"
    options = {
        "filters": Option(opt.positive_int, doc="number of output maps C_out"),
        "kernel": Option(opt.pair, doc="kernel size: k or [kh, kw]"),
        "stride": Option(opt.pair, 1, "step between windows: s or [sh, sw]"),
        "padding": Option(opt.padding, 0, "p, [ph, pw], [top, bottom, left, right], same or valid"),
        "dilation": Option(opt.pair, 1, "spacing between kernel taps: d or [dh, dw]"),
        "groups": Option(opt.positive_int, 1, "split input and output maps into g groups (g = C_in: depthwise)"),
        "bias": Option(opt.boolean, True, "add a bias per output map"),
        "table": Option(opt.connection_table, None, "connection table: per output map, the input maps it reads"),
        "weights": Option(opt.inline_weights, None,
                          "inline weights for small examples: a nested list, or {weight, bias}"),
    }

    def check(self) -> None:
        if self.filters % self.groups:
            raise self.fail(f"filters {self.filters} must be a multiple of groups {self.groups}")
        if self.table is not None:
            if self.groups != 1:
                raise self.fail("a connection table replaces groups; drop groups or the table")
            if len(self.table) != self.filters:
                raise self.fail(
                    f"the connection table has {len(self.table)} rows but filters is {self.filters}; "
                    "give one row per output map"
                )

    def output(self, in_shape: Shape) -> Output:
        c, h, w = self.feature_map(in_shape)
        if c % self.groups:
            raise self.fail(f"its {c} input maps cannot be split into groups {self.groups}; use a divisor of {c}")
        if self.table is not None:
            bad = [m for row in self.table for m in row if m >= c]
            if bad:
                raise self.fail(f"the connection table reads input map {max(bad)}, but there are only {c} (0..{c - 1})")
        return self.sliding_output(self.filters, h, w, self.kernel, self.stride, self.dilation, self.padding)

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        c_in = in_shape[0]
        c_out, h_out, w_out = out.shape
        kh, kw = self.kernel
        b = 1 if self.bias else 0
        if self.table is not None:
            # LeNet-5 C3: each output map has its own fan-in n_i; Σ n_i·kh·kw weights in all.
            fan_in = total(len(row) for row in self.table)
            weights = fan_in * kh * kw
            params = weights + b * c_out if b else weights
            per_position = weights + c_out if b else weights
            return Counts(params=params, connections=per_position * h_out * w_out, macs=weights * h_out * w_out)
        return _grouped_counts(c_in, (c_out, h_out, w_out), (kh, kw), self.groups, b)

    def window(self, in_shape: Shape, out: Output) -> Window:
        h, w = out.axes
        return Window((h.k_eff, w.k_eff), self.stride, (h.pad_lo, w.pad_lo), self.dilation)

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        shapes = {"weight": (self.filters, in_shape[0] // self.groups, *self.kernel)}
        if self.bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def forward(self, x, weights, epilogue=None):
        """`epilogue` (kernels.conv.Epilogue): the batch norm and activation fused after it (cnncalc.fusion)."""
        from ..kernels.conv import conv2d
        weight = weights["weight"]
        if self.table is not None:
            weight = weight * self.table_mask(x.shape[1]).astype(weight.dtype)
        return conv2d(x, weight, weights.get("bias"), self.geometry(x.shape[1:]).axes, self.dilation, self.groups,
                      epilogue)

    def table_mask(self, c_in: int):
        """(filters, C_in, 1, 1) of 0/1: which input maps each output map reads."""
        import numpy as np
        mask = np.zeros((self.filters, c_in, 1, 1))
        for i, row in enumerate(self.table):
            mask[i, list(row)] = 1
        return mask


@lru_cache(maxsize=4096)
def _grouped_counts(c_in: int, out: tuple[int, int, int], kernel: tuple[int, int], groups: int, b: int) -> Counts:
    """A convolution's counts without a connection table, remembered: the convolutions of a repeated
    block count alike pass after pass (issue 14's deep benchmark, ResNet's blocks), and the
    expressions never change once made, so they share one Counts."""
    c_out, h_out, w_out = out
    kh, kw = kernel
    per_filter = Num(kh) * kw * c_in if groups == 1 else Num(kh) * kw * c_in / groups
    with_bias = per_filter + 1 if b else per_filter
    return Counts(
        params=with_bias * c_out,
        connections=with_bias * c_out * h_out * w_out,
        macs=product([per_filter, c_out, h_out, w_out]),
    )
