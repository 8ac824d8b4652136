"""Activations and dropout: elementwise, no parameters, no connections."""
from __future__ import annotations

from . import options as opt
from .base import Elementwise, Option


class ReLU(Elementwise):
    kind = "relu"
    summary = "max(0, x)"
    supports_in_place = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import relu
        return relu(x, out=x if in_place else None)


class LeakyReLU(Elementwise):
    kind = "leaky_relu"
    summary = "x if x > 0 else slope·x"
    primary = "slope"
    options = {"slope": Option(opt.number, 0.01, "slope for negative inputs")}

    def forward(self, x, weights):
        from ..kernels.elementwise import leaky_relu
        return leaky_relu(x, self.slope)


class Sigmoid(Elementwise):
    kind = "sigmoid"
    summary = "1 / (1 + e^−x)"

    def forward(self, x, weights):
        from ..kernels.elementwise import sigmoid
        return sigmoid(x)


class Tanh(Elementwise):
    kind = "tanh"
    summary = "hyperbolic tangent"

    def forward(self, x, weights):
        from ..kernels.elementwise import tanh
        return tanh(x)


class GELU(Elementwise):
    kind = "gelu"
    summary = "x·Φ(x), the exact (erf) form"

    def forward(self, x, weights):
        from ..kernels.elementwise import gelu
        return gelu(x)


class Softmax(Elementwise):
    kind = "softmax"
    summary = "softmax over the channels (vector entries)"

    def forward(self, x, weights):
        from ..kernels.elementwise import softmax
        return softmax(x, axis=1)


class Identity(Elementwise):
    kind = "identity"
    summary = "passes its input through unchanged"


class Dropout(Elementwise):
    kind = "dropout"
    summary = "dropout (identity at inference)"
    primary = "p"
    options = {"p": Option(opt.probability, 0.5, "probability of zeroing a unit while training")}
