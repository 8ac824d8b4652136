"""Fully connected layer: y = x Wᵀ + b, with W (out, in) as PyTorch stores it."""
from __future__ import annotations

import numpy as np

from ..errors import CnnError


def dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    if x.ndim != 2 or weight.ndim != 2 or x.shape[1] != weight.shape[1]:
        raise CnnError(f"dense takes (N, in) inputs and an (out, in) weight, got an input of shape "
                       f"{'×'.join(map(str, x.shape))} and a weight of {'×'.join(map(str, weight.shape))}")
    y = x @ weight.T
    if bias is not None:
        y += bias
    return y
