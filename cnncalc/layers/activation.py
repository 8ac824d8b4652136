"""Activations, dropout and stochastic depth: elementwise, no connections; no parameters but PReLU's
slopes."""
from __future__ import annotations

from ..formula import Num
from ..shapes import Shape
from . import options as opt
from .base import Counts, Elementwise, Option, Output


class ReLU(Elementwise):
    """max(0, x)."""

    kind = "relu"
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import relu
        return relu(x, out=x if in_place else None)


class LeakyReLU(Elementwise):
    """x if x > 0 else slope·x."""

    kind = "leaky_relu"
    primary = "slope"
    options = {"slope": Option(opt.number, 0.01, "slope for negative inputs")}
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import leaky_relu
        return leaky_relu(x, self.slope, out=x if in_place else None)


class Sigmoid(Elementwise):
    """1 / (1 + e^−x)."""

    kind = "sigmoid"
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import sigmoid
        return sigmoid(x, out=x if in_place else None)


class Tanh(Elementwise):
    """Hyperbolic tangent."""

    kind = "tanh"
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import tanh
        return tanh(x, out=x if in_place else None)


class GELU(Elementwise):
    """x·Φ(x), the exact (erf) form."""

    kind = "gelu"
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import gelu
        return gelu(x, out=x if in_place else None)


class Softmax(Elementwise):
    """Softmax over the channels (vector entries)."""

    kind = "softmax"

    def forward(self, x, weights):
        from ..kernels.elementwise import softmax
        return softmax(x, axis=1)


class Identity(Elementwise):
    """Passes its input through unchanged."""

    kind = "identity"

    def forward(self, x, weights):
        return x


class Dropout(Elementwise):
    """Dropout (identity at inference)."""

    kind = "dropout"
    primary = "p"
    options = {"p": Option(opt.probability, 0.5, "probability of zeroing a unit while training")}

    def forward(self, x, weights):
        return x  # inference: nothing is dropped, and PyTorch's eval mode does not rescale


class ReLU6(Elementwise):
    """min(max(x, 0), 6) (MobileNetV2)."""

    kind = "relu6"
    auto_name = "relu6_"  # relu6_1, relu6_2: `relu61` would read as a sixty-first relu
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import relu6
        return relu6(x, out=x if in_place else None)


class HardTanh(Elementwise):
    """x clipped to [min, max]."""

    kind = "hardtanh"
    options = {"min": Option(opt.number, -1.0, "lower bound"), "max": Option(opt.number, 1.0, "upper bound")}
    supports_in_place = True
    pointwise = True

    def check(self) -> None:
        if not self.min < self.max:
            raise self.fail(f"hardtanh needs min < max, got min {self.min:g} and max {self.max:g}")

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import hardtanh
        return hardtanh(x, self.min, self.max, out=x if in_place else None)


class HardSigmoid(Elementwise):
    """min(max(x + 3, 0), 6) / 6 (MobileNetV3's SE gate)."""

    kind = "hardsigmoid"
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import hardsigmoid
        return hardsigmoid(x, out=x if in_place else None)


class HardSwish(Elementwise):
    """x · min(max(x + 3, 0), 6) / 6 (MobileNetV3)."""

    kind = "hardswish"
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import hardswish
        return hardswish(x, out=x if in_place else None)


class SiLU(Elementwise):
    """x · sigmoid(x), also called swish (EfficientNet)."""

    kind = "silu"
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import silu
        return silu(x, out=x if in_place else None)


class Mish(Elementwise):
    """x · tanh(ln(1 + eˣ))."""

    kind = "mish"
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import mish
        return mish(x, out=x if in_place else None)


class ELU(Elementwise):
    """x if x > 0 else alpha·(eˣ − 1)."""

    kind = "elu"
    primary = "alpha"
    options = {"alpha": Option(opt.number, 1.0, "value approached for large negative inputs is −alpha")}
    supports_in_place = True
    pointwise = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import elu
        return elu(x, self.alpha, out=x if in_place else None)


class PReLU(Elementwise):
    """x if x > 0 else a·x with a trainable slope a: one shared (torch.nn.PReLU()) or one per channel
    (torch.nn.PReLU(C)). Its slopes are params; like batch norm it adds no connections and no MACs."""

    kind = "prelu"
    options = {"per_channel": Option(opt.boolean, False, "one slope per channel instead of one shared slope")}
    supports_in_place = True

    def slopes(self, in_shape: Shape) -> int:
        return in_shape[0] if self.per_channel else 1

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        return Counts(params=Num(self.slopes(in_shape)))

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        return {"weight": (self.slopes(in_shape),)}

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import prelu
        return prelu(x, weights["weight"], out=x if in_place else None)


class StochasticDepth(Elementwise):
    """torchvision's StochasticDepth: drops a residual branch at random while training; at inference
    the identity, with no params, connections or MACs (torchvision counts none for it)."""

    kind = "stochastic_depth"
    primary = "p"
    options = {
        "p": Option(opt.unit_interval, doc="probability of dropping the branch while training"),
        "mode": Option(opt.choice("row", "batch"), "row",
                       "row: each sample on its own; batch: the whole batch at once (training only)"),
    }

    def forward(self, x, weights):
        return x  # inference: torchvision's stochastic_depth returns its input when not training
