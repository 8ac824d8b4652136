"""Pooling by strided slices: one slice per kernel tap, combined in place with np.maximum/np.add
(far faster than reducing a window view). The geometry (output size, padding before and after, stride
per axis) is the engine's (cnncalc.shapes, ceil_mode included); padding is never copied: each tap
covers only the outputs whose input row and column are real."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import CnnError
from ..shapes import AxisResult


def _check_fits(size: int, axis: AxisResult, k: int) -> None:
    """Every window must start inside the input or its leading padding (PyTorch's rule, which also
    bounds ceil_mode's extra window): otherwise the geometry belongs to another input."""
    if axis.size < 1 or (axis.size - 1) * axis.stride >= size + axis.pad_lo:
        raise CnnError(f"{axis.axis}: {axis.size} windows of {k} at stride {axis.stride} do not fit the input "
                       f"{size} padded by {axis.pad_lo}+{axis.pad_hi}; compute the geometry for this input "
                       "(shapes.window_axis)")


def _tap_range(size: int, out: int, offset: int, s: int, lo: int) -> tuple[slice, slice]:
    """For kernel tap `offset`: the outputs o whose input row o·s + offset − lo lies inside the
    input, and those input rows. Padding is never materialised: taps just skip it."""
    first = max(0, -(-(lo - offset) // s))
    last = min(out - 1, (size - 1 + lo - offset) // s)
    if last < first:
        return slice(0, 0), slice(0, 0)
    start = first * s + offset - lo
    return slice(first, last + 1), slice(start, start + (last - first) * s + 1, s)


# Planes (one channel of one sample) pooled together: a block that stays in the CPU's cache
# between the two passes.
BLOCK_BYTES = 1 << 20


def _combine_taps(x, kernel, axes: Sequence[AxisResult], fill, combine) -> np.ndarray:
    """Start from `fill` (the padding's value) and fold the kernel taps in with `combine(out, tap,
    out=...)`, one strided slice per tap. Max and sum are separable, so the window is reduced along
    W first (kw taps), then along H (kh taps): kh + kw passes instead of kh·kw, over blocks of
    planes small enough to stay in cache. No padded copy of the input, no window view."""
    n, c, h, w = x.shape
    _check_fits(h, axes[0], kernel[0])
    _check_fits(w, axes[1], kernel[1])
    oh, ow = axes[0].size, axes[1].size
    t, l = axes[0].pad_lo, axes[1].pad_lo
    stride = (axes[0].stride, axes[1].stride)
    planes = x.reshape(n * c, h, w)
    out = np.empty((n * c, oh, ow), dtype=x.dtype)
    cols = [_tap_range(w, ow, j, stride[1], l) for j in range(kernel[1])]
    rows = [_tap_range(h, oh, i, stride[0], t) for i in range(kernel[0])]
    block = max(1, BLOCK_BYTES // max(1, h * w * x.itemsize))
    across_buffer = np.empty((min(block, n * c), h, ow), dtype=x.dtype)
    for p in range(0, n * c, block):
        src = planes[p : p + block]
        across = across_buffer[: len(src)]
        across.fill(fill)
        for out_cols, in_cols in cols:
            dst = across[:, :, out_cols]
            combine(dst, src[:, :, in_cols], out=dst)
        dst_block = out[p : p + block]
        dst_block.fill(fill)
        for out_rows, in_rows in rows:
            dst = dst_block[:, out_rows]
            combine(dst, across[:, in_rows], out=dst)
    return out.reshape(n, c, oh, ow)


def max_pool2d(x: np.ndarray, kernel, axes: Sequence[AxisResult]) -> np.ndarray:
    """`axes`: the layer's output per axis as the engine computed it (size, pads, stride)."""
    fill = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    return _combine_taps(x, kernel, axes, fill, np.maximum)


def _counts(size, k, s, lo, hi, out, include_pad):
    starts = np.arange(out) * s - lo
    ends = np.minimum(starts + k, size + hi)
    if not include_pad:
        starts = np.maximum(starts, 0)
        ends = np.minimum(ends, size)
    return ends - starts


def window_sum(x: np.ndarray, kernel, axes: Sequence[AxisResult]) -> np.ndarray:
    return _combine_taps(x, kernel, axes, 0, np.add)


def avg_pool2d(x: np.ndarray, kernel, axes: Sequence[AxisResult], count_include_pad: bool = True) -> np.ndarray:
    """PyTorch's divisor: the window clipped to the padded input (count_include_pad) or to the input."""
    out = window_sum(x, kernel, axes)
    _, _, h, w = x.shape
    hx, wx = axes
    rows = _counts(h, kernel[0], hx.stride, hx.pad_lo, hx.pad_hi, hx.size, count_include_pad)
    cols = _counts(w, kernel[1], wx.stride, wx.pad_lo, wx.pad_hi, wx.size, count_include_pad)
    out /= np.outer(rows, cols).astype(out.dtype)
    return out


def global_avg_pool(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=(2, 3), keepdims=True)


def global_max_pool(x: np.ndarray) -> np.ndarray:
    return x.max(axis=(2, 3), keepdims=True)


def _adaptive_windows(size: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows along one axis: window i starts at ⌊i·size/n⌋ and ends at
    ⌈(i+1)·size/n⌉; their starts and lengths."""
    i = np.arange(n_out, dtype=np.int64)
    starts = (i * size) // n_out
    return starts, -(-((i + 1) * size) // n_out) - starts


def _adaptive_sum(x: np.ndarray, axis: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """The sums of the adaptive windows along `axis`, and their lengths. One gather per tap (the
    k-th element of every window still that long), added in order, so the sum is a plain running
    sum as PyTorch's; the taps number about size/n_out + 1, each gathers n_out elements per row:
    work in proportion to size + n_out, no Python loop over output cells."""
    size = x.shape[axis]
    starts, lengths = _adaptive_windows(size, n_out)
    if size % n_out == 0:  # windows side by side, none shared: one reshape and a sum
        return x.reshape(*x.shape[:axis], n_out, size // n_out, *x.shape[axis + 1:]).sum(axis=axis + 1), lengths
    steps = np.unique(np.diff(starts))
    index: list = [slice(None)] * x.ndim

    def tap(k: int) -> np.ndarray:
        """Element k of every window: a strided slice when the windows start at one step."""
        if len(steps) != 1 or steps[0] == 0:
            return np.take(x, starts + k, axis=axis)
        step = int(steps[0])
        index[axis] = slice(k, k + step * (n_out - 1) + 1, step)
        return x[tuple(index)]

    out = tap(0).copy()  # every window holds at least one element
    for k in range(1, int(lengths.max())):
        longer = np.flatnonzero(lengths > k)
        if len(longer) == n_out:
            out += tap(k)
        else:
            index[axis] = longer
            out[tuple(index)] += np.take(x, starts[longer] + k, axis=axis)
    return out, lengths


def _adaptive_w_first(h: int, w: int, oh: int, ow: int) -> bool:
    """Reduce W first when that leaves the smaller intermediate (h·ow against oh·w values)."""
    return h * ow <= oh * w


def adaptive_scratch_bytes(in_shape, size, itemsize: int, batch: int = 1) -> int:
    """Bytes adaptive_avg_pool2d allocates beyond its output: the intermediate of the first axis's
    sums and one tap gathered into it, then one gather of the second axis's taps."""
    c, h, w = in_shape[-3:]
    oh, ow = size
    middle = h * ow if _adaptive_w_first(h, w, oh, ow) else oh * w
    return batch * c * (2 * middle + oh * ow) * itemsize


def adaptive_avg_pool2d(x: np.ndarray, size) -> np.ndarray:
    """PyTorch's AdaptiveAvgPool2d: window i spans [⌊i·in/out⌋, ⌈(i+1)·in/out⌉). Separable: the
    window sums along one axis, then along the other, divided by the window's rows × columns."""
    _, _, h, w = x.shape
    oh, ow = size
    if _adaptive_w_first(h, w, oh, ow):
        across, cols = _adaptive_sum(x, 3, ow)
        out, rows = _adaptive_sum(across, 2, oh)
    else:
        down, rows = _adaptive_sum(x, 2, oh)
        out, cols = _adaptive_sum(down, 3, ow)
    out /= np.outer(rows, cols).astype(out.dtype)
    return out
