"""The implementations that `cnncalc bench` times side by side, and the float64 reference they are
checked against. Every implementation is a `prepare(case, arrays)` that returns a no-argument
callable computing the layer's output (all conversions happen in prepare, outside the timing)."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .suite import Case

Arrays = dict  # {"x": ndarray, "w": ndarray | None, "b": ndarray | None}


def make_arrays(case: Case, seed: int = 0) -> Arrays:
    rng = np.random.default_rng(seed)
    dt = np.dtype(case.dtype)
    x = rng.standard_normal(case.shape).astype(dt)
    if case.layer == "conv":
        c = case.shape[1]
        w = rng.standard_normal((case.filters, c // case.groups, *case.kernel)).astype(dt)
        b = rng.standard_normal(case.filters).astype(dt)
    elif case.layer == "dense":
        w = rng.standard_normal((case.filters, case.shape[1])).astype(dt)  # (out, in), as PyTorch
        b = rng.standard_normal(case.filters).astype(dt)
    else:
        w = b = None
    return {"x": x, "w": w, "b": b}


# --------------------------------------------------------------------------------------------
# reference: sliding windows + einsum, float64; independent of every timed implementation
# --------------------------------------------------------------------------------------------
def _windows(case: Case, x: np.ndarray, fill: float) -> np.ndarray:
    """(N, C, Ho, Wo, kh, kw) view of the padded input at the window positions."""
    t, b, l, r = case.padding
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=fill)
    (kh, kw), (sh, sw), (dh, dw) = case.kernel, case.stride, case.dilation
    ho, wo = case.out_hw()
    win = np.lib.stride_tricks.sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return win[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :ho, :wo]


def reference(case: Case, arrays: Arrays) -> np.ndarray:
    x = arrays["x"].astype(np.float64)
    if case.layer == "dense":
        return x @ arrays["w"].astype(np.float64).T + arrays["b"].astype(np.float64)
    if case.layer == "pool":
        if case.pool == "max":
            return _windows(case, x, -np.inf).max(axis=(4, 5))
        return _windows(case, x, 0.0).mean(axis=(4, 5))  # zeros count (count_include_pad)
    w = arrays["w"].astype(np.float64)
    g, cg, kg = case.groups, case.shape[1] // case.groups, case.filters // case.groups
    win = _windows(case, x, 0.0)
    out = np.concatenate([np.einsum("nchwij,kcij->nkhw", win[:, i * cg:(i + 1) * cg], w[i * kg:(i + 1) * kg])
                          for i in range(g)], axis=1)
    return out + arrays["b"].astype(np.float64)[None, :, None, None]


# --------------------------------------------------------------------------------------------
# naive: the definition as nested Python loops, stopping after `budget_s` (then extrapolated)
# --------------------------------------------------------------------------------------------
def naive(case: Case, arrays: Arrays, budget_s: float | None = None) -> tuple[np.ndarray, int]:
    """Returns (output, MACs done). With a budget, output elements are computed in order until the
    budget is spent; the rest stay zero."""
    x, w, b = arrays["x"], arrays["w"], arrays["b"]
    out = np.zeros(case.out_shape(), dtype=x.dtype)
    deadline = None if budget_s is None else time.perf_counter() + budget_s
    done = 0
    if case.layer == "dense":
        n_in = case.shape[1]
        for n in range(case.shape[0]):
            for o in range(case.filters):
                acc = b[o]
                for i in range(n_in):
                    acc += x[n, i] * w[o, i]
                out[n, o] = acc
                done += n_in
                if deadline is not None and time.perf_counter() > deadline:
                    return out, done
        return out, done
    N, C, H, W = case.shape
    ho, wo = case.out_hw()
    (kh, kw), (sh, sw), (dh, dw) = case.kernel, case.stride, case.dilation
    t, _, l, _ = case.padding
    if case.layer == "pool":
        for n in range(N):
            for c in range(C):
                for oy in range(ho):
                    for ox in range(wo):
                        best, total = -np.inf, 0.0
                        for ky in range(kh):
                            for kx in range(kw):
                                iy, ix = oy * sh + ky * dh - t, ox * sw + kx * dw - l
                                v = x[n, c, iy, ix] if 0 <= iy < H and 0 <= ix < W else (
                                    -np.inf if case.pool == "max" else 0.0)
                                if v > best:
                                    best = v
                                total += v
                        out[n, c, oy, ox] = best if case.pool == "max" else total / (kh * kw)
                        done += kh * kw
                        if deadline is not None and time.perf_counter() > deadline:
                            return out, done
        return out, done
    cg, kg = C // case.groups, case.filters // case.groups
    for n in range(N):
        for k in range(case.filters):
            c0 = (k // kg) * cg
            for oy in range(ho):
                for ox in range(wo):
                    acc = b[k]
                    for c in range(cg):
                        for ky in range(kh):
                            iy = oy * sh + ky * dh - t
                            if not 0 <= iy < H:
                                continue
                            for kx in range(kw):
                                ix = ox * sw + kx * dw - l
                                if 0 <= ix < W:
                                    acc += x[n, c0 + c, iy, ix] * w[k, c, ky, kx]
                    out[n, k, oy, ox] = acc
                    done += cg * kh * kw
                    if deadline is not None and time.perf_counter() > deadline:
                        return out, done
    return out, done


def prepare_naive(case: Case, arrays: Arrays) -> Callable[[], np.ndarray]:
    return lambda: naive(case, arrays)[0]


# --------------------------------------------------------------------------------------------
# im2col-textbook: zeros + loop over kernel offsets + transpose + dot (Deep Learning from Scratch)
# --------------------------------------------------------------------------------------------
def textbook_im2col(case: Case, x: np.ndarray, fill: float = 0.0) -> np.ndarray:
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (dh, dw) = case.kernel, case.stride, case.dilation
    t, b, l, r = case.padding
    ho, wo = case.out_hw()
    img = np.pad(x, [(0, 0), (0, 0), (t, b), (l, r)], "constant", constant_values=fill)
    col = np.zeros((N, C, kh, kw, ho, wo), dtype=x.dtype)
    for y in range(kh):
        y0 = y * dh
        y_max = y0 + sh * ho
        for xx in range(kw):
            x0 = xx * dw
            x_max = x0 + sw * wo
            col[:, :, y, xx, :, :] = img[:, :, y0:y_max:sh, x0:x_max:sw]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * ho * wo, -1)


def prepare_textbook(case: Case, arrays: Arrays) -> Callable[[], np.ndarray]:
    x, w, b = arrays["x"], arrays["w"], arrays["b"]
    N = case.shape[0]
    if case.layer == "dense":
        wt = w.T
        return lambda: np.dot(x, wt) + b
    ho, wo = case.out_hw()
    if case.layer == "pool":
        kk = case.kernel[0] * case.kernel[1]
        C = case.shape[1]

        def pool():
            col = textbook_im2col(case, x, -np.inf if case.pool == "max" else 0.0).reshape(-1, kk)
            out = np.max(col, axis=1) if case.pool == "max" else np.mean(col, axis=1)
            return out.reshape(N, ho, wo, C).transpose(0, 3, 1, 2)
        return pool
    g, cg, kg = case.groups, case.shape[1] // case.groups, case.filters // case.groups
    col_ws = [w[i * kg:(i + 1) * kg].reshape(kg, -1).T for i in range(g)]

    def conv():
        outs = []
        for i in range(g):
            col = textbook_im2col(case, x[:, i * cg:(i + 1) * cg])
            outs.append(np.dot(col, col_ws[i]))
        out = (outs[0] if g == 1 else np.concatenate(outs, axis=1)) + b
        return out.reshape(N, ho, wo, -1).transpose(0, 3, 1, 2)
    return conv


# --------------------------------------------------------------------------------------------
# im2col: cnncalc's own kernels (the forward pass's)
# --------------------------------------------------------------------------------------------
def prepare_im2col(case: Case, arrays: Arrays) -> Callable[[], np.ndarray]:
    """The forward pass's kernels as the forward pass runs them: the batch cut into shards, one per
    thread, BLAS at one thread meanwhile (cnncalc.threads; docs/forward.md § Threads and fusion)."""
    from ..kernels import avg_pool2d, conv2d, dense, max_pool2d
    from ..kernels.conv import set_conv_path

    x, w, b = arrays["x"], arrays["w"], arrays["b"]
    bounds = _shards(case)
    if case.layer == "dense":
        return _sharded(x, bounds, lambda part: dense(part, w, b))
    axes = case.axes()
    if case.layer == "pool":
        fn = max_pool2d if case.pool == "max" else avg_pool2d
        return _sharded(x, bounds, lambda part: fn(part, case.kernel, axes))

    def conv():
        before = set_conv_path("im2col")  # this row is im2col; winograd has its own
        try:
            return _into_shards(x, bounds, case.out_shape(),
                                lambda part, dst: conv2d(part, w, b, axes, case.dilation, case.groups, out=dst))
        finally:
            set_conv_path(before)
    return conv


def case_shards(case: Case) -> int:
    """The shards the forward pass would cut a network of this one layer into (cnncalc.threads): all
    its MACs in one conv (forward.network_shards counts convs alone there; pooling has no MACs)."""
    from ..kernels.depthwise import applies
    from ..threads import available, shard_count
    largest = case.macs() if case.layer == "conv" else 0
    depthwise = case.layer == "conv" and applies(case.shape[1], case.groups)
    return shard_count(case.shape[0], case.macs(), available(), largest, depthwise)


def _shards(case: Case) -> list[tuple[int, int]]:
    """The batch's shards as the forward pass would cut a network of this one layer (cnncalc.threads)."""
    from ..threads import shard_bounds
    return shard_bounds(case.shape[0], case_shards(case))


