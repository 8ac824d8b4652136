"""Depthwise convolution (groups = input channels: MobileNet's 3×3, ConvNeXt's 7×7) as one small GEMM
per channel against banded weight matrices.

im2col copies the input kh·kw times to multiply it by one row of weights per channel: a
matrix-vector product, bound by memory, with nothing reused. Here the output of each row is cut into
blocks of Wb columns. A block reads, from each of the kh input rows under it, a contiguous run of
L = (Wb − 1)·s + (kw − 1)·d + 1 values (s the stride, d the dilation, along the width), and the
kw taps of kernel row i are a banded L × Wb matrix, T_i[x·s + j·d, x] = w[i, j]. With the kh runs
of a block side by side:

    out[c, (n, y, block), x] = Σ_(i, l) col[c, (n, y, block), (i, l)] · T[c, (i, l), x]

one GEMM per channel (K = kh·L, N = Wb; with a channel multiplier, one per output channel). col
holds kh·L/Wb copies of the input instead of kh·kw, and BLAS does L/kw times the direct
convolution's multiplications (the band's zeros) at its full speed. Wb of about 14 measured best
(docs/forward.md § The kernels): wider blocks multiply more zeros, narrower ones copy more and give
BLAS too few columns to run fast.

Channels go a slice at a time (`SLICE_BYTES` of col), so that the padded input, col and the
product stay in cache between the copy, the GEMM and the epilogue. T is made once per weights,
block width, stride and dilation (with a fused batch norm's scale folded in) and kept
(kernels.prepared).
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .conv import Epilogue, _buffer, _padded_buffer
from .prepared import fold, prepared, scale_tag

# Output columns per block: ConvNeXt-T's 7×7 layers (one thread, a shard of two samples) ran fastest
# at 14 on 56×56, 28×28 and 14×14 maps (against 7, 8, 16, 28 and whole rows).
WIDTH_TARGET = 14
# col's bytes per channel slice: 2 and 4 MiB tied, 0.5 and 1 MiB were 5–25% slower.
SLICE_BYTES = 2 * 1024 * 1024


def applies(in_channels: int, groups: int) -> bool:
    """A depthwise convolution: one group per input channel (any channel multiplier)."""
    return groups == in_channels > 1


def block_width(ow: int) -> int:
    """Wb: the output row cut into as few blocks of at most WIDTH_TARGET as it takes, evened out."""
    blocks = -(-ow // WIDTH_TARGET)
    return -(-ow // blocks)


def run_length(wb: int, kw: int, stride: int, dilation: int) -> int:
    """L: input values along the width under a block of wb outputs."""
    return (wb - 1) * stride + (kw - 1) * dilation + 1


def banded_weights(weight: np.ndarray, wb: int, stride: int, dilation: int, dtype,
                   scale: np.ndarray | None = None) -> np.ndarray:
    """T (C, multiplier, kh·L, wb) from weight (C·multiplier, 1, kh, kw), times a fused batch norm's
    `scale` per output channel if given (kernels.prepared.fold); made once and kept."""
    tag = ("depthwise-banded", wb, stride, dilation, np.dtype(dtype).str, *scale_tag(scale))
    return prepared(weight, tag, lambda: _banded(fold(weight, scale, dtype), wb, stride, dilation))


def _banded(weight: np.ndarray, wb: int, stride: int, dilation: int) -> np.ndarray:
    oc, _, kh, kw = weight.shape
    length = run_length(wb, kw, stride, dilation)
    band = np.zeros((oc, kh, length, wb), dtype=weight.dtype)
    x = np.arange(wb)
    rows = x[None, :] * stride + np.arange(kw)[:, None] * dilation  # (kw, wb): tap j of output x
    band[:, :, rows, x[None, :]] = weight[:, 0, :, :, None]
    return band.reshape(oc, kh * length, wb)


def conv_depthwise(x: np.ndarray, weight: np.ndarray, out: np.ndarray, padding, stride, dilation,
                   epilogue: Epilogue, scale: np.ndarray | None = None) -> None:
    """out (N, C·m, OH, OW) = the depthwise convolution of x (N, C, H, W) by weight (C·m, 1, kh, kw),
    zero-padded by (top, bottom, left, right); then `epilogue` (its scale already None: `scale` is
    folded into the banded weights) on each slice of channels before it is moved into `out`.

    BLAS runs at one thread here: each channel's GEMM is small, and outside a shard (a batch of one,
    or a small network) BLAS would split the larger ones over its threads at a loss (a 144-channel
    3×3 layer at batch 8: 47.7 ms against 12.3 on one thread). Dealing the channels out to threads
    of our own instead measured no faster on whole networks at batch 1 (ConvNeXt-T 0.99–1.03×,
    MobileNetV2 1.26× when every layer was split)."""
    from ..threads import blas_threads, single_threaded_blas
    with single_threaded_blas() if blas_threads() > 1 else nullcontext():
        _conv_channels(x, weight, out, padding, stride, dilation, epilogue, scale)


def _conv_channels(x: np.ndarray, weight: np.ndarray, out: np.ndarray, padding, stride, dilation,
                   epilogue: Epilogue, scale: np.ndarray | None) -> None:
    """conv_depthwise on this thread: a slice of channels at a time."""
    n, c, h, w = x.shape
    oc, _, kh, kw = weight.shape
    mult = oc // c
    oh, ow = out.shape[2:]
    (sh, sw), (dh, dw) = stride, dilation
    t, b, l, _ = padding
    p = _plan(n, c, w, kh, kw, oh, ow, padding, sw, dw, out.dtype.itemsize)
    band = banded_weights(weight, p.wb, sw, dw, out.dtype, scale).reshape(c, mult, kh * p.length, p.wb)
    for c0 in range(0, c, p.step):
        cs = min(p.step, c - c0)
        pad = _padded_buffer((n, cs, h, w), (t, b, l, p.right), x.dtype)
        np.copyto(pad[:, :, t:t + h, l:l + w], x[:, c0:c0 + cs])
        sb, sc, sy, sx = pad.strides
        runs = as_strided(pad, (cs, n, oh, p.blocks, kh, p.length),
                          (sc, sb, sh * sy, p.wb * sw * sx, dh * sy, sx), writeable=False)
        col = _buffer("col", (cs, n, oh, p.blocks, kh, p.length), x.dtype)
        np.copyto(col, runs)
        res = np.matmul(col.reshape(cs, 1, p.rows, kh * p.length), band[c0:c0 + cs],
                        out=_buffer("result", (cs, mult, p.rows, p.wb), x.dtype))
        # The columns past OW too: cheaper than skipping them.
        epilogue.channels(c0 * mult, (c0 + cs) * mult).apply(res.reshape(cs * mult, p.rows * p.wb), 0)
        res = res.reshape(cs * mult, n, oh, p.blocks * p.wb)[:, :, :, :ow]
        np.copyto(out[:, c0 * mult:(c0 + cs) * mult], res.transpose(1, 0, 2, 3))


@dataclass(frozen=True)
class _Plan:
    """How conv_depthwise cuts a layer: blocks of wb outputs reading `length` inputs a kernel row,
    `right` columns of zeros to the right (as far as the last block reads: its columns past OW are
    dropped), `rows` GEMM rows a channel, `step` channels a slice."""

    wb: int
    blocks: int
    length: int
    right: int
    rows: int
    step: int


def _plan(n: int, c: int, w: int, kh: int, kw: int, oh: int, ow: int, padding, stride_w: int, dilation_w: int,
          itemsize: int) -> _Plan:
    """The kernel's cuts and its estimate's (scratch_bytes), from one place."""
    wb = block_width(ow)
    blocks = -(-ow // wb)
    length = run_length(wb, kw, stride_w, dilation_w)
    right = max(padding[3], (blocks - 1) * wb * stride_w + length - padding[2] - w)
    rows = n * oh * blocks
    return _Plan(wb, blocks, length, right, rows, slice_channels(c, rows, kh, length, itemsize))


def slice_channels(c: int, rows: int, kh: int, length: int, itemsize: int) -> int:
    """Input channels per slice: col of a slice within SLICE_BYTES (at least one channel)."""
    return max(1, min(c, SLICE_BYTES // max(rows * kh * length * itemsize, 1)))


def scratch_bytes(n: int, c: int, h: int, w: int, oc: int, kh: int, kw: int, oh: int, ow: int, padding,
                  stride, dilation, itemsize: int) -> int:
    """Bytes of the buffers conv_depthwise keeps for this layer: a slice's padded input, col and
    product."""
    t, b, l, _ = padding
    p = _plan(n, c, w, kh, kw, oh, ow, padding, stride[1], dilation[1], itemsize)
    pad = n * p.step * (t + h + b) * (l + w + p.right)
    return itemsize * (pad + p.step * p.rows * kh * p.length + p.step * (oc // c) * p.rows * p.wb)


def banded_bytes(oc: int, kh: int, kw: int, ow: int, stride: int, dilation: int, itemsize: int) -> int:
    """Bytes of the banded weights T kept for this layer."""
    wb = block_width(ow)
    return oc * kh * run_length(wb, kw, stride, dilation) * wb * itemsize
