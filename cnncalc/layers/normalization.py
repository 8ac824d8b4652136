"""Batch, layer and local response normalization, and ConvNeXt's layer scale."""
from __future__ import annotations

from ..formula import Num
from ..shapes import Shape
from . import options as opt
from .base import Counts, Elementwise, Option, Output


class BatchNorm(Elementwise):
    """Batch normalization (inference: running mean and variance)."""

    kind = "batchnorm"
    auto_name = "bn"
    options = {"eps": Option(opt.number, 1e-5, "added to the variance")}

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        c = in_shape[0]
        return Counts(params=Num(2) * c, non_trainable=Num(2) * c)

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        c = (in_shape[0],)
        return {"weight": c, "bias": c, "running_mean": c, "running_var": c}

    supports_in_place = True

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import batch_norm
        return batch_norm(x, weights["weight"], weights["bias"], weights["running_mean"], weights["running_var"],
                          self.eps, out=x if in_place else None)

    def channel_affine(self, weights):
        from ..kernels.elementwise import batch_norm_affine
        return batch_norm_affine(weights["weight"], weights["bias"], weights["running_mean"], weights["running_var"],
                                 self.eps)


class LocalResponseNorm(Elementwise):
    """Local response normalization across channels (AlexNet, GoogLeNet)."""

    kind = "lrn"
    primary = "size"
    options = {
        "size": Option(opt.positive_int, 5, "number of neighbouring channels"),
        "alpha": Option(opt.number, 1e-4, "scale"),
        "beta": Option(opt.number, 0.75, "exponent"),
        "k": Option(opt.number, 1.0, "additive constant"),
    }

    def forward(self, x, weights):
        from ..kernels.elementwise import local_response_norm
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)


class LayerNorm(Elementwise):
    """Layer normalization over the channels at each position of a (C, H, W) map (ConvNeXt's
    LayerNorm2d), or over the entries of a vector: 2·C trainable params (γ, β), no running
    statistics. Each output reads the C values at its position; like the other normalizations it
    adds no connections and no MACs, and the receptive field is unchanged."""

    kind = "layernorm"
    auto_name = "ln"
    options = {"eps": Option(opt.number, 1e-5, "added to the variance")}
    supports_in_place = True

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        return Counts(params=Num(2) * in_shape[0])

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        c = (in_shape[0],)
        return {"weight": c, "bias": c}

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import layer_norm
        return layer_norm(x, weights["weight"], weights["bias"], self.eps, out=x if in_place else None)


class LayerScale(Elementwise):
    """ConvNeXt's layer scale (torchvision's `layer_scale`, the paper's γ): each channel multiplied
    by its own trainable factor. C params, shaped (C, 1, 1) on a map as torchvision stores them."""

    kind = "layer_scale"
    supports_in_place = True

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        return Counts(params=Num(in_shape[0]))

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        return {"weight": (in_shape[0], 1, 1) if len(in_shape) == 3 else (in_shape[0],)}

    def forward(self, x, weights, in_place: bool = False):
        from ..kernels.elementwise import layer_scale
        return layer_scale(x, weights["weight"], out=x if in_place else None)
