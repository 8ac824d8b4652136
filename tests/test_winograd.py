"""Winograd F(2×2, 3×3) and F(4×4, 3×3) (cnncalc.kernels.winograd) against PyTorch and a float64
reference, and the forward pass with each conv path forced against the PyTorch oracle."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import cnncalc
from cnncalc.forward import run_forward
from cnncalc.kernels import conv as conv_mod
from cnncalc.kernels import winograd

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")
F = torch.nn.functional

from torch_reference import TorchNet  # noqa: E402  (after the importorskip above)

# (batch, C_in, C_out, H, W, padding (top, bottom, left, right)): odd and even sizes, maps smaller
# than a tile, padding 0 / 1 / asymmetric.
SHAPES = [
    (2, 3, 5, 7, 8, (1, 1, 1, 1)),
    (3, 4, 2, 6, 5, (0, 0, 0, 0)),
    (1, 2, 3, 9, 4, (2, 0, 1, 3)),
    (2, 5, 4, 3, 3, (0, 0, 0, 0)),
    (4, 6, 7, 11, 13, (1, 1, 1, 1)),
    (2, 3, 3, 2, 1, (1, 2, 2, 0)),
]


def reference(x, w, padding):
    t, b, l, r = padding
    return F.conv2d(F.pad(torch.from_numpy(x), (l, r, t, b)), torch.from_numpy(w)).numpy()


def run(x, w, padding, m, dtype):
    t, b, l, r = padding
    out = np.empty((x.shape[0], w.shape[0], x.shape[2] + t + b - 2, x.shape[3] + l + r - 2), dtype=dtype)
    winograd.conv3x3(x.astype(dtype), w.astype(dtype), out, padding, m)
    return out


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("shape", SHAPES)
# block 1: one sample and one tile row a block; slice 1: the input transform one channel at a time
@pytest.mark.parametrize("block, slice_bytes", [(winograd.BLOCK_BYTES, winograd.SLICE_BYTES), (1, 1),
                                                (winograd.BLOCK_BYTES, 1)])
def test_winograd_equals_pytorch(m, shape, block, slice_bytes, monkeypatch):
    monkeypatch.setattr(winograd, "BLOCK_BYTES", block)
    monkeypatch.setattr(winograd, "SLICE_BYTES", slice_bytes)
    n, c, k, h, w_, padding = shape
    rng = np.random.default_rng(sum(shape[:5]))
    x, w = rng.standard_normal((n, c, h, w_)), rng.standard_normal((k, c, 3, 3))
    ref = reference(x, w, padding)
    scale = np.max(np.abs(ref))
    assert np.max(np.abs(run(x, w, padding, m, np.float64) - ref)) <= 1e-10 * scale
    # float32: rounding of the transforms; F(4×4)'s larger constants cost about 10× F(2×2)'s error.
    assert np.max(np.abs(run(x, w, padding, m, np.float32) - ref)) <= (1e-5 if m == 2 else 1e-4) * scale


def test_weight_cache_sees_changes():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 4, 6, 6)), rng.standard_normal((5, 4, 3, 3))
    out = np.empty((2, 5, 6, 6))
    winograd.conv3x3(x, w, out, (1, 1, 1, 1), 2)
    first = out.copy()
    w *= 2  # in place: same array (and memory), new contents
    winograd.conv3x3(x, w.reshape(w.shape), out, (1, 1, 1, 1), 2)  # a view of it, as each forward run makes
    np.testing.assert_allclose(out, 2 * first, rtol=1e-12, atol=1e-12)


def test_conv_path_setting():
    shape = (64, 64, 3, 3)
    before = conv_mod.set_conv_path("im2col")
    try:
        assert conv_mod.winograd_tile(shape, (1, 1), (1, 1), 1) == 0
        conv_mod.set_conv_path("winograd4")
        assert conv_mod.winograd_tile(shape, (1, 1), (1, 1), 1) == 4
        assert conv_mod.winograd_tile(shape, (2, 2), (1, 1), 1) == 0  # strided: im2col
        conv_mod.set_conv_path("winograd")
        assert conv_mod.winograd_tile(shape, (1, 1), (1, 1), 1) == 2
        assert conv_mod.winograd_tile(shape, (1, 1), (2, 2), 1) == 0  # dilated: im2col
        conv_mod.set_conv_path("auto")
        assert conv_mod.winograd_tile(shape, (1, 1), (1, 1), 1) == 0  # auto, one sample of 1×1: too few tiles
        with pytest.raises(cnncalc.CnnError):
            conv_mod.set_conv_path("fft")
    finally:
        conv_mod.set_conv_path(before)


@pytest.mark.parametrize("path", conv_mod.CONV_PATHS)
@pytest.mark.parametrize("name, shape", [("resnet18", (3, 32, 32)), ("vgg16", (3, 32, 32)), ("nin", (3, 20, 20))])
def test_zoo_network_equals_pytorch_with_path_forced(name, shape, path):
    net = cnncalc.load(name, shape)
    before = conv_mod.set_conv_path(path)
    try:
        result = run_forward(net.graph, batch=2, seed=7, dtype="float64")
        assert result.ok
        model = TorchNet(net.graph, result.weights)
        x = np.random.default_rng(8).standard_normal((2, *shape))
        ours = run_forward(net.graph, x, result.weights, dtype="float64").output
        ours32 = run_forward(net.graph, x.astype(np.float32), result.weights, dtype="float32").output
    finally:
        conv_mod.set_conv_path(before)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    scale = np.max(np.abs(ref))
    assert np.max(np.abs(ours - ref)) <= 1e-10 * scale
    assert np.max(np.abs(ours32 - ref)) <= 1e-4 * scale


@pytest.mark.parametrize("channels, filters, batch, size, itemsize, blas, tile", [
    # Tiles per block by hand (BLOCK_BYTES = 8 MiB holds the whole batch in all of these but the
    # last): F(4×4) takes ⌈size/4⌉² tiles a sample, F(2×2) ⌈size/2⌉². `blas`: the BLAS threads the
    # layer's GEMMs get (1 inside a shard of the batch; F(2×2) then needs 64 tiles a block, else 32).
    (64, 64, 8, 56, 4, 1, 4),      # 8·14² = 1568 tiles ≥ 48: F(4×4)
    (128, 128, 1, 28, 4, 1, 4),    # 7² = 49 ≥ 48: F(4×4)
    (128, 128, 1, 28, 4, 2, 4),    # the same with two BLAS threads
    (512, 512, 8, 7, 4, 1, 2),     # F(4×4): 8·2² = 32 < 48; F(2×2): 8·4² = 128 ≥ 64
    (256, 256, 1, 14, 4, 1, 0),    # F(4×4): 16; F(2×2): 49 < 64: im2col
    (256, 256, 1, 14, 4, 2, 2),    # two BLAS threads: 49 ≥ 32: F(2×2)
    (256, 256, 1, 14, 8, 2, 2),    # float64 alike
    (512, 512, 1, 14, 4, 2, 2),    # VGG-16's conv11–13 at batch 1: 49 ≥ 32
    (512, 512, 1, 7, 8, 1, 0),     # 4 and 16 tiles: im2col
    (512, 512, 1, 7, 4, 2, 0),     # 16 < 32 with two threads too
    (16, 64, 8, 56, 4, 2, 0),      # fewer than 32 channels in
    (64, 16, 8, 56, 4, 1, 0),      # fewer than 32 out
    # One sample's F(4×4) tiles: 36·2048·3²·8 B = 5.3 MiB, so one sample a block: 9 tiles < 48;
    # F(2×2): 16·2048·5²·8 B = 6.6 MiB, one sample, 25 tiles < 64 (and < 32): im2col, whatever the batch.
    (2048, 64, 8, 10, 8, 1, 0),
    (2048, 64, 8, 10, 8, 2, 0),
])
def test_auto_rule(channels, filters, batch, size, itemsize, blas, tile):
    before = conv_mod.set_conv_path("auto")
    try:
        assert conv_mod.winograd_tile((filters, channels, 3, 3), (1, 1), (1, 1), 1, batch, (size, size),
                                      itemsize, blas) == tile
    finally:
        conv_mod.set_conv_path(before)


def test_auto_rule_reads_the_threads_a_kernel_runs_with(monkeypatch):
    """Unsharded, a kernel's GEMMs get BLAS's threads; inside a shard, one (cnncalc.threads)."""
    from cnncalc import threads
    monkeypatch.setattr(threads, "available", lambda: 2)
    assert threads.blas_threads() == 2
    assert threads.run_shards(lambda i: threads.blas_threads(), 2) == [1, 1]
    assert threads.blas_threads() == 2  # restored after the shards
    before = conv_mod.set_conv_path("auto")
    try:
        shape = (256, 256, 3, 3)
        assert conv_mod.winograd_tile(shape, (1, 1), (1, 1), 1, 1, (14, 14), 4) == 2
        assert threads.run_shards(lambda i: conv_mod.winograd_tile(shape, (1, 1), (1, 1), 1, 1, (14, 14), 4),
                                  2) == [0, 0]
    finally:
        conv_mod.set_conv_path(before)


# The zoo networks with 3×3 stride-1 convolutions that test_zoo_network_equals_pytorch_with_path_forced
# does not already run in float32 with F(4×4) forced (the LeNets have none: 5×5 kernels only).
@pytest.mark.parametrize("name, small", [("alexnet", (3, 67, 67)), ("googlenet", (3, 32, 32)),
                                         ("resnet50", (3, 32, 32))])
def test_zoo_float32_accuracy_with_winograd4(name, small):
    """float32 with F(4×4) forced (the least accurate path) within 1e-4 of the float64 run (im2col,
    itself checked against PyTorch to 1e-10), relative to the output's scale."""
    net = cnncalc.load(name, small)
    before = conv_mod.set_conv_path("im2col")
    try:
        ref = run_forward(net.graph, batch=1, seed=3, dtype="float64")
        x = np.random.default_rng(4).standard_normal((1, *small))
        ref_out = run_forward(net.graph, x, ref.weights, dtype="float64").output
        conv_mod.set_conv_path("winograd4")
        out = run_forward(net.graph, x.astype(np.float32), ref.weights, dtype="float32").output
    finally:
        conv_mod.set_conv_path(before)
    assert np.max(np.abs(out - ref_out)) <= 1e-4 * np.max(np.abs(ref_out))


