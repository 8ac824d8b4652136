"""Pooling by strided slices: one slice per kernel tap, combined in place with np.maximum/np.add
(far faster than reducing a window view). Padding is explicit: (top, bottom, left, right)."""
from __future__ import annotations

import numpy as np


def _axis(size: int, k: int, s: int, lo: int, hi: int, ceil_mode: bool) -> int:
    span = size + lo + hi - k
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + lo:  # PyTorch: the last window must start inside input or left pad
            out -= 1
    else:
        out = span // s + 1 if span >= 0 else 0
    if out <= 0:
        raise ValueError(f"kernel {k} is larger than the padded input {size + lo + hi}")
    return out


def _prepare(x, kernel, stride, padding, ceil_mode, fill):
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    t, b, l, r = padding
    oh = _axis(h, kh, sh, t, b, ceil_mode)
    ow = _axis(w, kw, sw, l, r, ceil_mode)
    # Extra room at the end for ceil_mode's overhanging last window.
    eb = max(0, (oh - 1) * sh + kh - (h + t + b))
    er = max(0, (ow - 1) * sw + kw - (w + l + r))
    if t or b or l or r or eb or er:
        x = np.pad(x, ((0, 0), (0, 0), (t, b + eb), (l, r + er)), constant_values=fill)
    return x, oh, ow


def _taps(xp, kernel, stride, oh, ow):
    kh, kw = kernel
    sh, sw = stride
    for i in range(kh):
        for j in range(kw):
            yield xp[:, :, i : i + (oh - 1) * sh + 1 : sh, j : j + (ow - 1) * sw + 1 : sw]


def max_pool2d(x: np.ndarray, kernel, stride, padding=(0, 0, 0, 0), ceil_mode: bool = False) -> np.ndarray:
    fill = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    xp, oh, ow = _prepare(x, kernel, stride, padding, ceil_mode, fill)
    taps = _taps(xp, kernel, stride, oh, ow)
    out = np.array(next(taps), copy=True)
    for tap in taps:
        np.maximum(out, tap, out=out)
    return out


def _counts(size, k, s, lo, hi, out, include_pad):
    starts = np.arange(out) * s - lo
    ends = np.minimum(starts + k, size + hi)
    if not include_pad:
        starts = np.maximum(starts, 0)
        ends = np.minimum(ends, size)
    return ends - starts


def window_sum(x: np.ndarray, kernel, stride, padding=(0, 0, 0, 0), ceil_mode: bool = False) -> np.ndarray:
    xp, oh, ow = _prepare(x, kernel, stride, padding, ceil_mode, 0)
    taps = _taps(xp, kernel, stride, oh, ow)
    out = np.array(next(taps), copy=True)
    for tap in taps:
        np.add(out, tap, out=out)
    return out


def avg_pool2d(x: np.ndarray, kernel, stride, padding=(0, 0, 0, 0), ceil_mode: bool = False,
               count_include_pad: bool = True) -> np.ndarray:
    """PyTorch's divisor: the window clipped to the padded input (count_include_pad) or to the input."""
    out = window_sum(x, kernel, stride, padding, ceil_mode)
    _, _, h, w = x.shape
    t, b, l, r = padding
    oh, ow = out.shape[2:]
    rows = _counts(h, kernel[0], stride[0], t, b, oh, count_include_pad)
    cols = _counts(w, kernel[1], stride[1], l, r, ow, count_include_pad)
    out /= np.outer(rows, cols).astype(out.dtype)
    return out


def global_avg_pool(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=(2, 3), keepdims=True)


def global_max_pool(x: np.ndarray) -> np.ndarray:
    return x.max(axis=(2, 3), keepdims=True)


def adaptive_avg_pool2d(x: np.ndarray, size) -> np.ndarray:
    """PyTorch's AdaptiveAvgPool2d: window i spans [⌊i·in/out⌋, ⌈(i+1)·in/out⌉)."""
    n, c, h, w = x.shape
    oh, ow = size
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    for i in range(oh):
        h0, h1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        for j in range(ow):
            w0, w1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out