def _sharded(x: np.ndarray, bounds, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[], np.ndarray]:
    """fn over the batch's shards at once, the outputs joined (pooling, dense: small outputs)."""
    from ..threads import run_shards

    def run():
        parts = run_shards(lambda i: fn(x[slice(*bounds[i])]), len(bounds))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    return run


def _into_shards(x: np.ndarray, bounds, out_shape, fn: Callable[[np.ndarray, np.ndarray], object]) -> np.ndarray:
    """fn(x shard, its rows of the output) over the batch's shards at once, into one output array."""
    from ..threads import run_shards
    out = np.empty(out_shape, dtype=x.dtype)
    run_shards(lambda i: fn(x[slice(*bounds[i])], out[slice(*bounds[i])]), len(bounds))
    return out


# --------------------------------------------------------------------------------------------
# winograd: F(4×4, 3×3) or F(2×2, 3×3) (cnncalc.kernels.winograd), on the 3×3 stride-1 cases only
# --------------------------------------------------------------------------------------------
def winograd_applies(case: Case) -> bool:
    from ..kernels.winograd import applies
    return case.layer == "conv" and applies(case.kernel, case.stride, case.dilation, case.groups)


def winograd_tile(case: Case) -> int:
    """The tile the forward pass's auto rule gives this case (kernels.conv), F(2×2) where the rule
    would keep im2col: this row always times Winograd."""
    from ..kernels.conv import _auto_tile
    oh, ow = case.out_hw()
    return _auto_tile(case.shape[1], case.filters, case.shape[0], oh, ow, np.dtype(case.dtype).itemsize) or 2


