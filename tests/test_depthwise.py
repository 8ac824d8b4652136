"""Depthwise convolutions against banded weights (cnncalc.kernels.depthwise): the band written out by
hand, the kernel against im2col's path (independent code) on generated geometry, networks against
PyTorch, and the memory estimate against what a run keeps."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc import threads
from cnncalc.forward import estimate_peak, run_forward
from cnncalc.kernels import conv as conv_mod
from cnncalc.kernels import depthwise, prepared
from cnncalc.kernels.conv import Epilogue, col_buffer_bytes, conv2d
from cnncalc.shapes import window_axis


def test_band_by_hand():
    # Taps a, b (kw = 2), blocks of 3 outputs. Stride 1: output x reads inputs x and x + 1, so the
    # block reads L = 4 inputs and column x holds a at row x, b at row x + 1.
    w = np.array([[[[2.0, 3.0]]]])
    assert depthwise.run_length(3, 2, 1, 1) == 4
    np.testing.assert_array_equal(depthwise._banded(w, 3, 1, 1), [[[2, 0, 0], [3, 2, 0], [0, 3, 2], [0, 0, 3]]])
    # Stride 2, dilation 2: output x reads inputs 2x and 2x + 2; L = (3 − 1)·2 + (2 − 1)·2 + 1 = 7.
    assert depthwise.run_length(3, 2, 2, 2) == 7
    np.testing.assert_array_equal(depthwise._banded(w, 3, 2, 2), [[[2, 0, 0], [0, 0, 0], [3, 2, 0], [0, 0, 0],
                                                                 [0, 3, 2], [0, 0, 0], [0, 0, 3]]])
    # Two kernel rows: the second row's band follows the first's (K = kh·L).
    w2 = np.array([[[[1.0], [5.0]]]])  # kh = 2, kw = 1
    np.testing.assert_array_equal(depthwise._banded(w2, 2, 1, 1), [[[1, 0], [0, 1], [5, 0], [0, 5]]])


@pytest.mark.parametrize("ow, wb", [(56, 14), (28, 14), (14, 14), (7, 7), (112, 14), (15, 8), (30, 10), (1, 1)])
def test_block_width(ow, wb):
    # As few blocks of at most 14 as it takes, evened out: 15 = 2 blocks of 8 (the last one 7 wide).
    assert depthwise.block_width(ow) == wb


def test_only_depthwise_layers_take_it():
    assert depthwise.applies(8, 8) and not depthwise.applies(8, 4) and not depthwise.applies(1, 1)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 3), c=st.integers(2, 5), mult=st.integers(1, 3), h=st.integers(1, 18), w=st.integers(1, 33),
       kh=st.integers(1, 7), kw=st.integers(1, 7), sh=st.integers(1, 3), sw=st.integers(1, 3),
       dh=st.integers(1, 3), dw=st.integers(1, 3), pads=st.tuples(*[st.integers(0, 3)] * 4),
       one_channel_slices=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_banded_equals_im2col(n, c, mult, h, w, kh, kw, sh, sw, dh, dw, pads, one_channel_slices, seed):
    """Any geometry, a channel multiplier, and a fused epilogue (a scale, a shift and an activation):
    the banded kernel and im2col's grouped product give the same numbers in float64, with all the
    channels in one slice or one channel a slice."""
    assume(dh * (kh - 1) + 1 <= h + pads[0] + pads[1] and dw * (kw - 1) + 1 <= w + pads[2] + pads[3])
    axes = (window_axis("H", h, kh, sh, dh, pads), window_axis("W", w, kw, sw, dw, pads))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((c * mult, 1, kh, kw))
    bias, scale, shift = (rng.standard_normal(c * mult) for _ in range(3))
    ep = Epilogue(scale, shift, lambda block: np.tanh(block, out=block))
    results = {}
    for path in ("auto", "im2col"):
        before, slice_bytes = conv_mod.set_conv_path(path), depthwise.SLICE_BYTES
        depthwise.SLICE_BYTES = 1 if one_channel_slices else slice_bytes
        try:
            results[path] = conv2d(x, weight, bias, axes, (dh, dw), c, ep)
        finally:
            conv_mod.set_conv_path(before)
            depthwise.SLICE_BYTES = slice_bytes
    np.testing.assert_allclose(results["auto"], results["im2col"], rtol=0, atol=1e-12)


def test_auto_takes_the_banded_path_and_im2col_does_not():
    prepared._cache.clear()
    weight = np.ones((4, 1, 3, 3))
    weight.flags.writeable = False
    axes = (window_axis("H", 6, 3, 1, 1, (1, 1, 1, 1)), window_axis("W", 6, 3, 1, 1, (1, 1, 1, 1)))
    x = np.ones((1, 4, 6, 6))
    before = conv_mod.set_conv_path("im2col")
    try:
        conv2d(x, weight, None, axes, (1, 1), 4, Epilogue(np.full(4, 2.0)))
        assert not any(key[-1][0] == "depthwise-banded" for key in prepared._cache if len(key[-1]))
        conv_mod.set_conv_path("auto")
        y = conv2d(x, weight, None, axes, (1, 1), 4, Epilogue(np.full(4, 2.0)))
    finally:
        conv_mod.set_conv_path(before)
    assert any(key[-1][0] == "depthwise-banded" for key in prepared._cache)
    # A 3×3 window of ones over ones, doubled: 18 inside, 12 on an edge, 8 in a corner.
    assert y[0, 0, 2, 2] == 18 and y[0, 0, 0, 2] == 12 and y[0, 0, 0, 0] == 8


torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")

from forward_runs import every_way  # noqa: E402
from torch_reference import TorchNet  # noqa: E402  (after the importorskip above)

# ConvNeXt's 7×7 with a channel multiplier and a batch norm and GELU fused after it; MobileNet's
# strided 3×3 with a bias, asymmetric padding and a fused ReLU6; a dilated rectangular one.
NET = """
input: [6, 23, 19]
layers:
  - conv: {filters: 12, kernel: 7, padding: 3, groups: 6, bias: false}
  - batchnorm
  - gelu
  - conv: {filters: 12, kernel: 3, stride: 2, padding: [1, 0, 2, 1], groups: 12}
  - relu6
  - conv: {filters: 12, kernel: [3, 5], dilation: [2, 1], padding: same, groups: 12, bias: false}
  - batchnorm
  - conv: {filters: 4, kernel: 1}
