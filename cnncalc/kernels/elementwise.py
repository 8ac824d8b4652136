"""Activations, normalisation and the LeNet-5 layers: small functions on NCHW (or (N, F)) arrays."""
from __future__ import annotations

import math

import numpy as np

from .pool import window_sum


# Bounds are applied with np.clip throughout (np.clip(x, 0, inf) for max(x, 0), np.clip(x, −inf, c)
# for min(x, c)): np.maximum / np.minimum with a scalar take 3.5× as long here; NaN stays NaN either way.
def relu(x, out=None):
    """max(x, 0) as np.clip(x, 0, inf): 3.5× as fast as np.maximum with a scalar here (0.17 against
    0.60 ms on 1.6 M float32 values), and like PyTorch it keeps −0.0 and NaN."""
    if np.issubdtype(np.asarray(x).dtype, np.floating):
        return np.clip(x, 0, np.inf, out=out)
    return np.maximum(x, 0, out=out)


def leaky_relu(x, slope=0.01, out=None):
    """x if x > 0 else slope·x, as max(x, 0) + slope·min(x, 0) (one term an exact 0), block by
    block: `np.where` on random signs cost about 30 arithmetic passes."""
    a = x.dtype.type(slope)
    return _blockwise(lambda block, dst, t: _leaky_block(block, dst, t, a), x, out)


def _leaky_block(x, out, t, slope):
    np.clip(x, -np.inf, 0, out=t)
    t *= slope
    np.clip(x, 0, np.inf, out=out)
    out += t


def sigmoid(x, out=None):
    """1/(1 + e^−x) as u/(1 + u), u = e^min(x, 40): exactly 1 past 40, no overflow, and for x ≪ 0
    the ratio is u itself, without cancellation (no mask: see leaky_relu)."""
    return _blockwise(_sigmoid_block, x, out, temps=1)


def _sigmoid_block(x, out, d):
    np.clip(x, -np.inf, _SATURATED, out=out)  # out may be x: x is not read again
    np.exp(out, out=out)
    np.add(out, 1, out=d)
    out /= d


def tanh(x, out=None):
    return np.tanh(x, out=out)


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


def gelu(x, out=None):
    """x·Φ(x) = x/2·(1 + erf(x/√2)), PyTorch's exact (approximate='none') form, in x's dtype.

    float32 runs in float32 (`_gelu_float32_block`: about 24 passes a block; within 0.85 ulp of
    x·Φ(x) where that is 1 or more, within 9e-8 below). Other dtypes go through float64 and `erf`,
    block by block (so that erf's passes stay in cache), and are rounded once. `out=x` works in
    place: a block is written after its last read of x."""
    if x.dtype == np.float32:
        return _blockwise(_gelu_float32_block, x, out, temps=3)
    if out is not None and not (out.flags.c_contiguous and x.flags.c_contiguous):
        out[...] = gelu(x)
        return out
    flat = np.ascontiguousarray(x).reshape(-1)
    dst = np.empty(flat.shape, dtype=x.dtype) if out is None else out.reshape(-1)
    for i in range(0, flat.size, _ERF_BLOCK):
        xb = flat[i:i + _ERF_BLOCK].astype(np.float64)
        y = erf(xb * (1 / math.sqrt(2)))  # one block: erf's own loop runs once
        y += 1.0
        xb *= 0.5
        y *= xb
        dst[i:i + _ERF_BLOCK] = y
    return dst.reshape(x.shape)


