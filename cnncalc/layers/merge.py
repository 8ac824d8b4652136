"""Where branches meet: concatenation along channels, elementwise addition, and a gate's product."""
from __future__ import annotations

from ..shapes import Shape
from .base import Layer


def _fmt(shape: Shape) -> str:
    return "×".join(map(str, shape))


class Concat(Layer):
    """Parallel branches joined along the channels (Inception, SqueezeNet fire, DenseNet)."""

    kind = "concat"

    def merge(self, shapes: list[Shape]) -> Shape:
        first = shapes[0]
        if any(len(s) != len(first) or s[1:] != first[1:] for s in shapes):
            raise self.fail(
                "branches must end with the same spatial size to be concatenated, got "
                + ", ".join(_fmt(s) for s in shapes)
                + "; adjust their strides or padding"
            )
        return (sum(s[0] for s in shapes), *first[1:])

    def forward(self, xs, weights):
        import numpy as np
        return np.concatenate(xs, axis=1)


class Add(Layer):
    """Elementwise sum of a residual body and its shortcut."""

    kind = "add"

    def merge(self, shapes: list[Shape]) -> Shape:
        if any(s != shapes[0] for s in shapes):
            raise self.fail(
                "the residual body and its shortcut must have the same shape to be added, got "
                + " and ".join(_fmt(s) for s in shapes)
                + "; use `shortcut: projection` (1×1 conv + batch norm) when the body changes the shape"
            )
        return shapes[0]

    supports_in_place = True

    def forward(self, xs, weights, in_place: bool = False, then=None):
        """With `in_place`, the sum is written into xs[0] (the residual body's output). `then`: a
        pointwise activation fused after it (cnncalc.fusion), applied sample by sample while each
        sample's sum is still in cache."""
        out = xs[0] if in_place else xs[0].copy()
        if then is None:
            for x in xs[1:]:
                out += x
            return out
        for i in range(len(out)):
            for x in xs[1:]:
                out[i] += x[i]
            then(out[i])
        return out


class Multiply(Layer):
    """A gate's product: the input times the gate computed from it, the gate broadcast where its
    size is 1 (squeeze-and-excitation's C×1×1 scale over H×W). No weights, no MACs: the product is
    elementwise, like batch norm's scale, which counts none either."""

    kind = "multiply"

    def merge(self, shapes: list[Shape]) -> Shape:
        x, g = shapes
        if len(g) != len(x) or any(b not in (a, 1) for a, b in zip(x, g)):
            if len(x) == 3:
                want = f"{x[0]}×1×1 (one value per channel) or {_fmt(x)} (give its last conv `filters: {x[0]}`)"
            else:
                want = f"{x[0]} (give its last dense layer `units: {x[0]}`)"
            raise self.fail(f"the gate ends with {_fmt(g)} but multiplies a {_fmt(x)} input; it must end with {want}")
        return x

    def forward(self, xs, weights):
        return xs[0] * xs[1]
