"""Fully connected layer and flatten."""
from __future__ import annotations

import math

from ..formula import Num
from ..shapes import Shape
from . import options as opt
from .base import GLOBAL, Counts, Layer, Option, Output, Window


class Dense(Layer):
    """Fully connected layer: units, bias. With `per_position: true`, the same layer applied at every
    position of a (C, H, W) map (ConvNeXt's nn.Linear after a permute to (H, W, C)): output
    (units, H, W), params C·units + units, MACs H·W·C·units, as torchvision's hooks count it."""

    kind = "dense"
    primary = "units"
    auto_name = "fc"
    options = {
        "units": Option(opt.positive_int, doc="number of outputs"),
        "bias": Option(opt.boolean, True, "add a bias per output"),
        "per_position": Option(opt.boolean, False,
                               "apply the layer at every position of a (C, H, W) map, to its C channels"),
        "weights": Option(opt.inline_weights, None,
                          "inline weights for small examples: a nested list, or {weight, bias}"),
    }

    def output(self, in_shape: Shape) -> Output:
        if self.per_position:
            if len(in_shape) != 3:
                raise self.fail(f"dense with `per_position: true` needs a (C, H, W) map, but its input is a vector "
                                f"of {in_shape[0]}; remove `per_position` to apply it to the vector")
            return Output((self.units, in_shape[1], in_shape[2]))
        if len(in_shape) != 1:
            raise self.fail(
                f"dense needs a vector input, but its input is {'×'.join(map(str, in_shape))}; "
                "add `- flatten` before it, or set `per_position: true` to apply it at every position"
            )
        return Output((self.units,))

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        n_in, n_out = in_shape[0], self.units
        weights = Num(n_in) * n_out
        params = weights + n_out if self.bias else weights
        fan_in = Num(n_in) + 1 if self.bias else Num(n_in)
        if self.per_position:
            # One dense layer per position, sharing its weights: connections and MACs H·W times over.
            positions = Num(out.shape[1]) * out.shape[2]
            return Counts(params=params, connections=positions * n_out * fan_in, macs=positions * weights)
        return Counts(params=params, connections=Num(n_out) * fan_in if self.bias else weights, macs=weights)

    def window(self, in_shape: Shape, out: Output) -> Window | str:
        if self.per_position:
            return Window((1, 1), (1, 1), (0, 0))  # each position reads only its own C values
        return GLOBAL

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        shapes = {"weight": (self.units, in_shape[0])}
        if self.bias:
            shapes["bias"] = (self.units,)
        return shapes

    def forward(self, x, weights):
        from ..kernels.dense import dense, dense_per_position
        return (dense_per_position if self.per_position else dense)(x, weights["weight"], weights.get("bias"))


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