# float32 GELU as max(x, 0) − h(|x|), h(a) = a·Φ(−a) = a·e^(−a²/2)·R(a) with R(a) = erfc(a/√2)·e^(a²/2)/2
# ≈ P(a)/Q(a): for x < 0, x·Φ(x) = −h; for x ≥ 0, x·Φ(x) = x − x·Φ(−x) = x − h. One formula for both
# signs (no mask, no gather), and no cancellation: h ≤ 0.17 and, for x ≥ 0, h ≤ x/2, so x − h keeps x's
# leading bits; for x < 0 the result is −h itself, to its relative accuracy (about 1e-5 down to
# x = −13; float32 holds e^(−a²/2) only to a few ulps of its exponent a²/2, and it underflows from
# |x| = 14.4, where the result rounds to 0 anyway). R is smooth and falls like 1/(a·√(2π)), which a
# rational function of degree 3 over 4 follows on [0, 14] to 1e-6 (1/2 at 0 and 1/√(2π) at ∞
# come out of the fit). Fitted by benchmarks/fit_gelu.py (minimax against math.erfc in float64,
# weighted so that h is within 2e-8 and R within 1.5e-7 relative below a = 0.5, 1e-6 beyond; rounded to
# float32; run it to see the coefficients and their error again); highest power first, Q monic with its
# leading 1 left out. All positive: Horner's rule adds no cancellation.
_GELU_P = (0.39886990189552307, 2.904118537902832, 8.996912956237793, 12.782980918884277)
_GELU_Q = (7.272627353668213, 23.659610748291016, 38.39232635498047, 25.56596565246582)
_GELU_K = np.float32(-0.5 / math.log(2))  # 2^(K·a²) = e^(−a²/2): exp2 runs twice as fast as exp here
# Past 1e6, a⁴ (in P and Q) could overflow float32 and give inf/inf; h is 0 from a = 14.4 on, so such
# blocks (and ±inf, NaN: the max is NaN) take |x| clipped to 15. GELU(−inf) is then 0, its limit.
_GELU_HUGE = np.float32(1e6)
_GELU_CLIP = np.float32(15.0)


def _gelu_float32_block(x: np.ndarray, out: np.ndarray, a: np.ndarray, num: np.ndarray, den: np.ndarray) -> None:
    np.abs(x, out=a)
    # max(x, 0) now, while x is in cache (out may be x: x is not read again); np.clip, as above.
    np.clip(x, 0, np.inf, out=out)
    if not a.max() <= _GELU_HUGE:
        np.minimum(a, _GELU_CLIP, out=a)
    np.multiply(a, _GELU_P[0], out=num)  # a·P(a): the h = a·… factor is Horner's last step
    for c in _GELU_P[1:]:
        num += c
        num *= a
    np.add(a, _GELU_Q[0], out=den)
    for c in _GELU_Q[1:]:
        den *= a
        den += c
    num /= den
    np.multiply(a, _GELU_K, out=den)
    den *= a
    np.exp2(den, out=den)
    num *= den
    out -= num


def softmax(x, axis=1):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def batch_norm_affine(weight, bias, running_mean, running_var, eps=1e-5):
    """Inference batch norm as x·scale + shift per channel: (scale, shift)."""
    scale = weight / np.sqrt(running_var + eps)
    return scale, bias - running_mean * scale


def batch_norm(x, weight, bias, running_mean, running_var, eps=1e-5, out=None):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale, shift = batch_norm_affine(weight, bias, running_mean, running_var, eps)
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


# -- the activations of MobileNet, EfficientNet and ConvNeXt ------------------------------------
# Each is written as PyTorch's formula (torch.nn.functional, named per function) and runs in x's
# dtype. Those that need temporaries work block by block (`_blockwise`) in scratch arrays made once
# per call: the temporaries stay in the CPU's cache, never grow with the input (the forward pass's
# memory estimate needs no scratch term for them), and are not fresh pages at every block (a new
# 256 KiB array each block made prelu six times slower). `out=x` is safe for every one: a block's
# result is written after its last read of x. Blocks of 256 K values (1 MiB a float32 array): on one
# thread, 2×384×56×56 values of GELU took 4.3 ms against 5.6 in blocks of 64 K and 8.6 in blocks of
# 32 K (fewer NumPy calls: each costs microseconds of its own), SiLU 2.1 against 2.4; whole networks
# in two shards 0.93× (ConvNeXt-T at batch 4) and 0.94× (EfficientNet-B0 at batch 8) the time of
# 64 K blocks, in interleaved runs.
_BLOCK = 1 << 18


