"""Issue 11's networks written with gates, channel split and shuffle: MobileNetV3-Large,
EfficientNet-B0, ShuffleNetV2 1.0× and RegNetY-400MF.

Expected params are torchvision 0.28's published `num_params` (the `_metadata` of each weights
enum); expected MACs are the exact multiply-accumulates of every Conv2d and Linear without bias at
3×224×224, the numbers torchvision rounds to its published GFLOPS (0.22, 0.39, 0.14, 0.40). The
forward pass is compared, at a reduced input, with the PyTorch model of tests/torchvision_like.py
(written as torchvision writes these networks, module for module) on the same weights, loaded by
name, in float64."""
from __future__ import annotations

import numpy as np
import pytest

import cnncalc
from cnncalc.forward import run_forward

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")

from torchvision_like import MODELS, torchvision_name  # noqa: E402

PUBLISHED = {  # name: (num_params, MACs at 224)
    "mobilenet_v3_large": (5_483_032, 216_589_760),
    "efficientnet_b0": (5_288_548, 385_814_752),
    "shufflenet_v2_x1_0": (2_278_604, 144_907_992),
    "regnet_y_400mf": (4_344_144, 401_842_848),
}
# torchvision's published GFLOPS (its "_ops", which are GMACs), two decimals
GFLOPS = {"mobilenet_v3_large": 0.22, "efficientnet_b0": 0.39, "shufflenet_v2_x1_0": 0.14, "regnet_y_400mf": 0.40}


@pytest.mark.parametrize("name", PUBLISHED)
def test_counts_equal_torchvision(name):
    a = cnncalc.load(name).analyse()
    assert a.input == (3, 224, 224)
    assert (a.totals.params, a.totals.macs) == PUBLISHED[name]
    assert round(a.totals.macs / 1e9, 2) == GFLOPS[name]
    assert a.layers[-1].output == (1000,)


@pytest.mark.parametrize("name", PUBLISHED)
def test_the_pytorch_transcription_has_the_published_params(name):
    """The oracle itself is held to torchvision's figure, so a slip in it cannot agree with one in the YAML."""
    assert sum(p.numel() for p in MODELS[name]().parameters()) == PUBLISHED[name][0]


@pytest.mark.parametrize("name", PUBLISHED)
def test_forward_equals_pytorch_on_the_same_weights(name):
    net = cnncalc.load(name, (3, 64, 64))
    x = np.random.default_rng(3).standard_normal((2, 3, 64, 64))
    result = run_forward(net.graph, x, dtype="float64", seed=5)
    assert result.ok
    model = MODELS[name]().double().eval()
    state = {torchvision_name(k): torch.tensor(v) for k, v in result.weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Every array cnncalc made has a torchvision name, and every torchvision tensor has a value
    # (BatchNorm's num_batches_tracked is a counter, not a weight).
    assert unexpected == [], unexpected[:5]
    assert all(k.endswith("num_batches_tracked") for k in missing), [k for k in missing if "num_batches" not in k][:5]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert result.output.shape == ref.shape == (2, 1000)
    assert np.max(np.abs(result.output - ref)) <= 1e-10 * np.max(np.abs(ref))
