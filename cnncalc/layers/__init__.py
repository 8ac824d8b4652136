"""The registry of layer kinds: one class each; adding a kind means one class and one line here."""
from __future__ import annotations

from .activation import (ELU, GELU, Dropout, HardSigmoid, HardSwish, HardTanh, Identity, LeakyReLU, Mish, PReLU, ReLU,
                         ReLU6, Sigmoid, SiLU, Softmax, StochasticDepth, Tanh)
from .borders import Crop, Pad
from .channels import Shuffle, Slice
from .base import GLOBAL, Counts, Layer, Option, Output, Window
from .conv import Conv2d
from .dense import Dense, Flatten
from .lenet import RBF, Subsample
from .merge import Add, Concat, Multiply
from .normalization import BatchNorm, LayerNorm, LayerScale, LocalResponseNorm
from .pooling import AdaptiveAvgPool, AvgPool2d, GlobalAvgPool, GlobalMaxPool, MaxPool2d
from .upsampling import ConvTranspose2d, Upsample

KINDS: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (
        Conv2d,
        MaxPool2d,
        AvgPool2d,
        GlobalAvgPool,
        GlobalMaxPool,
        AdaptiveAvgPool,
        Subsample,
        Dense,
        Flatten,
        BatchNorm,
        LocalResponseNorm,
        Dropout,
        ReLU,
        LeakyReLU,
        Sigmoid,
        Tanh,
        GELU,
        Softmax,
        Identity,
        RBF,
        # issue 11: MobileNet, EfficientNet, ConvNeXt
        ReLU6,
        HardTanh,
        HardSigmoid,
        HardSwish,
        SiLU,
        Mish,
        ELU,
        PReLU,
        LayerNorm,
        LayerScale,
        StochasticDepth,
        Pad,
        Crop,
        Slice,
        Shuffle,
        ConvTranspose2d,
        Upsample,
    )
}

__all__ = ["KINDS", "GLOBAL", "Counts", "Layer", "Option", "Output", "Window", "Concat", "Add", "Multiply"]