def prepare_winograd(case: Case, arrays: Arrays, m: int = 0) -> Callable[[], np.ndarray]:
    """Winograd as the forward pass runs it: shards of the batch at once, the bias in the epilogue."""
    from ..kernels.conv import Epilogue
    from ..kernels.winograd import conv3x3

    x, w, b = arrays["x"], arrays["w"], arrays["b"]
    m = m or winograd_tile(case)
    bounds = _shards(case)

    def conv():
        bias = Epilogue().with_bias(b)  # the bias added per block, as the forward pass adds it
        return _into_shards(x, bounds, case.out_shape(), lambda part, dst: conv3x3(part, w, dst, case.padding, m, bias))
    return conv


# --------------------------------------------------------------------------------------------
# banded: depthwise convolutions against banded weights (cnncalc.kernels.depthwise)
# --------------------------------------------------------------------------------------------
def banded_applies(case: Case) -> bool:
    from ..kernels.depthwise import applies
    return case.layer == "conv" and applies(case.shape[1], case.groups)


def prepare_banded(case: Case, arrays: Arrays) -> Callable[[], np.ndarray]:
    """The depthwise kernel as the forward pass runs it: shards of the batch at once, the bias in
    the epilogue."""
    from ..kernels.conv import Epilogue
    from ..kernels.depthwise import conv_depthwise

    x, w, b = arrays["x"], arrays["w"], arrays["b"]
    bounds = _shards(case)

    def conv():
        bias = Epilogue().with_bias(b)
        return _into_shards(x, bounds, case.out_shape(), lambda part, dst: conv_depthwise(
            part, w, dst, case.padding, case.stride, case.dilation, bias))
    return conv