"""


@pytest.mark.parametrize("path", ["auto", "im2col"])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-5)])
def test_depthwise_network_equals_pytorch(monkeypatch, path, dtype, tol):
    monkeypatch.setattr(threads, "SHARD_MIN_MACS", 1)  # shard this small network too
    net = cnncalc.loads(NET)
    x = np.random.default_rng(5).standard_normal((5, 6, 23, 19))
    runs = every_way(net.graph, x, dtype, path, seed=2)
    model = TorchNet(net.graph, runs[1, False].weights).eval()
    with torch.inference_mode():
        ref = model(torch.from_numpy(x.astype(dtype))).numpy()
    for key, result in runs.items():
        assert result.ok
        assert np.max(np.abs(result.output - ref)) <= tol * np.max(np.abs(ref)), key


def test_the_estimate_counts_the_banded_weights_and_buffers(monkeypatch):
    monkeypatch.setattr(threads, "SHARD_MIN_MACS", 10**12)  # one shard
    net = cnncalc.loads("""
input: [8, 10, 10]
layers:
  - conv: {filters: 8, kernel: 3, padding: 1, groups: 8, bias: false}
  - batchnorm
""")
    # Derived by hand: OW = 10, one block of Wb = 10 outputs reading L = 9 + 2 + 1 = 12 inputs a
    # kernel row, so T is 8 channels × (3·12) × 10 × 4 B = 11,520 B (the batch norm's scale inside).
    peak = estimate_peak(net.graph, net.analyse(batch=2), 2, 4, threads=1)
    assert peak.prepared == 11_520
    weights = run_forward(net.graph, batch=1).weights
    prepared._cache.clear()
    run_forward(net.graph, np.ones((2, 8, 10, 10), dtype=np.float32), weights)
    assert sum(v[2].nbytes for v in prepared._cache.values()) == peak.prepared
    # The buffers, batch 2: padded input 2·8·12·12 = 2,304 values (one slice of all 8 channels:
    # col is 8·2,880 B, far below 2 MiB), col 8 channels × 20 rows (2 samples × 10 output rows × 1
    # block) × 36 = 5,760, product 8 × 20 × 10 = 1,600: (2,304 + 5,760 + 1,600)·4 = 38,656 B.
    axes = (window_axis("H", 10, 3, 1, 1, (1, 1, 1, 1)), window_axis("W", 10, 3, 1, 1, (1, 1, 1, 1)))
    assert col_buffer_bytes((8, 10, 10), (8, 1, 3, 3), axes, (1, 1), 4, 2) == 38_656
