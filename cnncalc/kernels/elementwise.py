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


# erf by Cephes' rational approximations (S. L. Moshier, ndtr.c; netlib.org/cephes): relative error
# ≤ 3.7e-16 for |x| < 1, where erf(x) = x·T(x²)/U(x²); beyond, erf(x) = 1 − erfc(x) with
# erfc(x) = e^(−x²)·P(|x|)/Q(|x|). Highest power first; U and Q with their leading 1 written out.
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
           1.65666309194161350182e3, 5.57535340817727675546e2)
# erfc(6) = 2.2e-17 is below half an ulp of 1, so erf(x) rounds to ±1 from |x| = 6 on: clipping
# there keeps P/Q inside the range Cephes fits it on (1 ≤ x < 8) and spares its x ≥ 8 branch.
_ERF_ONE = 6.0


# Elements per block: the dozens of passes over a block run in the CPU's cache (measured on
# 1.6 M values: 65,536 per block takes half the time of one pass over the whole array).
_ERF_BLOCK = 1 << 16


def _polynomial(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """Horner's rule, highest power first, in place after the first step."""
    y = x * coefficients[0]
    y += coefficients[1]
    for c in coefficients[2:]:
        y *= x
        y += c
    return y


def _erf_block(x: np.ndarray, out: np.ndarray) -> None:
    """erf of a 1-D float64 block into `out`. Each value takes one branch (gathered by index: a
    boolean mask costs four times as much per element here)."""
    small = np.abs(x) < 1.0
    inner, outer = np.flatnonzero(small), np.flatnonzero(~small)  # NaN is in `outer` and stays NaN
    xs = x.take(inner)
    z = xs * xs
    y = _polynomial(_ERF_T, z)
    y /= _polynomial(_ERF_U, z)
    y *= xs
    out.put(inner, y)
    xl = x.take(outer)
    b = np.minimum(np.abs(xl), _ERF_ONE)
    erfc = _polynomial(_ERFC_P, b)
    erfc /= _polynomial(_ERFC_Q, b)
    b *= b
    np.negative(b, out=b)
    erfc *= np.exp(b, out=b)
    np.subtract(1.0, erfc, out=erfc)
    out.put(outer, np.copysign(erfc, xl, out=erfc))


def erf(x) -> np.ndarray:
    """The error function in float64, vectorised (max abs error ≈ 3e-16 against math.erf)."""
    x = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    for i in range(0, flat.size, _ERF_BLOCK):
        _erf_block(flat[i:i + _ERF_BLOCK], out[i:i + _ERF_BLOCK])
    return out.reshape(x.shape)


def gelu(x):
    """x·Φ(x) = x/2·(1 + erf(x/√2)), PyTorch's exact (approximate='none') form, computed in float64
    block by block (so that the erf passes stay in cache) and returned in x's dtype."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.shape, dtype=x.dtype)
    for i in range(0, flat.size, _ERF_BLOCK):
        xb = flat[i:i + _ERF_BLOCK].astype(np.float64)
        y = erf(xb * (1 / math.sqrt(2)))  # one block: erf's own loop runs once
        y += 1.0
        xb *= 0.5
        y *= xb
        out[i:i + _ERF_BLOCK] = y
    return out.reshape(x.shape)


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
    """PyTorch's form: x / (k + alpha/size · Σ_{neighbouring channels} x²)^beta.

    The window of channel j is j − size//2 … j + (size−1)//2; only offsets that land on a channel
    add anything, so the loop runs at most 2C − 1 times and nothing is padded (a size of 10^9
    used to loop 10^9 times over a padded copy)."""
    c = x.shape[1]
    sq = x * x
    acc = np.zeros_like(x)
    for d in range(max(-(size // 2), 1 - c), min((size - 1) // 2, c - 1) + 1):
        lo, hi = max(0, -d), min(c, c - d)  # channels j whose neighbour j + d exists
        acc[:, lo:hi] += sq[:, lo + d:hi + d]
    return x / (k + alpha / size * acc) ** beta


def subsample(x, weight, bias, kernel, axes):
    """LeNet-5 S2/S4: window sum × a trainable coefficient per map + a bias per map; `axes` the
    engine's geometry (cnncalc.shapes)."""
    s = window_sum(x, kernel, axes)
    return s * weight.reshape(1, -1, 1, 1) + bias.reshape(1, -1, 1, 1)


def rbf(x, prototypes):
    """LeNet-5 output: y_i = Σ_j (x_j − w_ij)²."""
    return (x * x).sum(axis=1, keepdims=True) - 2 * x @ prototypes.T + (prototypes * prototypes).sum(axis=1)
