"""3×3 stride-1 convolution by Winograd's minimal filtering (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", 2016): F(2×2, 3×3) and F(4×4, 3×3).

The output is cut into m×m tiles (m = 2 or 4); each reads an α×α input tile (α = m + 2). With the
transforms Bᵀ (α×α), G (α×3) and Aᵀ (m×α):

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,    summed over the input channels inside the ⊙,

so the α² elementwise products over all tiles and channels are α² independent matrix products:
`U(α², C_out, C_in) @ V(α², C_in, tiles)`, one batched `np.matmul`. Multiplications per output
point: α²·C_in/m² instead of 9·C_in (16/36 = 0.44 of direct for F(2×2), 36/144 = 0.25 for F(4×4)).

The input and output transforms are done on whole strided slices of the padded map (a transform
matrix row is a sum of ±1 / small-integer multiples of α slices), for a block of samples (or of
tile rows when one sample is large) whose transformed tiles stay near `BLOCK_BYTES`. Tiles lie in
the last axis, so no transpose is needed before or after the matmul. The weight transform is done
in float64 and rounded once.
"""
from __future__ import annotations

import weakref
import zlib

import numpy as np

from .conv import _buffer

# Transformed-tile block size (V): measured on the bench's conv3x3-56 / conv3x3-14 cases.
BLOCK_BYTES = 2 * 1024 * 1024
# Transformed weights kept between calls (ResNet-18's convolutions: about 80 MB for F(2×2) in
# float32, 180 MB for F(4×4)).
CACHE_BYTES = 256 * 1024 * 1024
_cache: dict = {}

_MATRICES = {
    2: (  # Bᵀ, G, Aᵀ of F(2×2, 3×3)
        np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64),
        np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]),
        np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64),
    ),
    4: (  # F(4×4, 3×3), points 0, ±1, ±2, ∞
        np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=np.float64),
        np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
        np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
                 dtype=np.float64),
    ),
}


def applies(kernel, stride, dilation, groups: int) -> bool:
    """Winograd F(m×m, 3×3) covers 3×3 kernels at stride 1, dilation 1, without groups."""
    return tuple(kernel) == (3, 3) and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1) and groups == 1


