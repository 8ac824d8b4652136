"""The NumPy kernels against torch.nn.functional (the oracle), over a grid of every option.

float64: max abs error ≤ 1e-10; float32: relative error ≤ 1e-5 (against torch in float64)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")
F = torch.nn.functional

from cnncalc.kernels import adaptive_avg_pool2d, avg_pool2d, conv2d, dense, max_pool2d  # noqa: E402
from cnncalc.kernels import elementwise as ew  # noqa: E402
from cnncalc.shapes import window_axis  # noqa: E402

torch.set_num_threads(1)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def geo(h, w, k, s, pad=(0, 0, 0, 0), d=1, ceil_mode=False):
    """The kernels' geometry as the layers pass it: the engine's rule (cnncalc.shapes). PyTorch,
    which computes its own output size, is the check that the rule and the kernel agree."""
    (kh, kw), (sh, sw), (dh, dw) = pair(k), pair(s), pair(d)
    return (window_axis("H", h, kh, sh, dh, pad, ceil_mode), window_axis("W", w, kw, sw, dw, pad, ceil_mode))


def same_pads(size, k, s, d):
    k_eff = d * (k - 1) + 1
    out = -(-size // s)
    total = max((out - 1) * s + k_eff - size, 0)
    return total // 2, total - total // 2


def check(ours, ref64, dtype):
    ref = ref64.numpy()
    assert ours.shape == ref.shape
    if dtype == np.float64:
        assert np.max(np.abs(ours - ref), initial=0) <= 1e-10
    else:
        scale = max(np.max(np.abs(ref), initial=0), 1e-6)
        assert np.max(np.abs(ours - ref), initial=0) / scale <= 1e-5


PADDINGS = ["p0", "p1", "p2", "same", "asym"]

# Which conv2d path a layer takes depends on its shape; the grid forces each one where it applies
# (flat needs stride 1; the 1×1 path a 1×1 kernel, stride 1, no padding) and lets the rule pick
# otherwise.
PATHS = ["flat-or-windows", "side-by-side", "side-by-side-chunks", "windows-by-rows"]


def force_path(monkeypatch, conv_mod, path):
    rule = conv_mod._path
    if path in ("windows-by-rows", "side-by-side-chunks"):  # every sample a chunk of its own (padded alone)
        monkeypatch.setattr(conv_mod, "COL_BUDGET_BYTES", 1)
    if path == "windows-by-rows":  # … cut into runs of one output row
        monkeypatch.setattr(conv_mod, "ROWS_BYTES", 1)

    def forced(kh, kw, stride, padding, oh, ow):
        auto = rule(kh, kw, stride, padding, oh, 10**6)  # as if the map were large
        if path.startswith("side-by-side"):
            return "side-by-side"
        return auto
    monkeypatch.setattr(conv_mod, "_path", forced)


def pads_for(mode, h, w, k, s, d):
    if mode == "same":
        return (*same_pads(h, k, s, d), *same_pads(w, k, s, d))
    if mode == "asym":
        return (0, 1, 2, 1)
    p = int(mode[1])
    return (p, p, p, p)


@pytest.mark.parametrize("size", [1, 7, 14, 28, 56])
def test_1x1_layers_take_the_copy_free_path_at_every_size(size):
    # A 1×1 stride-1 unpadded conv reads its input as the column matrix whatever the map's size
    # (docs/forward.md § The kernels); padding or a stride needs a copy of the taps.
    from cnncalc.kernels import conv as conv_mod
    assert conv_mod._path(1, 1, (1, 1), (0, 0, 0, 0), size, size) == "1x1"
    assert conv_mod._path(1, 1, (1, 1), (1, 1, 1, 1), size, size) != "1x1"
    assert conv_mod._path(1, 1, (2, 2), (0, 0, 0, 0), size, size) != "1x1"


@pytest.mark.parametrize("k", range(1, 8))
@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("path", PATHS)
def test_conv2d_grid(k, s, d, path, monkeypatch):
    # Every path of conv2d, forced: 1×1 / flat / strided windows / batch side by side.
    from cnncalc.kernels import conv as conv_mod
    force_path(monkeypatch, conv_mod, path)
    rng = np.random.default_rng(k * 100 + s * 10 + d)
    cases = 0
    for mode, groups, bias, n, (h, w), dtype in itertools.product(
            PADDINGS, ["1", "2", "dw"], [True, False], [1, 3], [(9, 8), (12, 13)], [np.float64, np.float32]):
        c = 4
        g = {"1": 1, "2": 2, "dw": c}[groups]
        oc = 4 if groups != "dw" else 8
        pad = pads_for(mode, h, w, k, s, d)
        k_eff = d * (k - 1) + 1
        if h + pad[0] + pad[1] < k_eff or w + pad[2] + pad[3] < k_eff:
            continue
        x = rng.standard_normal((n, c, h, w))
        wt = rng.standard_normal((oc, c // g, k, k))
        b = rng.standard_normal(oc) if bias else None
        ours = conv_mod.conv2d(x.astype(dtype), wt.astype(dtype), None if b is None else b.astype(dtype),
                               geo(h, w, k, s, pad, d), (d, d), g)
        assert ours.dtype == dtype
        xt = F.pad(torch.from_numpy(x), (pad[2], pad[3], pad[0], pad[1]))
        ref = F.conv2d(xt, torch.from_numpy(wt), None if b is None else torch.from_numpy(b),
                       stride=s, dilation=d, groups=g)
        check(ours, ref, dtype)
        cases += 1
    assert cases > 0


def test_conv2d_rectangular_kernel_and_stride():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 11, 10))
    wt = rng.standard_normal((5, 3, 1, 7))
    ours = conv2d(x, wt, None, geo(11, 10, (1, 7), (2, 1), (0, 0, 3, 3), (1, 2)), (1, 2))
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(wt), stride=(2, 1), padding=(0, 3), dilation=(1, 2))
    check(ours, ref, np.float64)


@pytest.mark.parametrize("path", PATHS)
def test_conv2d_chunks_the_batch(monkeypatch, path):
    from cnncalc.kernels import conv as conv_mod
    monkeypatch.setattr(conv_mod, "COL_BUDGET_BYTES", 1000)
    force_path(monkeypatch, conv_mod, path)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4, 6, 6))
    wt = rng.standard_normal((6, 2, 3, 3))
    ours = conv_mod.conv2d(x, wt, None, geo(6, 6, 3, 1, (1, 1, 1, 1)), groups=2)
    check(ours, F.conv2d(torch.from_numpy(x), torch.from_numpy(wt), padding=1, groups=2), np.float64)
    ours = conv_mod.conv2d(x, wt[:, :, :1, :1], None, geo(6, 6, 1, 1), groups=2)  # the 1×1 path
    check(ours, F.conv2d(torch.from_numpy(x), torch.from_numpy(wt[:, :, :1, :1]), groups=2), np.float64)


def test_conv2d_homework_example():
    # The classic hand-worked example: 5×5 input, one 3×3 filter, no bias, stride 1, no padding.
    x = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]], float)
    f = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], float)
    out = conv2d(x[None, None], f[None, None], None, geo(5, 5, 3, 1))
    assert out[0, 0].tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]


@pytest.mark.parametrize("k", range(1, 8))
@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_grid(k, s, ceil_mode):
    rng = np.random.default_rng(k * 10 + s)
    for p, n, (h, w), dtype in itertools.product(range(0, k // 2 + 1), [1, 3], [(9, 8), (12, 13)],
                                                 [np.float64, np.float32]):
        if h + 2 * p < k:
            continue
        x = rng.standard_normal((n, 3, h, w))
        xt = torch.from_numpy(x)
        pad = (p, p, p, p)
        axes = geo(h, w, k, s, pad, ceil_mode=ceil_mode)
        ours = max_pool2d(x.astype(dtype), (k, k), axes)
        check(ours, F.max_pool2d(xt, k, s, p, ceil_mode=ceil_mode), dtype)
        for include in (True, False):
            ours = avg_pool2d(x.astype(dtype), (k, k), axes, include)
            ref = F.avg_pool2d(xt, k, s, p, ceil_mode=ceil_mode, count_include_pad=include)
            check(ours, ref, dtype)


def test_adaptive_avg_pool():
    rng = np.random.default_rng(2)
    for h, w, oh, ow in [(13, 13, 6, 6), (7, 9, 7, 7), (5, 5, 1, 1), (10, 7, 3, 4)]:
        x = rng.standard_normal((2, 3, h, w))
        check(adaptive_avg_pool2d(x, (oh, ow)), F.adaptive_avg_pool2d(torch.from_numpy(x), (oh, ow)), np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False])
def test_dense(dtype, bias):
    rng = np.random.default_rng(3)
    x, wt, b = rng.standard_normal((3, 17)), rng.standard_normal((5, 17)), rng.standard_normal(5)
    ours = dense(x.astype(dtype), wt.astype(dtype), b.astype(dtype) if bias else None)
    check(ours, F.linear(torch.from_numpy(x), torch.from_numpy(wt), torch.from_numpy(b) if bias else None), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_elementwise(dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 6, 5, 4)) * 4
    xt = torch.from_numpy(x)
    xd = x.astype(dtype)
    check(ew.relu(xd), F.relu(xt), dtype)
    check(ew.leaky_relu(xd, 0.1), F.leaky_relu(xt, 0.1), dtype)
    check(ew.sigmoid(xd), torch.sigmoid(xt), dtype)
    check(ew.tanh(xd), torch.tanh(xt), dtype)
    check(ew.gelu(xd), F.gelu(xt), dtype)
    check(ew.softmax(xd), F.softmax(xt, dim=1), dtype)
    check(ew.softmax(xd[:, :, 0, 0] * 100), F.softmax(xt[:, :, 0, 0] * 100, dim=1), dtype)
    for size in (1, 2, 3, 5, 12, 13, 40):  # 12 and up: windows wider than the 6 channels
        check(ew.local_response_norm(xd, size, 1e-2, 0.75, 2.0), F.local_response_norm(xt, size, 1e-2, 0.75, 2.0),
              dtype)
    w, b, m, v = (rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal(6), rng.random(6) + 0.5)
    ours = ew.batch_norm(xd, w.astype(dtype), b.astype(dtype), m.astype(dtype), v.astype(dtype), 1e-5)
    ref = F.batch_norm(xt, torch.from_numpy(m), torch.from_numpy(v), torch.from_numpy(w), torch.from_numpy(b),
                       training=False, eps=1e-5)
    check(ours, ref, dtype)


def test_sigmoid_softmax_do_not_overflow():
    x = np.array([[-1000.0, 0.0, 1000.0]])
    assert np.all(np.isfinite(ew.sigmoid(x)))
    assert np.allclose(ew.softmax(x), [[0, 0, 1]])


def test_subsample_and_rbf():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 28, 28))
    w, b = rng.standard_normal(6), rng.standard_normal(6)
    w_t, b_t = torch.from_numpy(w).view(1, -1, 1, 1), torch.from_numpy(b).view(1, -1, 1, 1)
    ref = F.avg_pool2d(torch.from_numpy(x), 2) * 4 * w_t + b_t
    check(ew.subsample(x, w, b, (2, 2), geo(28, 28, 2, 2)), ref, np.float64)
    v, proto = rng.standard_normal((3, 84)), rng.standard_normal((10, 84))
    ref = ((torch.from_numpy(v)[:, None, :] - torch.from_numpy(proto)[None]) ** 2).sum(-1)
    assert np.max(np.abs(ew.rbf(v, proto) - ref.numpy())) <= 1e-10


def test_ceil_mode_window_larger_than_input():
    # PyTorch keeps one overhanging window: (2 − 3)/2 rounded up + 1 = 1 output.
    x = np.random.default_rng(6).standard_normal((1, 2, 2, 2))
    xt = torch.from_numpy(x)
    axes = geo(2, 2, 3, 2, ceil_mode=True)
    check(max_pool2d(x, (3, 3), axes), F.max_pool2d(xt, 3, 2, ceil_mode=True), np.float64)
    check(avg_pool2d(x, (3, 3), axes), F.avg_pool2d(xt, 3, 2, ceil_mode=True), np.float64)


def test_pool_blocks_and_rectangular_windows(monkeypatch):
    # Several cache blocks of planes (one plane per block here) and a rectangular window with
    # different strides per axis: the separable W-then-H reduction must still equal PyTorch.
    from cnncalc.kernels import pool
    monkeypatch.setattr(pool, "BLOCK_BYTES", 1)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 11, 10))
    xt = torch.from_numpy(x)
    for ceil_mode in (False, True):
        check(max_pool2d(x, (2, 3), geo(11, 10, (2, 3), (1, 2), (1, 1, 1, 1), ceil_mode=ceil_mode)),
              F.max_pool2d(xt, (2, 3), (1, 2), (1, 1), ceil_mode=ceil_mode), np.float64)
        check(avg_pool2d(x, (3, 2), geo(11, 10, (3, 2), (2, 1), (1, 1, 0, 0), ceil_mode=ceil_mode), False),
              F.avg_pool2d(xt, (3, 2), (2, 1), (1, 0), ceil_mode=ceil_mode, count_include_pad=False), np.float64)


def test_window_rows():
    from cnncalc.kernels.conv import window_rows
    assert window_rows(7_375_872, 8, 112) == (1, 28)  # the stem: ⌈7,375,872 / 2 MiB⌉ = 4 runs of 28 rows
    assert window_rows(1000, 8, 5) == (8, 5)  # whole samples fit the budget: all 8 at once, every row
    assert window_rows(5 * 2**20, 1, 7) == (1, 3)  # ⌈5 MiB / 2 MiB⌉ = 3 runs of ⌈7 / 3⌉ = 3, 3 and 1 rows


def test_column_buffer_accounting(monkeypatch):
    from cnncalc.kernels import conv as conv_mod
    from cnncalc.kernels.conv import col_buffer_bytes
    monkeypatch.setattr(conv_mod, "COL_BUDGET_BYTES", 8 * 1024 * 1024)  # the derivations below use 8 MiB
    monkeypatch.setattr(conv_mod, "winograd_tile", lambda *args: 0)  # im2col's buffers (Winograd: test_winograd.py)
    # Flat path, 3×3 at 56×56 (64 → 64, padding 1, batch 32, float32): a padded row is 58 wide, so
    # 56·58 = 3,248 positions per sample; one sample's columns are 576·3,248·4 = 7,483,392 B, under
    # the 8 MiB budget, so one sample per chunk; + the padded sample 64·59·58·4 = 876,032 (one spare
    # row) + the result 64·3,248·4 = 831,488.
    assert col_buffer_bytes((64, 56, 56), (64, 64, 3, 3), geo(56, 56, 3, 1, (1, 1, 1, 1)), (1, 1), 4, 32) == 9_190_912
    # Strided windows, the ResNet stem (3×224×224, 64 filters 7×7/2, padding 3, batch 8): 112×112
    # outputs, 147·12,544·4 = 7,375,872 B per sample, one per chunk, above the 2 MiB a run of rows
    # may hold (ROWS_BYTES): ⌈7,375,872 / 2,097,152⌉ = 4 runs of ⌈112 / 4⌉ = 28 rows, 147·28·112·4 =
    # 1,843,968; + the padded sample (a chunk is padded at a time) 3·230·230·4 = 634,800.
    assert col_buffer_bytes((3, 224, 224), (64, 3, 7, 7), geo(224, 224, 7, 2, (3, 3, 3, 3)), (1, 1), 4, 8) == 2_478_768
    # Side by side, 3×3/2 at 14×14 → 7×7 (256 → 256, batch 32): 2,304·49·4 = 451,584 B per sample,
    # ⌊8,388,608 / 451,584⌋ = 18 per chunk → 8,128,512; + the padded chunk 18·256·16·16·4 = 4,718,592;
    # + result 18·256·49·4 = 903,168.
    assert col_buffer_bytes((256, 14, 14), (256, 256, 3, 3), geo(14, 14, 3, 2, (1, 1, 1, 1)), (1, 1), 4,
                            32) == 13_750_272
    # 1×1, stride 1, no padding: the input is the column matrix.
    assert col_buffer_bytes((256, 56, 56), (64, 256, 1, 1), geo(56, 56, 1, 1), (1, 1), 4, 32) == 0


# -- erf and GELU: NumPy only, against math.erf and PyTorch ----------------------------------------
def erf_grid():
    """Dense over [−8, 8], denser around the branch point |x| = 1, far tails, tiny and special values."""
    return np.concatenate([np.linspace(-8, 8, 400_001), np.linspace(0.99, 1.01, 20_001),
                           np.linspace(-1.01, -0.99, 2_001),
                           np.geomspace(1e-300, 1e-3, 2_000), -np.geomspace(1e-300, 1e-3, 200),
                           np.linspace(5.5, 40, 2_001), -np.linspace(5.5, 40, 201), [0.0, -0.0, 1e308, -1e308, 5e-324]])


def test_erf_equals_math_erf_to_float64_rounding():
    x = erf_grid()
    ref = np.array([math.erf(v) for v in x])
    ours = ew.erf(x)
    assert np.max(np.abs(ours - ref)) <= 1e-15
    # Near 0 erf(x) ≈ 2x/√π is tiny: absolute error says nothing there, so relative too.
    small = (np.abs(x) < 1) & (x != 0)
    assert np.max(np.abs(ours[small] - ref[small]) / np.abs(ref[small])) <= 1e-15
    assert np.array_equal(np.signbit(ours), np.signbit(ref))  # erf(−0) = −0
    special = ew.erf(np.array([np.inf, -np.inf, np.nan]))
    assert special[0] == 1 and special[1] == -1 and np.isnan(special[2])
    transposed = ew.erf(x[:35].reshape(5, 7).T)  # any shape, any memory order
    assert np.array_equal(transposed, ours[:35].reshape(5, 7).T)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gelu_equals_pytorch_exact_form(dtype):
    x = erf_grid()[::3].copy()
    x = x[np.abs(x) < 1e300]  # x·Φ(x) overflows nowhere, but PyTorch's x·0.5 path is what we compare
    ref = F.gelu(torch.from_numpy(x)).numpy()
    ours = ew.gelu(x.astype(dtype))
    assert ours.dtype == dtype
    if dtype == np.float64:
        # Both compute x/2·(1 + erf(x/√2)) in float64: equal to a few rounding steps of |x|.
        assert np.max(np.abs(ours - ref) / np.maximum(np.abs(x), 1)) <= 1e-15
    else:
        assert np.max(np.abs(ours - ref.astype(np.float32)) / np.maximum(np.abs(ref), 1)) <= 2e-7
    block = ew._ERF_BLOCK
    y = np.random.default_rng(9).standard_normal((3, block // 2 + 5))  # several blocks, a ragged last one
    assert np.max(np.abs(ew.gelu(y) - F.gelu(torch.from_numpy(y)).numpy())) <= 1e-15


def _gelu_exact(x: np.ndarray) -> np.ndarray:
    """x·Φ(x) with Φ(x) = erfc(−x/√2)/2 from math.erfc, in float64: relative to 1e-15 in both tails
    (PyTorch's float64 form, 1 + erf, cancels for x ≪ 0: it is only absolute there)."""
    return np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])


