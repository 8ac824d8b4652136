"""Fully connected layer: y = x Wᵀ + b, with W (out, in) as PyTorch stores it."""
from __future__ import annotations

import numpy as np


def dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    y = x @ weight.T
    if bias is not None:
        y += bias
    return y
