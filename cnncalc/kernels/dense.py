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


def dense_per_position(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """The same dense layer at every position of an (N, C, H, W) map: (N, out, H, W), as ConvNeXt's
    nn.Linear on the permuted (N, H, W, C) map. One batched matmul W (out, C) @ x (N, C, H·W)
    instead of permuting twice."""
    n, c, h, w = x.shape
    if weight.ndim != 2 or weight.shape[1] != c:
        raise CnnError(f"a per-position dense layer takes (N, C, H, W) inputs and an (out, C) weight, got an "
                       f"input of shape {'×'.join(map(str, x.shape))} and a weight of "
                       f"{'×'.join(map(str, weight.shape))}")
    y = np.matmul(weight, x.reshape(n, c, h * w))
    if bias is not None:
        y += bias[:, None]
    return y.reshape(n, weight.shape[0], h, w)