def test_gelu_float32_relative_accuracy_tails_and_specials():
    # The float32 kernel (max(x, 0) − |x|·e^(−x²/2)·P/Q) against math.erfc, on the float32 grid points.
    grid = erf_grid()
    x = grid[np.abs(grid) < 3e38].astype(np.float32)
    exact = _gelu_exact(x)
    ours = ew.gelu(x).astype(np.float64)
    rel = np.abs(ours - exact) / np.maximum(np.abs(exact), 1e-300)
    xs = x.astype(np.float64)
    # Measured: 9e-8 above 1 (within 0.85 ulp of the float64 value: faithful), 3.6e-7 within 1 of 0
    # (6 ulps: exp2 and the rounding of a·a), 5.8e-6 at −11.5 (float32 rounds the exponent −a²/2).
    # Relative only from 1e-36 on: below, x/2 is subnormal and keeps fewer bits.
    assert np.max(rel[xs > 1]) <= 2e-7
    assert np.max(rel[(np.abs(xs) <= 1) & (np.abs(xs) >= 1e-36)]) <= 5e-7
    assert np.max(rel[(xs >= -13) & (xs < -1)]) <= 1e-5
    # Where the result leaves float32's normal range (|x| ≥ 13.1) until e^(−x²/2) underflows (14.4):
    # within 1e-38, never positive, and 0 from there on.
    deep = xs < -13
    assert np.max(np.abs(ours[deep] - exact[deep])) <= 1e-38 and np.all(ours[deep] <= 0)
    assert np.all(ours[xs < -14.4] == 0)
    zero = xs == 0
    assert np.array_equal(ours[zero], xs[zero]) and np.array_equal(np.signbit(ours[zero]), np.signbit(xs[zero]))
    special = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 3e38, -3e38, 15.0, -15.0, 1e-40], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        got = ew.gelu(special)
    # NaN stays NaN; +inf and huge values are themselves (Φ = 1 to far below an ulp); −inf and huge
    # negative values give 0, the limit of x·Φ(x) (PyTorch gives NaN at −inf). A subnormal x gives x/2
    # (Φ(0) = 1/2) to its last bit.
    assert np.isnan(got[0])
    assert np.array_equal(got[1:9], np.array([np.inf, 0, 1e30, 0, 3e38, 0, 15, 0], dtype=np.float32))
    assert abs(float(got[9]) - float(special[9]) / 2) <= 1.5e-45


