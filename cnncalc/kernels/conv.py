"""2-D convolution by vectorized im2col: one copy builds the column matrix of a chunk of the batch,
one matmul per chunk, `W(g, OC/g, C/g·kh·kw) @ col(g, C/g·kh·kw, positions)`. Four paths, chosen by
the layer's shape:

- 1×1, stride 1, no padding: the input already is the column matrix (reshape + matmul), whatever
  the map's size.
- stride 1, maps of 100 positions or more: "flat" im2col. In a padded map stored row by row, the
  tap (i, j) of every output position p = oh·Wp + ow is element p + i·d·Wp + j·d: a contiguous run.
  So each row of the column matrix is one contiguous slice (a memcpy, not a gather), at the cost of
  computing Wp − OW junk columns per output row, dropped when the result is moved into NCHW.
- strided, large maps: a strided window view copied into col(n, C·kh·kw, OH·OW), whose product lands
  in NCHW without a transpose.
- small strided maps and tiny maps: OH·OW columns per sample are too few for a fast matmul, so the
  chunk's samples sit side by side in one wide column matrix.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ..errors import CnnError
from ..shapes import AxisResult
from .prepared import scaled, with_shift_column

# The column buffer of one chunk stays near this size (a whole sample is the smallest chunk).
# Measured on ResNet-18's layers at batch 8 and the bench suite: 4 MiB beats 2, 8, 16 and 32 MiB
# by 5–30% on 14×14 and 28×28 maps (the chunk stays in cache) and ties on the rest.
COL_BUDGET_BYTES = 4 * 1024 * 1024

# Output maps with fewer positions than this that take neither the 1×1 nor the flat path (strided
# ones, and stride-1 ones under FLAT_ENOUGH) are computed with the batch side by side in one matmul.
# (Not 1×1 stride-1 layers: with no copy to share out, one matmul per sample beat the side by side
# copy at every size, 7×7 included: 0.32–0.98× the time at batch 1 and 8, docs/forward.md.)
WIDE_ENOUGH = 1024
# Stride-1 maps with at least this many positions take the flat path (measured on ResNet-18's
# layers: from 14×14 up it beats the side-by-side gather; at 7×7 the two are even).
FLAT_ENOUGH = 100

# Scratch buffers, reused by every call: a fresh multi-MB array per layer costs page faults that
# take longer than the copy itself. Thread-local, so kernels may run in several threads at once.
_scratch = threading.local()


def _buffer(name: str, shape, dtype) -> np.ndarray:
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buf = getattr(_scratch, name, None)
    if buf is None or buf.nbytes < nbytes:
        # Room to spare: layers whose chunks are a little over the budget (a whole sample is the
        # smallest chunk) would otherwise take turns reallocating it, a page fault per 4 KiB.
        buf = np.empty(max(nbytes, 2 * COL_BUDGET_BYTES, 0 if buf is None else buf.nbytes * 3 // 2), dtype=np.uint8)
        setattr(_scratch, name, buf)
    return buf[:nbytes].view(dtype).reshape(shape)


@dataclass(frozen=True)
class Epilogue:
    """What follows a convolution, done by its kernel to each block of the output while the block is
    still in cache (cnncalc.fusion): x·scale + shift per output channel (a batch norm; the conv's
    own bias is in `shift`), then a pointwise activation in place. A separate pass over ResNet-18's
    activations costs about as much as reading them from memory again; a block in cache, a fraction.
    conv2d moves the scale into the weights (kernels.prepared) and Winograd the shift into its
    transformed tiles, so the kernels' blocks mostly see only the activation and the check."""

    scale: np.ndarray | None = None  # (OC,)
    shift: np.ndarray | None = None  # (OC,)
    activation: Callable[[np.ndarray], object] | None = None
    # Set to False when a block holds inf or NaN: the forward pass's overflow check, made on each
    # block in cache instead of in one more pass over the output (2% of ResNet-18's time).
    watch: "FiniteWatch | None" = None

    def with_bias(self, bias: np.ndarray | None) -> "Epilogue":
        """The conv's bias b folded in: (x + b)·scale + shift = x·scale + (b·scale + shift)."""
        if bias is None:
            return self
        shift = bias if self.scale is None else bias * self.scale
        if self.shift is not None:
            shift = shift + self.shift
        return replace(self, shift=shift)

    def channels(self, lo: int, hi: int) -> "Epilogue":
        """This epilogue for output channels lo … hi − 1 alone (a kernel's slice of channels)."""
        return replace(self, scale=None if self.scale is None else self.scale[lo:hi],
                       shift=None if self.shift is None else self.shift[lo:hi])

    def apply(self, block: np.ndarray, axis: int) -> None:
        """In place on a block whose output channels lie along `axis` (a view will do: the strided
        path's runs of rows are; a C-contiguous block is fastest)."""
        shape = [1] * block.ndim
        shape[axis] = -1
        if self.scale is not None:
            np.multiply(block, self.scale.astype(block.dtype, copy=False).reshape(shape), out=block)
        if self.shift is not None:
            np.add(block, self.shift.astype(block.dtype, copy=False).reshape(shape), out=block)
        if self.activation is not None:
            self.activation(block)
        if self.watch is not None and self.watch.finite and not np.isfinite(block.sum()):
            self.watch.finite = False


