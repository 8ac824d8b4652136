"""3×3 stride-1 convolution by Winograd's minimal filtering (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", 2016): F(2×2, 3×3) and F(4×4, 3×3).

The output is cut into m×m tiles (m = 2 or 4); each reads an α×α input tile (α = m + 2). With the
transforms Bᵀ (α×α), G (α×3) and Aᵀ (m×α):

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,    summed over the input channels inside the ⊙,

so the α² elementwise products over all tiles and channels are α² independent matrix products:
`U(α², C_out, C_in) @ V(α², C_in, tiles)`, one batched `np.matmul`. Multiplications per output
point: α²·C_in/m² instead of 9·C_in (16/36 = 0.44 of direct for F(2×2), 36/144 = 0.25 for F(4×4)).

Every stage is a copy or a BLAS product, no elementwise NumPy pass over the tiles:

1. gather: one strided copy takes the α×α input tiles of a slice of channels out of the zero-padded
   input into D(α, α, C_slice, tiles) (tiles overlap by 2, so this is (α/m)² times the input);
2. input transform, separable: R = Bᵀ·D over the first α axis (one product, 6×6 by 6×6·C·tiles),
   then V = Bᵀ·R over the second (α such products), written into the block's V; a slice of
   channels at a time (`SLICE_BYTES`), so that D and R stay in the CPU's cache;
3. V(α², C, tiles) → M(α², K, tiles) = U @ V: α² GEMMs with the tiles as the long, contiguous axis;
4. output transform, separable: S = Aᵀ·M, then Y = S·A, the second taken as (tiles, α) @ (α, m)
   products so that Y(m, K, tiles, m) has a tile's m outputs of a row side by side;
5. scatter: each tile row's outputs of one row are then one run of the NCHW output row: m copies
   (tiles that run past the output's edge are dropped there).

Tiles are processed in blocks of samples (or of tile rows when one sample is large) whose
transformed tiles V stay near `BLOCK_BYTES`: small enough to stay in cache between the stages, big
enough that each of the α² GEMMs has hundreds of tile columns to reuse U's weights over (measured
on ResNet-18's 3×3 layers: 8 MiB beats 1–4 MiB by up to 2× on 14×14 and 7×7 maps, where a block of
one sample has only 4–16 tiles, and ties 16–32 MiB). The weight transform is done in float64 and
rounded once.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .conv import _buffer
from .prepared import fold, prepared, scale_tag

# Transformed-tile block size (V): see the module docstring.
BLOCK_BYTES = 8 * 1024 * 1024
# The input transform's slices (D and R of a few channels): about the CPU's L2 cache (1 MiB here;
# measured on ResNet-18's 3×3 layers, 1 MiB beat 0.5, 2 and 4 MiB and whole blocks).
SLICE_BYTES = 1024 * 1024

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


def weight_transform(weight: np.ndarray, m: int, dtype, scale: np.ndarray | None = None) -> np.ndarray:
    """U = G g Gᵀ, as (α², C_out, C_in), computed in float64 and rounded once to `dtype`: one GEMM,
    (G⊗G)(α², 9) @ g(9, C_out·C_in); g is the weights times a fused batch norm's `scale` per output
    channel if given (kernels.prepared.fold). Kept for the process (kernels.prepared), so a network
    run again with the same weights transforms them once."""
    tag = ("winograd", m, np.dtype(dtype).str, *scale_tag(scale))
    return prepared(weight, tag, lambda: _transform(fold(weight, scale, dtype), m, dtype))


def _transform(weight: np.ndarray, m: int, dtype) -> np.ndarray:
    _, g, _ = _MATRICES[m]
    a = m + 2
    k, c = weight.shape[:2]
    gg = np.kron(g, g)
    flat = weight.reshape(k * c, 9)
    u = np.empty((a * a, k * c), dtype=dtype)
    # In slices through one reused float64 buffer: fresh pages cost more than the product here.
    step = max(1, (1 << 20) // (a * a))
    for i in range(0, k * c, step):
        j = min(i + step, k * c)
        part = _buffer("wino_u", (a * a, j - i), np.dtype(np.float64))
        np.matmul(gg, flat[i:j].astype(np.float64).T, out=part)
        np.copyto(u[:, i:j], part)
    return u.reshape(a * a, k, c)


def _blocking(n: int, c: int, th: int, tw: int, m: int, itemsize: int) -> tuple[int, int]:
    """(samples, tile rows) per block: whole samples while V of one sample fits BLOCK_BYTES, else
    one sample and as many tile rows as fit (at least one); as even as that many blocks can be, since
    a last block of a few tiles starves its GEMMs (`cnncalc bench`'s conv3x3-14, 16 samples a shard
    at 590 KB of V each: blocks of 8 + 8 took 0.93–0.94× the time of 14 + 2)."""
    a = m + 2
    per_row = a * a * c * tw * itemsize  # V bytes of one tile row of one sample
    nb = max(1, min(n, BLOCK_BYTES // max(per_row * th, 1)))
    rows = th if nb > 1 or per_row * th <= BLOCK_BYTES else max(1, min(th, BLOCK_BYTES // max(per_row, 1)))
    return _even(n, nb), _even(th, rows)


def _even(total: int, most: int) -> int:
    """The part size that cuts `total` into as many parts as parts of `most` would, evened out."""
    return -(-total // -(-total // most)) if total > 0 else most


def _tiles(a: np.ndarray, lead: tuple[int, int], step: int, size: tuple[int, int]) -> np.ndarray:
    """View of `a` (B, C, H, W) as (lead0, lead1, C, B, rows, cols): element [y, x, c, b, i, j] is
    a[b, c, i·step + y, j·step + x]; the tiles of a map, offsets first."""
    sb, sc, sh, sw = a.strides
    return as_strided(a, (*lead, a.shape[1], a.shape[0], *size), (sh, sw, sc, sb, step * sh, step * sw))


def conv3x3(x: np.ndarray, weight: np.ndarray, out: np.ndarray, padding, m: int = 2, epilogue=None,
            scale: np.ndarray | None = None) -> None:
    """out (N, K, OH, OW) = the 3×3 stride-1 convolution of x (N, C, H, W), zero-padded by
    (top, bottom, left, right), without bias; then `epilogue` (kernels.conv.Epilogue: a bias, a
    batch norm, an activation), done on each block of tiles before it is scattered. `scale`: a
    fused batch norm's scale per output channel, folded into the transformed weights."""
    n, c = x.shape[:2]
    oh, ow = out.shape[2:]
    th, tw = -(-oh // m), -(-ow // m)  # tiles per column / row
    u = weight_transform(weight, m, out.dtype, scale)
    nb, rows = _blocking(n, c, th, tw, m, out.dtype.itemsize)
    for i in range(0, n, nb):
        for j in range(0, th, rows):
            _block(x, u, out, padding, m, epilogue, i, min(nb, n - i), j, min(rows, th - j))


def _block(x, u, out, padding, m, epilogue, i: int, b: int, j: int, q: int) -> None:
    """Samples i … i + b − 1, tile rows j … j + q − 1: gather, transform, multiply, transform back,
    epilogue, scatter; every buffer this thread's own (kernels.conv._buffer)."""
    bt, _, at = (mat.astype(out.dtype) for mat in _MATRICES[m])
    a = m + 2
    _, c, h, w = x.shape
    k, oh = out.shape[1:3]
    t, _, l, _ = padding
    tw = -(-out.shape[3] // m)
    dtype = out.dtype
    tiles = b * q * tw
    source = _tiles(_padded_rows(x, i, b, j * m - t, q * m + 2, l, tw * m + 2), (a, a), m, (q, tw))
    v = _buffer("wino_v", (a, a, c * tiles), dtype)
    # The input transform a slice of channels at a time, so that D and R stay in cache and only V
    # goes out to memory (ResNet-18 at batch 8: 1–5% faster than whole blocks in three A/B runs).
    step = _slice_channels(c, tiles, a, dtype.itemsize)
    for c0 in range(0, c, step):
        cs = min(step, c - c0)  # channels in this slice
        d = _buffer("wino_d", (a, a, cs, b, q, tw), dtype)
        np.copyto(d, source[:, :, c0:c0 + cs])
        r = np.matmul(bt, d.reshape(a, a * cs * tiles), out=_buffer("wino_r", (a, a * cs * tiles), dtype))
        np.matmul(bt, r.reshape(a, a, cs * tiles), out=v[:, :, c0 * tiles:(c0 + cs) * tiles])
    prod = np.matmul(u, v.reshape(a * a, c, tiles), out=_buffer("wino_m", (a * a, k, tiles), dtype))
    if epilogue is not None and epilogue.shift is not None and epilogue.scale is None:
        # Column 1 of Aᵀ (the point 1) is all ones, so a constant added at (1, 1) of every
        # transformed tile comes out added to each of the tile's outputs: the bias / batch norm
        # shift costs 1/α² of a pass over the output instead of a whole pass (ResNet-18: 1–6%
        # faster at batch 8, 6–15% at batch 1, in interleaved runs).
        prod[a + 1] += epilogue.shift.astype(dtype, copy=False)[:, None]
        epilogue = type(epilogue)(None, None, epilogue.activation, epilogue.watch)
    s_ = np.matmul(at, prod.reshape(a, a * k * tiles), out=_buffer("wino_s", (m, a * k * tiles), dtype))
    spent = prod.reshape(-1)[:m * m * k * tiles].reshape(m, k * tiles, m)  # M is read into S
    # Y = S·A taken as (tiles, α) @ (α, m) for each dy, so that the m outputs of a tile's row dy lie
    # side by side after those of the tile to their left: row dy of tile row jj is then one run of
    # tw·m values of output row (j + jj)·m + dy, and the scatter is m copies of runs, not m² copies
    # of every m-th value (the 14×14, 28×28 and 56×56 layers' Y and scatter in 0.51–0.74× the time).
    y = np.matmul(s_.reshape(m, a, k * tiles).transpose(0, 2, 1), at.T, out=spent).reshape(m, k, b, q, tw * m)
    if epilogue is not None:
        epilogue.apply(y, 1)
    dst = out[i:i + b, :, j * m:min((j + q) * m, oh)]
    for dy in range(m):
        part = dst[:, :, dy::m]
        np.copyto(part, y[dy, :, :, :part.shape[2], :part.shape[3]].transpose(1, 0, 2, 3))


def _slice_channels(c: int, tiles: int, a: int, itemsize: int) -> int:
    """Channels per slice of the input transform: D and R of a slice within SLICE_BYTES."""
    return max(1, min(c, SLICE_BYTES // (2 * a * a * tiles * itemsize)))


def _padded_rows(x: np.ndarray, i: int, b: int, top: int, height: int, left: int, width: int) -> np.ndarray:
    """Rows top … top + height − 1 and columns −left … width − left − 1 of samples i … i + b − 1 of x,
    zero outside x, in this thread's reused buffer (only the border is cleared, not the whole)."""
    n, c, h, w = x.shape
    pad = _buffer("wino_pad", (b, c, height, width), x.dtype)
    r0, r1 = min(max(0, -top), height), max(min(height, h - top), 0)
    c0, c1 = min(max(0, left), width), max(min(width, w + left), 0)
    pad[:, :, :r0] = 0
    pad[:, :, max(r0, r1):] = 0
    pad[:, :, r0:r1, :c0] = 0
    pad[:, :, r0:r1, max(c0, c1):] = 0
    if r1 > r0 and c1 > c0:
        np.copyto(pad[:, :, r0:r1, c0:c1], x[i:i + b, :, r0 + top:r1 + top, c0 - left:c1 - left])
    return pad


def block_bytes(c: int, k: int, oh: int, ow: int, n: int, m: int, itemsize: int) -> int:
    """Bytes of the scratch buffers conv3x3 keeps for this layer (padded rows, V, a slice's D and R,
    M, S)."""
    a = m + 2
    th, tw = -(-oh // m), -(-ow // m)
    nb, rows = _blocking(n, c, th, tw, m, itemsize)
    tiles = nb * rows * tw
    pad = c * nb * (rows * m + 2) * (tw * m + 2)
    step = _slice_channels(c, tiles, a, itemsize)
    return itemsize * (pad + a * a * c * tiles + 2 * a * a * step * tiles + a * a * k * tiles + m * a * k * tiles)
