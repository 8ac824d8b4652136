"""The registry of layer kinds: one class each; adding a kind means one class and one line here."""
from __future__ import annotations

from .activation import GELU, Dropout, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import GLOBAL, Counts, Layer, Option, Output, Window
from .conv import Conv2d
from .dense import Dense, Flatten
from .lenet import RBF, Subsample
from .merge import Add, Concat
from .normalization import BatchNorm, LocalResponseNorm
from .pooling import AdaptiveAvgPool, AvgPool2d, GlobalAvgPool, GlobalMaxPool, MaxPool2d

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
    )
}

__all__ = ["KINDS", "GLOBAL", "Counts", "Layer", "Option", "Output", "Window", "Concat", "Add"]