def test_auto_takes_winograd_in_resnet18_at_112():
    """At 3×112×112 the auto rule runs layer1 (28×28, 64 channels: 49 F(4×4) tiles) with Winograd;
    the float32 output stays within 1e-4 of the float64 im2col run, and float64 within 1e-10."""
    net = cnncalc.load("resnet18", (3, 112, 112))
    assert conv_mod._auto_tile(64, 64, 1, 28, 28, 4) == 4
    before = conv_mod.set_conv_path("im2col")
    try:
        ref = run_forward(net.graph, batch=1, seed=5, dtype="float64")
        conv_mod.set_conv_path("auto")
        out64 = run_forward(net.graph, None, ref.weights, dtype="float64", seed=5)
        out32 = run_forward(net.graph, None, {k: v.astype(np.float32) for k, v in ref.weights.items()},
                            dtype="float32", seed=5)
    finally:
        conv_mod.set_conv_path(before)
    scale = np.max(np.abs(ref.output))
    assert np.max(np.abs(out64.output - ref.output)) <= 1e-10 * scale
    assert np.max(np.abs(out32.output - ref.output)) <= 1e-4 * scale


def test_weight_cache_hits_through_views():
    """Each forward run hands the kernel a new view (reshape/astype(copy=False)) of the same weights:
    the transform is made once, not once a run (ResNet-18's took 0.2 s a layer before)."""
    w = np.random.default_rng(4).standard_normal((6, 5, 3, 3))
    first = winograd.weight_transform(w, 4, np.dtype(np.float64))
    view = w.reshape(w.shape).astype(np.float64, copy=False)
    assert winograd.weight_transform(view, 4, np.dtype(np.float64)) is first
    assert winograd.weight_transform(w.copy(), 4, np.dtype(np.float64)) is not first  # other memory


def test_blocks_are_even():
    """By hand. F(4×4) on 256 channels at 14×14: 4×4 tiles a sample, V = 36 · 256 · 16 · 4 bytes =
    589,824 a sample, so 8 MiB holds 14 samples; 16 samples take two blocks, cut 8 + 8, not 14 + 2.
    64 channels at 224×224: one tile row of V is 36 · 64 · 56 · 4 = 516,096 bytes, 16 rows fit, so the
    56 tile rows take four blocks, of 14 rows each."""
    assert winograd._blocking(16, 256, 4, 4, 4, 4) == (8, 4)
    assert winograd._blocking(14, 256, 4, 4, 4, 4) == (14, 4)
    assert winograd._blocking(1, 64, 56, 56, 4, 4) == (1, 14)


@given(total=st.integers(1, 10_000), most=st.integers(1, 10_000))
def test_even_parts_are_as_many_as_before_and_no_larger(total, most):
    part = winograd._even(total, most)
    assert 1 <= part <= most and -(-total // part) == -(-total // min(most, total))
