"""Weights prepared for a kernel and kept for the process: Winograd's transformed weights
(kernels.winograd), im2col's weight matrix with the bias or shift as one more column, each with a
fused batch norm's scale folded in, or the folded weights alone where a kernel reads them so
(kernels.conv). Only what a kernel reads is kept: the folding happens inside each entry.

Each is keyed by what it was made from: the memory the weights live in (the array that owns it,
address, shape, strides, dtype) and a tag saying how it was made (with the scale's bytes).
Weights whose memory can change are checked by a CRC of their bytes on every call, so weights
changed in place are prepared again; the arrays cnncalc makes (seeded weights, `--weights` files)
are read-only and skip it (the CRC cost 10 ms of every ResNet-18 run: 1 ms per 4 MB).
"""
from __future__ import annotations

import threading
import weakref
import zlib
from typing import Callable

import numpy as np

# What is kept, in all; the oldest go first. In float32 (kernels.conv.prepared_bytes says exactly)
# ResNet-18 keeps 55 MiB at batch 1 and 91 MiB at batch 8, ResNet-50 96 MiB at batch 2, VGG-16
# 144 MiB: a network whose prepared weights do not fit would prepare them again on every run (a
# fifth of a second for a 512×512 layer's transform).
CACHE_BYTES = 512 * 1024 * 1024
_cache: dict = {}
_lock = threading.Lock()  # the shards of a batch run in threads (cnncalc.threads)
_making = threading.RLock()


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns `a`'s memory: views made by reshape/astype(copy=False) on every forward
    run share it, so the cache hits across runs."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _frozen(owner: np.ndarray) -> bool:
    """Whether these bytes cannot change: read-only memory the array owns."""
    return owner.base is None and not owner.flags.writeable


def unchangeable(a: np.ndarray) -> bool:
    """Whether `a`'s bytes cannot change: the array that owns its memory is read-only (the arrays
    cnncalc makes are), so what is derived from it may be kept without checking it again."""
    return _frozen(_owner(a))


def prepared(weight: np.ndarray, tag, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """compute() (an array made from `weight` as `tag` says), made once and kept; returned read-only."""
    owner = _owner(weight)
    key = (id(owner), weight.__array_interface__["data"][0], weight.shape, weight.strides, weight.dtype.str, tag)
    crc = None if _frozen(owner) else zlib.crc32(np.ascontiguousarray(weight).view(np.uint8).reshape(-1))
    hit = _valid(key, owner, crc)
    if hit is not None:
        return hit
    # One thread prepares at a time: the shards of a first run miss together, and each would make
    # its own copy (a folded weight that only one shard then holds, and the transform made from it,
    # kept under keys no run finds again).
    with _making:
        hit = _valid(key, owner, crc)
        if hit is not None:
            return hit
        value = compute()
        value.flags.writeable = False
        with _lock:
            for dead in [k for k, v in _cache.items() if v[0]() is None]:  # weights no longer held
                del _cache[dead]
            while _cache and sum(v[2].nbytes for v in _cache.values()) + value.nbytes > CACHE_BYTES:
                del _cache[next(iter(_cache))]  # oldest first
            if value.nbytes <= CACHE_BYTES:
                _cache[key] = (weakref.ref(owner), crc, value)
    return value


def _valid(key, owner: np.ndarray, crc) -> np.ndarray | None:
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0]() is owner and hit[1] == crc:
        return hit[2]
    return None


def fold(weight: np.ndarray, scale: np.ndarray | None, dtype) -> np.ndarray:
    """weight (OC, …) × scale per output channel in `dtype`, each product exact and rounded once
    (not kept: see scaled). The product of two float32 values is exact in float64, so rounding it
    once to float32 is what IEEE's float32 multiply gives directly (the exact product, rounded): the
    same bits without float64 copies (70 ms of ResNet-18's first run)."""
    if scale is None:
        return weight.astype(dtype, copy=False)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    if weight.dtype == scale.dtype == np.dtype(dtype):
        return weight * scale.reshape(shape)
    return (weight.astype(np.float64) * scale.astype(np.float64).reshape(shape)).astype(dtype)


def scale_tag(scale: np.ndarray | None) -> tuple:
    """What a prepared array made with a fused batch norm's scale is keyed by: the scale's bytes."""
    return () if scale is None else (scale.dtype.str, scale.tobytes())


def scaled(weight: np.ndarray, scale: np.ndarray, dtype) -> np.ndarray:
    """weight (OC, …) × scale per output channel (fold), kept: a fused batch norm's scale moved into
    the conv's weights, so its kernel skips a pass over the output (6% of ResNet-18's forward
    pass). Keyed by the scale's bytes themselves (C values). The kernels that transform the weights
    further (Winograd, the shift column) fold inside their own entry instead, so that only what a
    kernel reads is kept."""
    return prepared(weight, ("scaled", np.dtype(dtype).str, *scale_tag(scale)), lambda: fold(weight, scale, dtype))


def with_shift_column(weight: np.ndarray, shift: np.ndarray, dtype, scale: np.ndarray | None = None) -> np.ndarray:
    """weight (OC, C, kh, kw) as the GEMM's matrix (1, OC, C·kh·kw), times `scale` per output
    channel if given (fold), with the shift as column C·kh·kw + 1 (kept like the rest)."""
    tag = ("shift-column", np.dtype(dtype).str, shift.dtype.str, shift.tobytes(), *scale_tag(scale))
    oc = weight.shape[0]
    return prepared(weight, tag, lambda: np.concatenate(
        [fold(weight, scale, dtype).reshape(1, oc, -1), shift.astype(dtype).reshape(1, -1, 1)], axis=2))
