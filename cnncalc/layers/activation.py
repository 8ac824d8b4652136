"""Activations and dropout: elementwise, no parameters, no connections."""
from __future__ import annotations

from . import options as opt
from .base import Elementwise, Option


class ReLU(Elementwise):
    """max(0, x)."""

    kind = "relu"
    supports_in_place = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import relu
        return relu(x, out=x if in_place else None)


class LeakyReLU(Elementwise):
    """x if x > 0 else slope·x."""

    kind = "leaky_relu"
    primary = "slope"
    options = {"slope": Option(opt.number, 0.01, "slope for negative inputs")}

    def forward(self, x, weights):
        from ..kernels.elementwise import leaky_relu
        return leaky_relu(x, self.slope)


class Sigmoid(Elementwise):
    """1 / (1 + e^−x)."""

    kind = "sigmoid"

    def forward(self, x, weights):
        from ..kernels.elementwise import sigmoid
        return sigmoid(x)


class Tanh(Elementwise):
    """Hyperbolic tangent."""

    kind = "tanh"

    def forward(self, x, weights):
        from ..kernels.elementwise import tanh
        return tanh(x)


class GELU(Elementwise):
    """x·Φ(x), the exact (erf) form."""

    kind = "gelu"

    def forward(self, x, weights):
        from ..kernels.elementwise import gelu
        return gelu(x)


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
