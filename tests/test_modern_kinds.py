"""Issue 11's layer kinds (relu6, hardtanh, hardsigmoid, hardswish, silu, mish, elu, prelu, layernorm,
layer_scale, stochastic_depth, dense per position): each NumPy kernel against torch.nn.functional in
float64 and in float32, value by value, on inputs that reach every branch of its formula (both
sides of 0 and ±3, beyond 6, tails where e^x overflows), in place and not, across the kernels'
block boundary; then the counts against PyTorch modules built as torchvision builds them."""
from __future__ import annotations

import numpy as np
import pytest

import cnncalc
from cnncalc.kernels import elementwise as ew
from cnncalc.kernels.dense import dense_per_position

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")
F = torch.nn.functional

DTYPES = [np.float64, np.float32]
# float64: a few ulps of each value (or of 1 near 0); float32 against PyTorch's own float32.
TOL = {np.float64: (1e-14, 1e-300), np.float32: (4e-7, 1e-30)}


def _inputs(dtype) -> np.ndarray:
    """(2, 5, 7, 9) values: normal σ = 4, plus the points where formulas switch branch, the tails
    where exp overflows in either dtype, and ±0."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 5, 7, 9)) * 4
    special = [0.0, -0.0, 3.0, -3.0, 6.0, 6.5, -1e-8, 1e-8, 20.0, -20.0, 50.0, -50.0, 100.0, -100.0, 800.0, -800.0,
               1e30, -1e30, 2.9999999, -2.9999999, 36.0, 39.0, 40.0, 41.0, -40.0, -88.0, -104.0, 1e-40]
    x.reshape(-1)[:len(special)] = special
    return x.astype(dtype)


def _close(ours: np.ndarray, ref, dtype):
    ref = ref.numpy()
    assert ours.dtype == ref.dtype == dtype
    assert ours.shape == ref.shape
    rtol, atol = TOL[dtype]
    bad = ~np.isclose(ours, ref, rtol=rtol, atol=atol)
    # Relative to each value, except near 0 where it is relative to the input's scale (1 ulp of 1).
    bad &= np.abs(ours - ref) > np.finfo(dtype).eps
    assert not bad.any(), f"{np.count_nonzero(bad)} values differ, e.g. ours {ours[bad][:3]} vs {ref[bad][:3]}"


ACTIVATIONS = {  # name: (ours, PyTorch)
    "relu6": (lambda x, out=None: ew.relu6(x, out=out), F.relu6),
    "hardtanh": (lambda x, out=None: ew.hardtanh(x, -0.5, 2.5, out=out), lambda t: F.hardtanh(t, -0.5, 2.5)),
    "hardsigmoid": (lambda x, out=None: ew.hardsigmoid(x, out=out), F.hardsigmoid),
    "hardswish": (lambda x, out=None: ew.hardswish(x, out=out), F.hardswish),
    "silu": (lambda x, out=None: ew.silu(x, out=out), F.silu),
    "mish": (lambda x, out=None: ew.mish(x, out=out), F.mish),
    "elu": (lambda x, out=None: ew.elu(x, 0.7, out=out), lambda t: F.elu(t, 0.7)),
    # older kinds whose kernels were rewritten without masks, and made in place
    "sigmoid": (lambda x, out=None: ew.sigmoid(x, out=out), torch.sigmoid),
    "leaky_relu": (lambda x, out=None: ew.leaky_relu(x, 0.2, out=out), lambda t: F.leaky_relu(t, 0.2)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_equals_pytorch(name, dtype):
    ours, ref = ACTIVATIONS[name]
    x = _inputs(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        y = ours(x.copy())
        inplace = x.copy()
        z = ours(inplace, out=inplace)
    expected = ref(torch.from_numpy(x))
    _close(y, expected, dtype)
    assert z is inplace and np.array_equal(z, y)


@pytest.mark.parametrize("name", ["hardswish", "silu", "mish"])
def test_blockwise_kernels_cross_block_boundaries_and_strides(name):
    """More values than one block, and a non-contiguous view written in place."""
    ours, ref = ACTIVATIONS[name]
    x = np.random.default_rng(3).standard_normal((10, 7, 61, 67)) * 5  # 286,090 values
    assert ew._BLOCK < x.size < 2 * ew._BLOCK  # a whole block, then part of one
    _close(ours(x), ref(torch.from_numpy(x)), np.float64)
    view = x.copy().transpose(0, 1, 3, 2)
    expected = ref(torch.from_numpy(np.ascontiguousarray(view)))
    assert ours(view, out=view) is view
    _close(view, expected, np.float64)


@pytest.mark.parametrize("name", ["hardswish", "silu", "mish", "gelu", "sigmoid", "elu", "leaky_relu"])
def test_blockwise_kernels_dealt_out_to_threads_give_the_same_bits(name, monkeypatch):
    """Outside a shard a long pass is cut into one part per BLAS thread at block boundaries: each
    block is computed as it would be on one thread, so the same bits, in place or not."""
    from cnncalc import threads
    ours = ew.gelu if name == "gelu" else ACTIVATIONS[name][0]
    x = (np.random.default_rng(4).standard_normal(int(3.3 * ew.SPLIT_LEAST) + 12_345) * 4).astype(np.float32)
    monkeypatch.setattr(threads, "blas_threads", lambda: 1)
    one = ours(x.copy())
    monkeypatch.setattr(threads, "blas_threads", lambda: 3)
    assert threads.split_count(x.size, ew.SPLIT_LEAST) == 3
    assert np.array_equal(ours(x.copy()), one)
    inplace = x.copy()
    assert ours(inplace, out=inplace) is inplace and np.array_equal(inplace, one)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("slopes", [1, 5])
def test_prelu_equals_pytorch(dtype, slopes):
    x = _inputs(dtype)
    w = np.array([0.25, -0.5, 1.5, 0.0, 3.0][:slopes], dtype=dtype)
    expected = F.prelu(torch.from_numpy(x), torch.from_numpy(w))
    _close(ew.prelu(x, w), expected, dtype)
    same = x.copy()
    assert ew.prelu(same, w, out=same) is same  # in place
    _close(same, expected, dtype)
    _close(ew.prelu(x, w, out=np.empty_like(x)), expected, dtype)
    _close(ew.prelu(x[:, :, 0, 0].copy(), w), F.prelu(torch.from_numpy(x[:, :, 0, 0].copy()), torch.from_numpy(w)),
           dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [1e-6, 0.5])
def test_layer_norm_over_channels_and_vectors_equals_pytorch(dtype, eps):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((2, 5, 7, 9)) * 3 + 1).astype(dtype)
    w, b = rng.standard_normal(5).astype(dtype), rng.standard_normal(5).astype(dtype)
    t, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    # ConvNeXt's LayerNorm2d: permute, F.layer_norm over the last axis (the channels), permute back.
    expected = F.layer_norm(t.permute(0, 2, 3, 1), (5,), tw, tb, eps).permute(0, 3, 1, 2).contiguous()
    # Normalising over (C, H, W), or over H·W, would give other numbers: the test tells them apart.
    assert not torch.allclose(expected, F.layer_norm(t, (5, 7, 9), None, None, eps) * tw[:, None, None]
                              + tb[:, None, None], atol=1e-3)
    tol = 1e-12 if dtype == np.float64 else 2e-5  # float32: PyTorch accumulates the statistics in double
    assert np.max(np.abs(ew.layer_norm(x, w, b, eps) - expected.numpy())) <= tol
    assert np.max(np.abs(ew.layer_norm(x.copy(), w, b, eps, out=x) - expected.numpy())) <= tol
    v = (rng.standard_normal((3, 40)) * 3).astype(dtype)
    wv, bv = rng.standard_normal(40).astype(dtype), rng.standard_normal(40).astype(dtype)
    ref = F.layer_norm(torch.from_numpy(v), (40,), torch.from_numpy(wv), torch.from_numpy(bv), eps)
    assert np.max(np.abs(ew.layer_norm(v, wv, bv, eps) - ref.numpy())) <= tol


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_scale_and_per_position_dense_equal_pytorch(dtype):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, 7, 9)).astype(dtype)
    gamma = rng.standard_normal((5, 1, 1)).astype(dtype)
    _close(ew.layer_scale(x, gamma), torch.from_numpy(gamma) * torch.from_numpy(x), dtype)
    w, b = rng.standard_normal((8, 5)).astype(dtype), rng.standard_normal(8).astype(dtype)
    ref = F.linear(torch.from_numpy(x).permute(0, 2, 3, 1), torch.from_numpy(w), torch.from_numpy(b))
    ours = dense_per_position(x, w, b)
    tol = 1e-13 if dtype == np.float64 else 1e-5
    assert ours.shape == (2, 8, 7, 9)
    assert np.max(np.abs(ours - ref.permute(0, 3, 1, 2).numpy())) <= tol
    assert np.max(np.abs(dense_per_position(x, w) - (ref - torch.from_numpy(b)).permute(0, 3, 1, 2).numpy())) <= tol


# -- counts against PyTorch modules -------------------------------------------------------------
class LayerNorm2d(torch.nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d, written out (torchvision is not installed here)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def _params(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _macs(module, x) -> int:
    """torchvision's count: the multiplications of every Conv2d and Linear, without bias, from
    forward hooks (a Linear on (N, H, W, C) counts H·W·in·out per sample)."""
    total = 0

    def hook(m, inputs, output):
        nonlocal total
        if isinstance(m, torch.nn.Linear):
            total += output.numel() // output.shape[0] * m.in_features
        elif isinstance(m, torch.nn.Conv2d):
            total += output.numel() // output.shape[0] * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in module.modules()]
    with torch.no_grad():
        module(x)
    for h in handles:
        h.remove()
    return total


class Permute(torch.nn.Module):
    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


class CNBlockBody(torch.nn.Module):
    """torchvision's ConvNeXt CNBlock (dim 96 at 56×56, convnext_tiny's first stage): depthwise
    7×7, LayerNorm over channels, Linear 96→384, GELU, Linear 384→96, layer scale, stochastic depth,
    the residual add."""

    def __init__(self, dim=96):
        super().__init__()
        self.block = torch.nn.Sequential(
            torch.nn.Conv2d(dim, dim, 7, padding=3, groups=dim), Permute(0, 2, 3, 1), torch.nn.LayerNorm(dim, eps=1e-6),
            torch.nn.Linear(dim, 4 * dim), torch.nn.GELU(), torch.nn.Linear(4 * dim, dim), Permute(0, 3, 1, 2))
        self.layer_scale = torch.nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)

    def forward(self, x):
        return self.layer_scale * self.block(x) + x


CNBLOCK_YAML = """
input: [96, 56, 56]
layers:
  - residual:
      body:
        - conv: {name: block.0, filters: 96, kernel: 7, padding: 3, groups: 96}
        - layernorm: {name: block.2, eps: 0.000001}
        - dense: {name: block.3, units: 384, per_position: true}
        - gelu
        - dense: {name: block.5, units: 96, per_position: true}
        - layer_scale: {name: layer_scale}
        - stochastic_depth: {p: 0.0, mode: row}