def test_gelu_float32_in_place_blocks_and_memory_order():
    block = ew._BLOCK  # the float32 kernel works in blocks of this many values
    x = (np.random.default_rng(12).standard_normal((3, block // 2 + 5)) * 4).astype(np.float32)  # a ragged last block
    ref = F.gelu(torch.from_numpy(x.astype(np.float64))).numpy()
    new = ew.gelu(x)
    assert new.dtype == np.float32 and new.shape == x.shape
    assert np.max(np.abs(new - ref.astype(np.float32)) / np.maximum(np.abs(ref), 1)) <= 2e-7
    same = x.copy()
    assert ew.gelu(same, out=same) is same and np.array_equal(same, new)  # in place, as the forward pass calls it
    other = np.empty_like(x)
    assert ew.gelu(x, out=other) is other and np.array_equal(other, new)
    view = x.copy().T  # Fortran order: worked on a contiguous copy, written back through the view
    assert ew.gelu(view, out=view) is view and np.array_equal(view, new.T)
    assert np.array_equal(ew.gelu(x.T), new.T)


# -- kernels refuse what does not fit with the project's error, never a bare traceback ----------
def test_kernels_raise_cnnerror():
    from cnncalc.errors import CnnError
    x = np.zeros((1, 3, 8, 8))
    with pytest.raises(CnnError, match="the input has 3 channels, but the weight takes 2 per group"):
        conv2d(x, np.zeros((4, 2, 3, 3)), None, geo(8, 8, 3, 1))
    with pytest.raises(CnnError, match="do not fit the padded input 8"):
        conv2d(x, np.zeros((4, 3, 3, 3)), None, geo(9, 9, 3, 1))  # the geometry of a 9×9 input
    with pytest.raises(CnnError, match="do not fit the input 8"):
        max_pool2d(x, (2, 2), geo(12, 12, 2, 2))
    with pytest.raises(CnnError, match="do not fit the input 8"):
        avg_pool2d(x, (2, 2), geo(12, 12, 2, 2))
    with pytest.raises(CnnError, match="dense takes"):
        dense(np.zeros((2, 5)), np.zeros((3, 4)))
