"""2-D convolution by vectorized im2col: one strided copy builds the column matrix of a chunk of the
batch, one matmul per chunk, `W(g, OC/g, C/g·kh·kw) @ col(n, g, C/g·kh·kw, OH·OW)`, which lands in
NCHW without a transpose. A 1×1 conv with stride 1 is a reshape + matmul, no im2col."""
from __future__ import annotations

import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# The column buffer of one chunk stays near this size (a whole sample is the smallest chunk).
COL_BUDGET_BYTES = 8 * 1024 * 1024

# One scratch buffer, reused by every call: a fresh multi-MB array per layer costs page faults that
# take longer than the copy itself. Thread-local, so kernels may run in several threads at once.
_scratch = threading.local()

# Output maps with fewer positions than this are computed with the batch side by side in one matmul.
WIDE_ENOUGH = 1024


def _column_buffer(shape, dtype) -> np.ndarray:
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(nbytes, dtype=np.uint8)
        _scratch.buf = buf
    return buf[:nbytes].view(dtype).reshape(shape)


def _out_size(size: int, lo: int, hi: int, k: int, s: int, d: int) -> int:
    k_eff = d * (k - 1) + 1
    span = size + lo + hi - k_eff
    if span < 0:
        raise ValueError(f"kernel {k_eff} is larger than the padded input {size + lo + hi}")
    return span // s + 1


def col_buffer_bytes(in_shape, weight_shape, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                     itemsize: int = 4, batch: int = 1) -> int:
    """Bytes of the largest column buffer conv2d allocates for this layer (0 on the 1×1 fast path)."""
    c, h, w = in_shape[-3:]
    _, _, kh, kw = weight_shape
    t, b, l, r = padding
    oh = _out_size(h, t, b, kh, stride[0], dilation[0])
    ow = _out_size(w, l, r, kw, stride[1], dilation[1])
    if kh == kw == 1 and tuple(stride) == (1, 1) and not any(padding):
        return 0
    per_sample = c * kh * kw * oh * ow * itemsize
    n = max(1, min(batch, COL_BUDGET_BYTES // max(per_sample, 1)))
    return n * per_sample


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride=(1, 1),
           padding=(0, 0, 0, 0), dilation=(1, 1), groups: int = 1) -> np.ndarray:
    """x (N, C, H, W), weight (OC, C/groups, kh, kw), padding (top, bottom, left, right) -> (N, OC, OH, OW)."""
    n, c, h, w = x.shape
    oc, cg, kh, kw = weight.shape
    sh, sw = stride
    dh, dw = dilation
    t, b, l, r = padding
    if c != cg * groups:
        raise ValueError(f"input has {c} channels, weight expects {cg}×{groups}")
    oh = _out_size(h, t, b, kh, sh, dh)
    ow = _out_size(w, l, r, kw, sw, dw)
    dtype = np.result_type(x, weight)
    wmat = weight.reshape(groups, oc // groups, cg * kh * kw).astype(dtype, copy=False)
    out = np.empty((n, oc, oh, ow), dtype=dtype)
    out_g = out.reshape(n, groups, oc // groups, oh * ow)

    if kh == kw == 1 and (sh, sw) == (1, 1) and not any(padding) and oh * ow >= WIDE_ENOUGH:
        # 1×1: the input already is the column matrix.
        np.matmul(wmat, x.reshape(n, groups, cg, h * w), out=out_g)
    elif oh * ow < WIDE_ENOUGH:
        # Small maps (deep layers): OH·OW columns per sample are too few for a fast matmul, so the
        # chunk's samples sit side by side in one wide column matrix, col(g, C/g·kh·kw, n·OH·OW);
        # the (small) result is then moved into NCHW.
        if any(padding):
            x = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))
        keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        win = sliding_window_view(x, (keh, kew), axis=(2, 3))
        win = win[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]
        win = win.transpose(1, 4, 5, 0, 2, 3)  # (C, kh, kw, N, OH, OW)
        per_sample = c * kh * kw * oh * ow * dtype.itemsize
        step = max(1, COL_BUDGET_BYTES // max(per_sample, 1))
        for i in range(0, n, step):
            j = min(i + step, n)
            col = _column_buffer((c, kh, kw, j - i, oh, ow), dtype)
            np.copyto(col, win[:, :, :, i:j])
            res = np.matmul(wmat, col.reshape(groups, cg * kh * kw, (j - i) * oh * ow))
            np.copyto(out_g[i:j], res.reshape(groups, oc // groups, j - i, oh * ow).transpose(2, 0, 1, 3))
    else:
        if any(padding):
            x = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))
        keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        win = sliding_window_view(x, (keh, kew), axis=(2, 3))  # (N, C, H', W', keh, kew)
        win = win[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]
        win = win.transpose(0, 1, 4, 5, 2, 3)  # (N, C, kh, kw, OH, OW)
        per_sample = c * kh * kw * oh * ow * dtype.itemsize
        step = max(1, COL_BUDGET_BYTES // max(per_sample, 1))
        buf = _column_buffer((min(step, n), c, kh, kw, oh, ow), dtype)
        for i in range(0, n, step):
            j = min(i + step, n)
            col = buf[: j - i]
            np.copyto(col, win[i:j])  # the one copy: im2col
            np.matmul(wmat, col.reshape(j - i, groups, cg * kh * kw, oh * ow), out=out_g[i:j])
    if bias is not None:
        out += bias.astype(dtype, copy=False).reshape(1, oc, 1, 1)
    return out