def winograd_note(case: Case, arrays: Arrays) -> str:
    """Multiplications against direct convolution, and the error of F(2×2) and F(4×4) in the case's
    dtype against float64 on its first sample (the same rounded inputs), relative to the output's scale."""
    from ..kernels.conv import conv2d, set_conv_path
    from ..kernels.winograd import conv3x3, multiplications

    n, c, _, _ = case.shape
    oh, ow = case.out_hw()
    x, w = arrays["x"][:1], arrays["w"]
    before = set_conv_path("im2col")
    try:
        want = conv2d(x.astype(np.float64), w.astype(np.float64), None, case.axes())
    finally:
        set_conv_path(before)
    scale = max(float(np.max(np.abs(want))), 1e-300)
    parts = []
    for m in (2, 4):
        got = np.empty(want.shape, dtype=x.dtype)
        conv3x3(x, w, got, case.padding, m)
        mults = multiplications(n, c, case.filters, oh, ow, m)
        parts.append(f"F({m}×{m}, 3×3) {mults:,} multiplications ({mults / case.macs():.2f}× direct), "
                     f"{case.dtype} error {float(np.max(np.abs(got - want))) / scale:.1e} of the output's scale")
    return (f"{case.name}: winograd (timed: F({winograd_tile(case)}×{winograd_tile(case)}), the forward pass's "
            "choice) = " + "; ".join(parts) + ". Its GFLOP/s is effective: direct-equivalent "
            "FLOPs (2·MACs of the direct convolution) / time")


# --------------------------------------------------------------------------------------------
# torch: torch.nn.functional, when importable
# --------------------------------------------------------------------------------------------
def torch_available() -> str | None:
    try:
        import torch  # noqa: F401
    except Exception as exc:
        return f"torch left out: PyTorch is not importable ({exc.__class__.__name__})"
    return None


def prepare_torch(case: Case, arrays: Arrays) -> Callable[[], np.ndarray]:
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(arrays["x"])
    w = None if arrays["w"] is None else torch.from_numpy(arrays["w"])
    b = None if arrays["b"] is None else torch.from_numpy(arrays["b"])
    t, bo, l, r = case.padding
    symmetric = t == bo and l == r
    if case.layer == "dense":
        op = lambda: F.linear(x, w, b)  # noqa: E731
    elif case.layer == "pool":
        pool = F.max_pool2d if case.pool == "max" else F.avg_pool2d
        if symmetric and t <= case.kernel[0] // 2 and l <= case.kernel[1] // 2:
            if case.pool == "max":
                op = lambda: pool(x, case.kernel, case.stride, (t, l), dilation=case.dilation)  # noqa: E731
            else:
                op = lambda: pool(x, case.kernel, case.stride, (t, l))  # noqa: E731
        else:
            fill = float("-inf") if case.pool == "max" else 0.0
            op = lambda: pool(F.pad(x, (l, r, t, bo), value=fill), case.kernel, case.stride)  # noqa: E731
    elif symmetric:
        op = lambda: F.conv2d(x, w, b, case.stride, (t, l), case.dilation, case.groups)  # noqa: E731
    else:
        op = lambda: F.conv2d(F.pad(x, (l, r, t, bo)), w, b, case.stride, 0, case.dilation, case.groups)  # noqa: E731

    def run():
        with torch.no_grad():
            return op()
    return run


def to_numpy(out) -> np.ndarray:
    return out.numpy() if hasattr(out, "numpy") and not isinstance(out, np.ndarray) else np.asarray(out)


IMPLS: dict[str, Callable[[Case, Arrays], Callable[[], object]]] = {
    "naive": prepare_naive,
    "im2col-textbook": prepare_textbook,
    "im2col": prepare_im2col,
    "winograd": prepare_winograd,
    "banded": prepare_banded,
    "torch": prepare_torch,
}
