"""Activations, normalisation and the LeNet-5 layers: small functions on NCHW (or (N, F)) arrays."""
from __future__ import annotations

import math

import numpy as np

from .pool import window_sum


def relu(x, out=None):
    return np.maximum(x, 0, out=out)


def leaky_relu(x, slope=0.01):
    return np.where(x > 0, x, x * x.dtype.type(slope))


def sigmoid(x):
    # Stable on both sides: e^−|x| never overflows.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x):
    return np.tanh(x)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    return (0.5 * x * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype)


def softmax(x, axis=1):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def batch_norm(x, weight, bias, running_mean, running_var, eps=1e-5, out=None):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = weight / np.sqrt(running_var + eps)
    shift = bias - running_mean * scale
    out = np.multiply(x, scale.astype(x.dtype).reshape(shape), out=out)
    out += shift.astype(x.dtype).reshape(shape)
    return out


def local_response_norm(x, size=5, alpha=1e-4, beta=0.75, k=1.0):
    """PyTorch's form: x / (k + alpha/size · Σ_{neighbouring channels} x²)^beta."""
    c = x.shape[1]
    sq = np.pad(x * x, ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (x.ndim - 2))
    acc = np.zeros_like(x)
    for i in range(size):
        acc += sq[:, i : i + c]
    return x / (k + alpha / size * acc) ** beta


def subsample(x, weight, bias, kernel, stride):
    """LeNet-5 S2/S4: window sum × a trainable coefficient per map + a bias per map."""
    s = window_sum(x, kernel, stride)
    return s * weight.reshape(1, -1, 1, 1) + bias.reshape(1, -1, 1, 1)


def rbf(x, prototypes):
    """LeNet-5 output: y_i = Σ_j (x_j − w_ij)²."""
    return (x * x).sum(axis=1, keepdims=True) - 2 * x @ prototypes.T + (prototypes * prototypes).sum(axis=1)
