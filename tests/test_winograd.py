"""Winograd F(2×2, 3×3) and F(4×4, 3×3) (cnncalc.kernels.winograd) against PyTorch and a float64
reference, and the forward pass with each conv path forced against the PyTorch oracle."""
from __future__ import annotations

import numpy as np
import pytest

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
@pytest.mark.parametrize("block", [winograd.BLOCK_BYTES, 1])  # 1: one sample and one tile row a block
def test_winograd_equals_pytorch(m, shape, block, monkeypatch):
    monkeypatch.setattr(winograd, "BLOCK_BYTES", block)
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
    first = run(x, w, (1, 1, 1, 1), 2, np.float64)
    w *= 2  # in place: same array, new contents
    np.testing.assert_allclose(run(x, w, (1, 1, 1, 1), 2, np.float64), 2 * first, rtol=1e-12, atol=1e-12)


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
        assert conv_mod.winograd_tile(shape, (1, 1), (1, 1), 1) == 0  # measured slower in the forward pass
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
