"""Fully connected layer and flatten."""
from __future__ import annotations

import math

from ..formula import Num
from ..shapes import Shape
from . import options as opt
from .base import GLOBAL, Counts, Layer, Option, Output


class Dense(Layer):
    """Fully connected layer: units, bias."""

    kind = "dense"
    primary = "units"
    auto_name = "fc"
    options = {
        "units": Option(opt.positive_int, doc="number of outputs"),
        "bias": Option(opt.boolean, True, "add a bias per output"),
        "weights": Option(opt.inline_weights, None,
                          "inline weights for small examples: a nested list, or {weight, bias}"),
    }

    def output(self, in_shape: Shape) -> Output:
        if len(in_shape) != 1:
            raise self.fail(
                f"dense needs a vector input, but its input is {'×'.join(map(str, in_shape))}; "
                "add `- flatten` before it"
            )
        return Output((self.units,))

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        n_in, n_out = in_shape[0], self.units
        weights = Num(n_in) * n_out
        if self.bias:
            return Counts(params=weights + n_out, connections=Num(n_out) * (Num(n_in) + 1), macs=weights)
        return Counts(params=weights, connections=weights, macs=weights)

    def window(self, in_shape: Shape, out: Output) -> str:
        return GLOBAL

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        shapes = {"weight": (self.units, in_shape[0])}
        if self.bias:
            shapes["bias"] = (self.units,)
        return shapes

    def forward(self, x, weights):
        from ..kernels.dense import dense
        return dense(x, weights["weight"], weights.get("bias"))


class Flatten(Layer):
    """Flatten (C, H, W) into a vector of C·H·W."""

    kind = "flatten"

    def output(self, in_shape: Shape) -> Output:
        return Output((math.prod(in_shape),))

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        return Counts()  # a reshape: no weights, and no unit is computed from another

    def window(self, in_shape: Shape, out: Output) -> str | None:
        # A 1×1 map flattened is still the same units; anything larger mixes positions.
        return GLOBAL if len(in_shape) == 3 and in_shape[1:] != (1, 1) else None

    def forward(self, x, weights):
        return x.reshape(x.shape[0], -1)