@dataclass
class FiniteWatch:
    """Whether every block an Epilogue saw was finite (a sum in the block's dtype: a finite block
    whose sum overflows reads as not finite, and the caller then counts the values themselves)."""

    finite: bool = True


def geometry(axes: Sequence[AxisResult]) -> tuple[tuple[int, int], tuple[int, int, int, int], tuple[int, int]]:
    """(OH, OW), padding (top, bottom, left, right) and stride from the engine's per-axis results
    (cnncalc.shapes: the one output-size rule; the kernels never recompute it)."""
    h, w = axes
    return (h.size, w.size), (h.pad_lo, h.pad_hi, w.pad_lo, w.pad_hi), (h.stride, w.stride)


def _check_fits(size: int, axis: AxisResult, k_eff: int) -> None:
    """Every window must lie inside the padded input: the geometry belongs to this input."""
    padded = size + axis.pad_lo + axis.pad_hi
    if axis.size < 1 or (axis.size - 1) * axis.stride + k_eff > padded:
        raise CnnError(f"{axis.axis}: {axis.size} windows of {k_eff} at stride {axis.stride} do not fit the "
                       f"padded input {padded}; compute the geometry for this input (shapes.window_axis)")


def _path(kh: int, kw: int, stride, padding, oh: int, ow: int) -> str:
    if kh == kw == 1 and tuple(stride) == (1, 1) and not any(padding):
        return "1x1"
    if tuple(stride) == (1, 1) and oh * ow >= FLAT_ENOUGH:
        return "flat"
    return "side-by-side" if oh * ow < WIDE_ENOUGH else "windows"