def _blockwise(fn, x: np.ndarray, out: np.ndarray | None, temps: int = 1) -> np.ndarray:
    """fn(block, out_block, *scratch) over x flattened, block by block (x and out C-contiguous,
    or copied to be); `temps` scratch arrays of one block each. Outside a shard (a batch of one) the
    blocks are dealt out to as many threads as BLAS has (cnncalc.threads.run_split), in parts of at
    least SPLIT_LEAST values."""
    from ..threads import run_split, split_count
    x = np.ascontiguousarray(x)
    if out is not None and not out.flags.c_contiguous:  # its flat view would be a copy
        out[...] = _blockwise(fn, x, None, temps)
        return out
    if out is None:
        out = np.empty_like(x)
    flat, dst = x.reshape(-1), out.reshape(-1)
    parts = split_count(flat.size, SPLIT_LEAST)
    cuts = [flat.size * i // parts // _BLOCK * _BLOCK for i in range(parts)] + [flat.size]

    def part(p: int) -> None:
        lo, hi = cuts[p], cuts[p + 1]
        size = min(_BLOCK, hi - lo)
        scratch = [np.empty(size, dtype=x.dtype) for _ in range(temps)]
        for i in range(lo, hi, _BLOCK):
            block = flat[i:min(i + _BLOCK, hi)]
            fn(block, dst[i:i + block.size], *(t[:block.size] for t in scratch))
    run_split(part, parts)
    return out


# Values per thread, at least, before a pass is dealt out. In interleaved runs on 2 cores (blocks of
# 64 K), 1.2 M values split in two took 0.70× the time for SiLU and 0.87× for GELU, 300 K values
# 1.05–1.15× for GELU (its ~24 NumPy calls a block scale worse than SiLU's few); whole networks at
# batch 1: EfficientNet-B0 0.93–0.96×, ConvNeXt-T 0.99×.
SPLIT_LEAST = 1 << 19


def relu6(x, out=None):
    """F.relu6: min(max(x, 0), 6)."""
    return np.clip(x, 0, 6, out=out)


def hardtanh(x, min_val=-1.0, max_val=1.0, out=None):
    """F.hardtanh: x clipped to [min_val, max_val]."""
    return np.clip(x, x.dtype.type(min_val), x.dtype.type(max_val), out=out)


def hardsigmoid(x, out=None):
    """F.hardsigmoid: min(max(x + 3, 0), 6) / 6."""
    y = np.add(x, 3, out=out)
    np.clip(y, 0, 6, out=y)
    y /= 6
    return y


def _hardswish_block(x, out, t):
    np.add(x, 3, out=t)
    np.clip(t, 0, 6, out=t)
    t *= x
    np.divide(t, 6, out=out)


def hardswish(x, out=None):
    """F.hardswish: x · min(max(x + 3, 0), 6) / 6."""
    return _blockwise(_hardswish_block, x, out)


# Past this, e^−x is below half an ulp of 1 in float64 (e^−40 ≈ 4e−18), so sigmoid(x) and
# tanh(softplus(x)) round to exactly 1: clipping x there keeps e^x far from overflow (e^40 ≈ 2e17,
# its square 5.5e34 < float32's 3.4e38) without changing a value.
_SATURATED = 40.0


def _silu_block(x, out, t):
    # x/(1 + e^−x): for x ≪ 0, e^−x overflows to inf and x/inf is −0 (as PyTorch's float32; the exact
    # value is below 3e-37 there); for x ≫ 0, e^−x is 0 and the result x. No clamp (a pass saved), no
    # mask (a masked copy of random signs cost 30 times an arithmetic pass here), no cancellation
    # (1 + e^−x ≥ 1), and −x is exact, so e^−x has exp's own accuracy. (2^(−x·log₂e) runs 0.4 ms
    # faster on 2.4 M float32 values, but the rounding of −x·log₂e costs up to 2^−24·|x| relative:
    # 3.9e-6 at x = −87, where this stays within 2.4e-7.)
    np.negative(x, out=t)
    np.exp(t, out=t)
    t += 1
    np.divide(x, t, out=out)


def silu(x, out=None):
    """F.silu (swish): x · sigmoid(x), as x/(1 + e^−x)."""
    with np.errstate(over="ignore"):  # e^−x = inf for x ≪ 0 is meant
        return _blockwise(_silu_block, x, out)


def _mish_block(x, out, u, n):
    # tanh(ln(1 + u)) = ((1 + u)² − 1)/((1 + u)² + 1) = n/(n + 2) with u = eˣ, n = u(u + 2): no
    # log, no tanh, no cancellation for x ≪ 0 (n ≈ 2u); u of min(x, 40) as in silu.
    np.clip(x, -np.inf, _SATURATED, out=u)
    np.exp(u, out=u)
    np.add(u, 2, out=n)
    n *= u
    np.add(n, 2, out=u)
    n /= u
    np.multiply(x, n, out=out)


def mish(x, out=None):
    """F.mish: x · tanh(softplus(x)), softplus(x) = ln(1 + eˣ)."""
    return _blockwise(_mish_block, x, out, temps=2)


def _elu_block(x, out, t, alpha):
    np.clip(x, -np.inf, 0, out=t)
    np.expm1(t, out=t)
    t *= alpha
    np.clip(x, 0, np.inf, out=out)
    out += t


def elu(x, alpha=1.0, out=None):
    """F.elu: x where x > 0, else alpha·(eˣ − 1); as max(x, 0) + alpha·expm1(min(x, 0)), which adds
    an exact 0 to one of the two terms (expm1 never sees a positive x, so it never overflows)."""
    a = x.dtype.type(alpha)
    return _blockwise(lambda block, dst, t: _elu_block(block, dst, t, a), x, out)


def prelu(x, weight, out=None):
    """F.prelu: x where x > 0, else weight·x, one weight per channel (axis 1) or one shared; as
    max(x, 0) + weight·min(x, 0) (one of the two terms is an exact 0). Worked through rows of
    (N·C, H·W) in blocks of about _BLOCK values, each row with its channel's weight, in one scratch
    array (a ufunc `where=` with the weight broadcast ran 60 times slower: random signs)."""
    n, c = x.shape[0], x.shape[1]
    rows = n * c
    x = np.ascontiguousarray(x)
    if out is not None and not out.flags.c_contiguous:
        out[...] = prelu(x, weight)
        return out
    if out is None:
        out = np.empty_like(x)
    w = np.broadcast_to(weight.astype(x.dtype, copy=False).reshape(1, -1), (n, c)).reshape(rows, 1)
    src, dst = x.reshape(rows, -1), out.reshape(rows, -1)
    step = max(1, _BLOCK // max(1, src.shape[1]))
    scratch = np.empty((min(step, rows), src.shape[1]), dtype=x.dtype)
    for i in range(0, rows, step):
        xb, ob = src[i:i + step], dst[i:i + step]
        t = scratch[:xb.shape[0]]
        np.clip(xb, -np.inf, 0, out=t)
        t *= w[i:i + step]
        np.clip(xb, 0, np.inf, out=ob)
        ob += t
    return out


def layer_norm(x, weight, bias, eps=1e-5, out=None):
    """Layer normalization over axis 1 (the channels at each position of (N, C, H, W), or the
    features of (N, F)): (x − mean) / √(var + eps) · weight + bias, var the biased variance, as
    F.layer_norm over the last axis of ConvNeXt's permuted map. The squares are summed by einsum,
    which makes no array of them."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    c = x.shape[1]
    mean = x.mean(axis=1, keepdims=True)
    y = np.subtract(x, mean, out=out)
    letters = "nc" + "hwxyz"[:x.ndim - 2]
    var = np.einsum(f"{letters},{letters}->{letters.replace('c', '')}", y, y)[:, None]
    var /= c
    var += x.dtype.type(eps)
    np.sqrt(var, out=var)
    y /= var
    y *= weight.astype(x.dtype, copy=False).reshape(shape)
    y += bias.astype(x.dtype, copy=False).reshape(shape)
    return y


def layer_scale(x, weight, out=None):
    """ConvNeXt's layer scale: each channel times its own trainable factor."""
    return np.multiply(x, weight.astype(x.dtype, copy=False).reshape((1, -1) + (1,) * (x.ndim - 2)), out=out)