def multiplications(n: int, c: int, k: int, oh: int, ow: int, m: int) -> int:
    """Multiplications of the elementwise stage (the batched matmul): α²·tiles·C_in·C_out."""
    a = m + 2
    return n * (-(-oh // m)) * (-(-ow // m)) * a * a * c * k


def _combine(rows, get, out) -> None:
    """out[k] = Σ_j rows[k, j]·get(j), skipping zero coefficients; ±1 as add/subtract."""
    for k, row in enumerate(rows):
        dst = out(k)
        first = True
        for j, coef in enumerate(row):
            if coef == 0:
                continue
            src = get(j)
            if first:
                if coef == 1:
                    np.copyto(dst, src)
                else:
                    np.multiply(src, coef, out=dst)
                first = False
            elif coef == 1:
                dst += src
            elif coef == -1:
                dst -= src
            else:
                tmp = _buffer("wino_tmp", dst.shape, dst.dtype)
                np.multiply(src, coef, out=tmp)
                dst += tmp


def weight_transform(weight: np.ndarray, m: int, dtype) -> np.ndarray:
    """U = G g Gᵀ, as (α², C_out, C_in), computed in float64 and rounded once to `dtype`. Kept for
    the process (up to `CACHE_BYTES`), keyed by the array's identity and a CRC of its bytes, so a
    network run again with the same weights transforms them once."""
    key = (id(weight), weight.shape, weight.dtype.str, np.dtype(dtype).str, m)
    crc = zlib.crc32(np.ascontiguousarray(weight).view(np.uint8).reshape(-1))
    hit = _cache.get(key)
    if hit is not None and hit[0]() is weight and hit[1] == crc:
        return hit[2]
    _, g, _ = _MATRICES[m]
    a = m + 2
    k, c = weight.shape[:2]
    w64 = weight.astype(np.float64).reshape(k * c, 3, 3)
    # Elementwise einsums: BLAS on these skinny products is slower on a busy 2-core machine.
    u = np.einsum("ai,inb->abn", g, np.einsum("nij,bj->inb", w64, g))
    u = np.ascontiguousarray(u.reshape(a * a, k, c), dtype=dtype)
    while _cache and sum(v[2].nbytes for v in _cache.values()) + u.nbytes > CACHE_BYTES:
        del _cache[next(iter(_cache))]  # oldest first
    if u.nbytes <= CACHE_BYTES:
        _cache[key] = (weakref.ref(weight), crc, u)
    return u


def conv3x3(x: np.ndarray, weight: np.ndarray, out: np.ndarray, padding, m: int = 2) -> None:
    """out (N, K, OH, OW) = the 3×3 stride-1 convolution of x (N, C, H, W), zero-padded by
    (top, bottom, left, right), without bias."""
    bt, _, at = _MATRICES[m]
    a = m + 2
    n, c, h, w = x.shape
    k, oh, ow = out.shape[1:]
    t, _, l, _ = padding
    th, tw = -(-oh // m), -(-ow // m)  # tiles per column / row
    dtype = out.dtype
    item = dtype.itemsize
    u = weight_transform(weight, m, dtype)
    per_row = a * a * c * tw * item  # V bytes per tile row of one sample
    nb = max(1, min(n, BLOCK_BYTES // max(per_row * th, 1)))
    rows = th if nb > 1 else max(1, min(th, BLOCK_BYTES // max(per_row, 1)))
    hp, wp = th * m + 2, tw * m + 2
    # Padded input of one block, (C, nb, Hp, Wp): zeros around, and below/right up to whole tiles.
    pad = _buffer("wino_pad", (c, nb, hp, wp), dtype)
    pad[...] = 0
    for i in range(0, n, nb):
        b = min(nb, n - i)
        # Rows / columns of x that land inside the padded buffer.
        r0, r1 = max(0, -t), min(h, hp - t)
        c0, c1 = max(0, -l), min(w, wp - l)
        np.copyto(pad[:, :b, r0 + t:r1 + t, c0 + l:c1 + l], x[i:i + b, :, r0:r1, c0:c1].transpose(1, 0, 2, 3))
        for j in range(0, th, rows):
            q = min(rows, th - j)
            src = pad[:, :b, j * m:(j + q) * m + 2]
            # Row pass: R[ξ] = Σ_i Bᵀ[ξ, i]·(input rows i, i + m, …): (α, C, b, q, Wp).
            r = _buffer("wino_r", (a, c, b, q, wp), dtype)
            _combine(bt, lambda s: src[:, :, s:s + q * m:m], lambda s: r[s])
            # Column pass: V[ξ, ν] = Σ_j Bᵀ[ν, j]·R[ξ](columns j, j + m, …): (α, α, C, b, q, TW).
            v = _buffer("wino_v", (a, a, c, b, q, tw), dtype)
            _combine(bt, lambda s: r[..., s:s + tw * m:m], lambda s: v[:, s])
            prod = np.matmul(u, v.reshape(a * a, c, b * q * tw),
                             out=_buffer("wino_m", (a * a, k, b * q * tw), dtype)).reshape(a, a, k, b, q, tw)
            # Output transform: Aᵀ along ξ into S (m, α, K, b, q, TW), then along ν into the tiles.
            s_ = _buffer("wino_s", (m, a, k, b, q, tw), dtype)
            _combine(at, lambda s: prod[s], lambda s: s_[s])
            z = _buffer("wino_z", (k, b, q, m, tw, m), dtype)
            for y in range(m):
                _combine(at, lambda s: s_[y, s], lambda s: z[:, :, :, y, :, s])
            y0, y1 = j * m, min((j + q) * m, oh)
            np.copyto(out[i:i + b, :, y0:y1], z.reshape(k, b, q * m, tw * m)[:, :, :y1 - y0, :ow].transpose(1, 0, 2, 3))


def block_bytes(c: int, k: int, oh: int, ow: int, n: int, m: int, itemsize: int) -> int:
    """Bytes of the scratch buffers conv3x3 keeps for this layer (padded block, R, V, M, S, Z)."""
    a = m + 2
    th, tw = -(-oh // m), -(-ow // m)
    per_row = a * a * c * tw * itemsize
    nb = max(1, min(n, BLOCK_BYTES // max(per_row * th, 1)))
    rows = th if nb > 1 else max(1, min(th, BLOCK_BYTES // max(per_row, 1)))
    tiles = nb * rows * tw
    pad = c * nb * (th * m + 2) * (tw * m + 2)
    return itemsize * (pad + a * c * nb * rows * (tw * m + 2) + a * a * c * tiles + a * a * k * tiles
                       + m * a * k * tiles + m * m * k * tiles)