def col_buffer_bytes(in_shape, weight_shape, axes: Sequence[AxisResult], dilation=(1, 1), itemsize: int = 4,
                     batch: int = 1, blas_threads: int | None = None) -> int:
    """Bytes of the scratch buffers conv2d uses for this layer: the column matrix of one chunk, the
    padded input and the matmul's result where the path has them (0 on the 1×1 fast path). The
    buffers are kept between calls, so this is the layer's footprint beyond its output.
    `blas_threads` as winograd_tile's."""
    c, h, w = in_shape[-3:]
    oc, _, kh, kw = weight_shape
    (oh, ow), padding, stride = geometry(axes)
    t, b, l, r = padding
    hp, wp = h + t + b, w + l + r
    path = _path(kh, kw, stride, padding, oh, ow)
    tile = winograd_tile(weight_shape, stride, dilation, c // weight_shape[1], batch, (oh, ow), itemsize,
                         blas_threads)
    if tile:
        from .winograd import block_bytes
        return block_bytes(c, oc, oh, ow, batch, tile, itemsize)
    if banded(c, c // weight_shape[1]):
        from .depthwise import scratch_bytes
        return scratch_bytes(batch, c, h, w, oc, kh, kw, oh, ow, padding, stride, dilation, itemsize)
    if path == "1x1":
        return 0
    if path == "flat":
        positions = oh * wp
        step = _chunk(c * kh * kw * positions * itemsize, batch)
        return step * (c * kh * kw * positions + c * (hp + 1) * wp + oc * positions) * itemsize
    step, rows = window_rows(c * kh * kw * oh * ow * itemsize, batch, oh) if path == "windows" else (
        _chunk(c * kh * kw * oh * ow * itemsize, batch), oh)
    col = step * c * kh * kw * rows * ow * itemsize
    pad = step * c * hp * wp * itemsize if any(padding) else 0  # padded a chunk at a time
    result = step * oc * oh * ow * itemsize if path == "side-by-side" else 0
    return col + pad + result


def prepared_bytes(in_shape, weight_shape, axes: Sequence[AxisResult], dilation=(1, 1), itemsize: int = 4,
                   batch: int = 1, scale: bool = False, shift: bool = False, blas_threads: int | None = None) -> int:
    """Bytes of the weights conv2d prepares for this layer and keeps for the process
    (kernels.prepared): Winograd's transform U (α² × C_out × C_in); else, with a bias or a batch
    norm's `shift` on im2col, the weights with the shift as one more column; else, with a fused
    batch norm's `scale`, the weights with it folded in (the first two fold it inside).
    `blas_threads` as winograd_tile's."""
    c, h, w = in_shape[-3:]
    oc, cg, kh, kw = weight_shape
    groups = c // cg
    (oh, ow), padding, stride = geometry(axes)
    tile = winograd_tile(weight_shape, stride, dilation, groups, batch, (oh, ow), itemsize, blas_threads)
    if tile:
        return (tile + 2) ** 2 * oc * cg * itemsize
    if banded(c, groups):
        from .depthwise import banded_bytes
        return banded_bytes(oc, kh, kw, ow, stride[1], dilation[1], itemsize)
    if shift and groups == 1 and _path(kh, kw, stride, padding, oh, ow) != "1x1":
        return oc * (cg * kh * kw + 1) * itemsize
    return oc * cg * kh * kw * itemsize if scale else 0


# Which algorithm 3×3 stride-1 layers use: "auto" (the rule below), "im2col" or
# "winograd" (F(2×2, 3×3) wherever it applies), "winograd4" (F(4×4, 3×3)). `cnncalc forward --conv-path`.
CONV_PATHS = ("auto", "im2col", "winograd", "winograd4")
_conv_path = threading.local()


def conv_path() -> str:
    """This thread's conv algorithm setting."""
    return getattr(_conv_path, "value", "auto")


def set_conv_path(path: str) -> str:
    """Force the conv algorithm for this thread; returns the previous setting."""
    if path not in CONV_PATHS:
        raise CnnError(f"unknown conv path {path!r}; use one of {', '.join(CONV_PATHS)}")
    before = conv_path()
    _conv_path.value = path
    return before


# The auto rule (docs/forward.md § The kernels), from single-thread CPU-time measurements of every
# 3×3 stride-1 shape of ResNet-18 / VGG-16 at batch 1 and 8, float32 and float64, against im2col:
# Winograd's α² GEMMs need enough tile columns per block to reuse the transformed weights over (U is
# α²/9 times the weights: 4× for F(4×4)), and enough channels for its transforms to pay off.
# - fewer than 32 channels in or out: im2col (3→64 at 224×224: im2col 2.6× faster; 16→16 1.3×);
# - F(4×4) when a block holds ≥ 48 of its tiles (64→64 at 56×56: 0.55× im2col's time, 128→128 at
#   28×28 batch 1: 0.64×), else F(2×2) when a block holds ≥ 64 of its tiles (512→512 at 7×7 batch
#   8: 0.85×), else im2col (256→256 at 14×14 batch 1: F(2×2) 1.1×, F(4×4) 1.35× im2col's time).
# A layer that runs unsharded with BLAS on several threads (a batch of one) is another case: both
# GEMMs get every core, im2col's copy does not, and F(2×2) wins from 32 tiles a block (wall clock, 2
# threads, batch 1: 256→256 at 14×14 1.36–1.43 ms against im2col's 1.75–1.78 in float32, 2.5–2.6
# against 3.3–3.4 in float64; VGG-16's 512→512 at 14×14 5.1–5.2 against 7.9–8.0), while at 7×7
# (16 tiles) the two tie.
# Both Winograd variants stay within the accuracy targets (docs/forward.md: F(4×4) ≈ 1e-5 of the
# output's scale in float32, F(2×2) ≈ 6e-7, im2col ≈ 5e-7).
WINOGRAD_MIN_CHANNELS = 32
F4_MIN_TILES = 48
F2_MIN_TILES = 64
F2_MIN_TILES_THREADED = 32


def _auto_tile(channels: int, filters: int, batch: int, oh: int, ow: int, itemsize: int,
               blas_threads: int = 1) -> int:
    from .winograd import _blocking
    if min(channels, filters) < WINOGRAD_MIN_CHANNELS:
        return 0
    f2_min = F2_MIN_TILES_THREADED if blas_threads > 1 else F2_MIN_TILES
    for m, enough in ((4, F4_MIN_TILES), (2, f2_min)):
        th, tw = -(-oh // m), -(-ow // m)
        samples, rows = _blocking(batch, channels, th, tw, m, itemsize)
        if samples * rows * tw >= enough:
            return m
    return 0


def banded(in_channels: int, groups: int) -> bool:
    """Whether a layer runs as a depthwise convolution against banded weights (kernels.depthwise):
    every depthwise layer, unless this thread's conv path is im2col. One rule for all: ConvNeXt's 7×7
    layers take 0.26–0.36× im2col's time, MobileNet's 3×3 ones 0.44–0.98×, but for one shape (192
    channels at 28×28, 1.17×: docs/forward.md § The kernels)."""
    from .depthwise import applies
    return conv_path() != "im2col" and applies(in_channels, groups)


def winograd_tile(weight_shape, stride, dilation, groups: int, batch: int = 1, out_hw=(0, 0),
                  itemsize: int = 4, blas_threads: int | None = None) -> int:
    """The Winograd output tile m (2 or 4) this layer runs with, or 0 for im2col. `blas_threads`:
    the BLAS threads its GEMMs get (default: this thread's, cnncalc.threads.blas_threads)."""
    from .winograd import applies
    kh, kw = weight_shape[2:]
    path = conv_path()
    if path == "im2col" or not applies((kh, kw), stride, dilation, groups):
        return 0
    if path == "winograd4":
        return 4
    if path == "winograd":
        return 2
    if blas_threads is None:
        from ..threads import blas_threads as here
        blas_threads = here()
    return _auto_tile(weight_shape[1], weight_shape[0], batch, *out_hw, itemsize, blas_threads)


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, axes: Sequence[AxisResult],
           dilation=(1, 1), groups: int = 1, epilogue: Epilogue | None = None,
           out: np.ndarray | None = None) -> np.ndarray:
    """x (N, C, H, W), weight (OC, C/groups, kh, kw) -> (N, OC, OH, OW). `axes`: the layer's output
    per axis as the engine computed it (size, pad_lo, pad_hi, stride). `epilogue`: the layers fused
    after it (the bias is added before it). `out`: a C-contiguous array of the output's shape and
    dtype to write into (a shard of a larger batch's output)."""
    n, c, h, w = x.shape
    oc, cg, kh, kw = weight.shape
    if c != cg * groups:
        raise CnnError(f"the input has {c} channels, but the weight takes {cg} per group × {groups} groups; "
                       f"give a weight of shape {oc}×{c // groups}×{kh}×{kw}")
    (oh, ow), padding, stride = geometry(axes)
    _check_fits(h, axes[0], dilation[0] * (kh - 1) + 1)
    _check_fits(w, axes[1], dilation[1] * (kw - 1) + 1)
    dtype = np.result_type(x, weight)
    x = x.astype(dtype, copy=False)
    ep = (epilogue or Epilogue()).with_bias(bias)
    # A fused batch norm's scale goes into the weights (kernels.prepared: kept, folded once), so the
    # kernels' blocks never see it.
    scale = ep.scale
    if scale is not None:
        ep = replace(ep, scale=None)
    weight = weight.astype(dtype, copy=False)
    if out is None:
        out = np.empty((n, oc, oh, ow), dtype=dtype)
    elif out.shape != (n, oc, oh, ow) or out.dtype != dtype or not out.flags.c_contiguous:
        raise CnnError(f"conv2d's out must be a C-contiguous {dtype} array of shape {(n, oc, oh, ow)}")
    path = _path(kh, kw, stride, padding, oh, ow)
    tile = winograd_tile(weight.shape, stride, dilation, groups, n, (oh, ow), dtype.itemsize)
    if tile:
        from .winograd import conv3x3
        conv3x3(x, weight, out, padding, tile, ep, scale)  # folded inside its transform's entry
        return out
    if banded(c, groups):
        from .depthwise import conv_depthwise
        conv_depthwise(x, weight, out, padding, stride, dilation, ep, scale)  # folded inside its banded weights
        return out
    ones = ep.shift is not None and groups == 1 and path != "1x1"
    if ones:
        # The shift (bias, batch norm) as one more column of W against a row of ones in the column
        # matrix: the GEMM adds it, with 1/(C·kh·kw) more work, instead of a pass over the output.
        wmat = with_shift_column(weight, ep.shift, dtype, scale)
        ep = replace(ep, shift=None)
    else:
        if scale is not None:
            weight = scaled(weight, scale, dtype)
        wmat = weight.reshape(groups, oc // groups, cg * kh * kw)
    if path == "1x1":
        np.matmul(wmat, x.reshape(n, groups, cg, h * w), out=out.reshape(n, groups, oc // groups, oh * ow))
        ep.apply(out, 1)
        return out
    if path == "flat":
        _conv_flat(x, wmat, out, padding, dilation, (kh, kw), ep, ones)
    elif path == "side-by-side":
        _conv_side_by_side(x, wmat, out, stride, padding, dilation, (kh, kw), ep, ones)
    else:
        _conv_windows(x, wmat, out, stride, padding, dilation, (kh, kw), ep, ones)
    return out


def _chunk(per_sample_bytes: int, n: int) -> int:
    return max(1, min(n, COL_BUDGET_BYTES // max(per_sample_bytes, 1)))


def _conv_flat(x, wmat, out, padding, dilation, kernel, ep: Epilogue, ones: bool = False) -> None:
    """Stride 1: each column-matrix row is one contiguous run of the padded, flattened map. `ones`:
    wmat's last column is the shift, for a last row of ones in the column matrix."""
    n, c, h, w = x.shape
    groups, ocg, ckk = wmat.shape
    _, oc, oh, ow = out.shape
    kh, kw = kernel
    dh, dw = dilation
    t, b, l, r = padding
    wp = w + l + r
    positions = oh * wp  # per sample, junk columns included
    item = x.itemsize
    step = _chunk(c * kh * kw * positions * item, n)
    # One spare row at the bottom keeps the last tap's run inside the buffer.
    pad = _padded_buffer((step, c, h, w), padding, x.dtype, spare_rows=1)
    for i in range(0, n, step):
        m = min(step, n - i)
        np.copyto(pad[:m, :, t:t + h, l:l + w], x[i:i + m])
        # (C, kh, kw, m, positions): tap (ki, kj) of channel ch starts at ki·dh·wp + kj·dw.
        taps = as_strided(pad, (c, kh, kw, m, positions),
                          (pad.strides[1], dh * wp * item, dw * item, pad.strides[0], item), writeable=False)
        col, matrix = _columns((c, kh, kw, m, positions), ones, x.dtype)
        np.copyto(col, taps)
        res = np.matmul(wmat, matrix.reshape(groups, ckk, m * positions),
                        out=_buffer("result", (groups, ocg, m * positions), x.dtype))
        ep.apply(res.reshape(oc, m * positions), 0)  # the junk columns too: cheaper than skipping them
        res = res.reshape(oc, m, oh, wp)[:, :, :, :ow]
        np.copyto(out[i:i + m], res.transpose(1, 0, 2, 3))


def _columns(shape, ones: bool, dtype) -> tuple[np.ndarray, np.ndarray]:
    """The column buffer of a chunk: (col, shaped (C, kh, kw, …) for the copy; the matrix the GEMM
    reads, C·kh·kw rows, and with `ones` a last row of ones)."""
    rows, per_row = math.prod(shape[:3]), math.prod(shape[3:])
    matrix = _buffer("col", (rows + ones, per_row), dtype)
    if ones:
        matrix[-1] = 1
    return matrix[:rows].reshape(shape), matrix


def _padded_buffer(shape, padding, dtype, spare_rows: int = 0) -> np.ndarray:
    """A reused scratch buffer for a padded batch, (n, C, t + H + b + spare_rows, l + W + r), whose
    border is zero; the caller copies the input into its interior."""
    n, c, h, w = shape
    t, b, l, r = padding
    pad = _buffer("pad", (n, c, t + h + b + spare_rows, l + w + r), dtype)
    pad[:, :, :t] = 0
    pad[:, :, t + h:] = 0
    pad[:, :, t:t + h, :l] = 0
    pad[:, :, t:t + h, l + w:] = 0
    return pad


def _windows(x, stride, padding, dilation, kernel, oh, ow):
    """(N, C, OH, OW, kh, kw) view of the padded input's windows (the padded copy lives in a
    reused buffer: a fresh np.pad per layer costs a page fault per 4 KiB)."""
    t, b, l, r = padding
    if any(padding):
        n, c, h, w = x.shape
        pad = _padded_buffer(x.shape, padding, x.dtype)
        np.copyto(pad[:, :, t:t + h, l:l + w], x)
        x = pad
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    win = sliding_window_view(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return win[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]


def _conv_windows(x, wmat, out, stride, padding, dilation, kernel, ep: Epilogue, ones: bool = False) -> None:
    """Large strided maps: col(n, C·kh·kw, OH·OW) per chunk of samples, or per run of output rows
    of one sample (window_rows); the product lands in NCHW."""
    n, c = x.shape[:2]
    groups, ocg, ckk = wmat.shape
    _, oc, oh, ow = out.shape
    kh, kw = kernel
    step, rows = window_rows(c * kh * kw * oh * ow * x.itemsize, n, oh)
    out_g = out.reshape(n, groups, ocg, oh * ow)
    for i in range(0, n, step):
        m = min(step, n - i)
        win = _windows(x[i:i + m], stride, padding, dilation, kernel, oh, ow).transpose(0, 1, 4, 5, 2, 3)
        for r0 in range(0, oh, rows):
            r = min(rows, oh - r0)
            if ones:  # per sample: C·kh·kw rows of taps, then a row of ones
                full = _buffer("col", (m, ckk, r * ow), x.dtype)
                full[:, -1] = 1
                col = full[:, :-1].reshape(m, c, kh, kw, r, ow)
            else:
                full = col = _buffer("col", (m, c, kh, kw, r, ow), x.dtype)
            np.copyto(col, win[:, :, :, :, r0:r0 + r])  # the one copy: im2col
            np.matmul(wmat, full.reshape(m, groups, ckk, r * ow), out=out_g[i:i + m, :, :, r0 * ow:(r0 + r) * ow])
            ep.apply(out[i:i + m, :, r0:r0 + r], 1)


# A sample whose column matrix is larger than this is cut into runs of output rows (the ResNet
# stem's, 7.4 MB a sample, into four runs of 28 rows), so that the copy and the GEMM meet in cache:
# in two shards at batch 8 the stem took 0.83–0.85× the time of whole samples (interleaved runs);
# runs of 4 MiB (two a sample) were no faster.
ROWS_BYTES = 2 * 1024 * 1024


def window_rows(per_sample_bytes: int, n: int, oh: int) -> tuple[int, int]:
    """(samples, output rows) per chunk of the strided path: whole samples within COL_BUDGET_BYTES,
    else one sample in as few even runs of rows as keep each within ROWS_BYTES."""
    step = _chunk(per_sample_bytes, n)
    if step > 1 or per_sample_bytes <= ROWS_BYTES:
        return step, oh
    runs = -(-per_sample_bytes // ROWS_BYTES)
    return 1, -(-oh // runs)


def _conv_side_by_side(x, wmat, out, stride, padding, dilation, kernel, ep: Epilogue, ones: bool = False) -> None:
    """Small maps: col(g, C/g·kh·kw, m·OH·OW), the chunk's samples side by side; the (small) result
    is then moved into NCHW."""
    n, c = x.shape[:2]
    groups, ocg, ckk = wmat.shape
    _, oc, oh, ow = out.shape
    kh, kw = kernel
    step = _chunk(c * kh * kw * oh * ow * x.itemsize, n)
    out_g = out.reshape(n, groups, ocg, oh * ow)
    for i in range(0, n, step):
        m = min(step, n - i)
        # (C, kh, kw, m, OH, OW), padded a chunk at a time so that the copy reads it from cache
        win = _windows(x[i:i + m], stride, padding, dilation, kernel, oh, ow).transpose(1, 4, 5, 0, 2, 3)
        col, matrix = _columns((c, kh, kw, m, oh, ow), ones, x.dtype)
        np.copyto(col, win)
        res = np.matmul(wmat, matrix.reshape(groups, ckk, m * oh * ow),
                        out=_buffer("result", (groups, ocg, m * oh * ow), x.dtype))
        ep.apply(res.reshape(oc, m * oh * ow), 0)
        np.copyto(out_g[i:i + m], res.reshape(groups, ocg, m, oh * ow).transpose(2, 0, 1, 3))
