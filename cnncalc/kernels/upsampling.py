"""Transposed convolution and upsampling (NCHW), the decoders' kernels.

conv_transpose2d is the adjoint of im2col convolution ("col2im"): one matmul per group turns every
input pixel into its C_out/g·kh·kw contributions, `cols = Wᵀ @ x`, and each kernel tap (i, j) is
then added into the output at rows i·d + s·h, columns j·d + s·w: kh·kw strided slice additions
instead of the textbook's loop over every input pixel. The full (uncropped) map is built and
`padding` cropped from it, exactly as PyTorch defines the operation.

Upsampling is separable: nearest repeats rows and columns; bilinear blends two rows, then two
columns, with weights from the exact source coordinate (cnncalc.layers.upsampling.source_points,
the rule the receptive field uses too).
"""
from __future__ import annotations

import numpy as np

from ..errors import CnnError


def conv_transpose2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride, padding, output_padding,
                     dilation=(1, 1), groups: int = 1) -> np.ndarray:
    """x (N, C_in, H, W), weight (C_in, C_out/g, kh, kw) as PyTorch stores it -> (N, C_out, OH, OW) with
    OH = (H − 1)·s − 2·p + d·(kh − 1) + output_padding + 1 per axis."""
    n, c, h, w = x.shape
    cin, cog, kh, kw = weight.shape
    if c != cin or c % groups:
        raise CnnError(f"the input has {c} channels, but the transposed convolution's weight takes {cin} "
                       f"(in {groups} groups); give a weight of shape {c}×{cog}×{kh}×{kw}")
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    dtype = np.result_type(x.dtype, weight.dtype)
    # The full map reaches at least p + out on each axis (output_padding may pass its last tap).
    full_h = max((h - 1) * sh + dh * (kh - 1) + 1, ph + oh)
    full_w = max((w - 1) * sw + dw * (kw - 1) + 1, pw + ow)
    full = np.zeros((n, groups, cog, full_h, full_w), dtype=dtype)
    cg = c // groups
    xg = x.reshape(n, groups, cg, h * w).astype(dtype, copy=False)
    wg = weight.reshape(groups, cg, cog * kh * kw).astype(dtype, copy=False)
    # cols[n, g, (o, i, j), pixel] = Σ_c w[g, c, o, i, j]·x[n, g, c, pixel]: one batched matmul.
    cols = np.matmul(wg.transpose(0, 2, 1)[None], xg).reshape(n, groups, cog, kh, kw, h, w)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            full[:, :, :, r0:r0 + (h - 1) * sh + 1:sh, c0:c0 + (w - 1) * sw + 1:sw] += cols[:, :, :, i, j]
    out = full[:, :, :, ph:ph + oh, pw:pw + ow].reshape(n, groups * cog, oh, ow)
    out = np.ascontiguousarray(out)
    if bias is not None:
        out += bias.astype(dtype, copy=False).reshape(1, -1, 1, 1)
    return out


def upsample_nearest(x: np.ndarray, factors: tuple[int, int], strides: tuple[int, int] = (1, 1)) -> np.ndarray:
    """Nearest neighbour by whole factors: output (oh, ow) reads input (⌊oh/f⌋·s, …): `factors`
    repeat (upsampling), `strides` pick every s-th pixel (a size that divides the input)."""
    y = x[:, :, ::strides[0], ::strides[1]]
    fh, fw = factors
    if fh == fw == 1:
        return np.ascontiguousarray(y)
    n, c, h, w = y.shape
    out = np.empty((n, c, h, fh, w, fw), dtype=x.dtype)
    out[...] = y[:, :, :, None, :, None]
    return out.reshape(n, c, h * fh, w * fw)


def upsample_bilinear(x: np.ndarray, rows: tuple, cols: tuple) -> np.ndarray:
    """Bilinear: `rows` and `cols` are (first index, second index, weight of the second) per output
    row/column, the second index already clamped to the input; blended along H, then along W."""
    i0, i1, lam = (np.asarray(a) for a in rows)
    lam = lam.astype(x.dtype)[:, None]
    y = x[:, :, i0, :] * (1 - lam) + x[:, :, i1, :] * lam
    j0, j1, mu = (np.asarray(a) for a in cols)
    mu = mu.astype(x.dtype)
    return y[:, :, :, j0] * (1 - mu) + y[:, :, :, j1] * mu


def transposed_scratch_bytes(in_shape, out_shape, kernel, stride, dilation, padding, itemsize: int,
                             batch: int) -> int:
    """What conv_transpose2d allocates beyond its input and output: the contributions `cols`
    (C_out·kh·kw per input pixel), the full, uncropped map, and the copies of the input and the
    (transposed) weight the batched matmul may make (measured: tests/test_upsampling.py)."""
    c_in, h, w = in_shape
    c_out, oh, ow = out_shape
    full_h = max((h - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1, padding[0] + oh)
    full_w = max((w - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1, padding[1] + ow)
    taps = kernel[0] * kernel[1]
    per_sample = c_out * (taps * h * w + full_h * full_w) + c_in * h * w
    return itemsize * (batch * per_sample + c_in * c_out * taps)


def bilinear_scratch_bytes(in_shape, out_shape, itemsize: int, batch: int) -> int:
    """upsample_bilinear's temporaries: the two gathered rows, their blend and the H-pass result
    (C·OH·W each), then the two gathered columns of the W pass (C·OH·OW each)."""
    c, _, w = in_shape
    _, oh, ow = out_shape
    return batch * itemsize * c * oh * (4 * w + 2 * ow)