"""


def test_convnext_block_counts_equal_torchvision_hooks():
    module = CNBlockBody()
    a = cnncalc.loads(CNBLOCK_YAML).analyse()
    assert a.totals.params == _params(module)  # 4,704 + 192 + 37,248 + 36,960 + 96 = 79,200
    assert a.totals.macs == _macs(module, torch.zeros(1, 96, 56, 56))
    # By hand: depthwise 56·56·96·49 = 14,751,744; the two dense layers 2·56·56·96·384 = 231,211,008.
    assert a.totals.macs == 14_751_744 + 231_211_008


@pytest.mark.parametrize("text, module", [
    ("prelu", torch.nn.PReLU()),
    ("prelu: {per_channel: true}", torch.nn.PReLU(6)),
    ("layernorm", LayerNorm2d(6)),
    ("layer_scale", None),
    ("relu6", torch.nn.ReLU6()),
    ("hardswish", torch.nn.Hardswish()),
    ("hardsigmoid", torch.nn.Hardsigmoid()),
    ("silu", torch.nn.SiLU()),
    ("mish", torch.nn.Mish()),
    ("elu", torch.nn.ELU()),
    ("hardtanh", torch.nn.Hardtanh()),
    ("stochastic_depth: 0.2", torch.nn.Identity()),  # torchvision's StochasticDepth owns no parameter
])
def test_single_kind_params_equal_pytorch_module(text, module):
    net = cnncalc.loads(f"input: [6, 4, 5]\nlayers:\n  - {text}\n").analyse()
    expected = 6 if module is None else _params(module)  # layer_scale: torchvision's (C, 1, 1) parameter
    assert net.totals.params == expected
    assert net.totals.macs == net.totals.connections == net.totals.non_trainable == 0
    assert net.layers[0].output == (6, 4, 5)


def test_random_initialisation_keeps_scale_factors_near_one():
    """docs/forward.md: layer norm's and layer scale's factors drawn around 1 (σ 0.1), PReLU's
    slopes in [0, 0.5): a ConvNeXt block run on random weights keeps its magnitude."""
    from cnncalc.forward import init_weights
    from cnncalc.layers import KINDS as kinds
    rng = np.random.default_rng(0)
    ln = init_weights(kinds["layernorm"]("ln", {"eps": 1e-6}), (256, 4, 4), rng, np.float64)
    ls = init_weights(kinds["layer_scale"]("ls", {}), (256, 4, 4), rng, np.float64)
    pr = init_weights(kinds["prelu"]("p", {"per_channel": True}), (256, 4, 4), rng, np.float64)
    assert abs(ln["weight"].mean() - 1) < 0.03 and abs(ln["bias"].mean()) < 0.03 and ln["weight"].std() < 0.15
    assert ls["weight"].shape == (256, 1, 1) and abs(ls["weight"].mean() - 1) < 0.03
    assert pr["weight"].min() >= 0 and pr["weight"].max() < 0.5
