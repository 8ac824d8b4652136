"""The torchvision networks of the zoo, three ways each (issue 11):

1. cnncalc's params and MACs equal torchvision 0.28's published figures (`num_params` in each
   model's weights metadata; MACs: the exact multiply-accumulates of every Conv2d and Linear
   without bias, which round to the published `_ops` "GFLOPS");
2. an independent PyTorch model written by hand from torchvision's code (tests/torch_zoo.py, not
   from the YAML) has those same counts (its parameters counted by PyTorch, its MACs by forward
   hooks on the meta device, so nothing is computed at full size), and its state dict, renamed
   only `downsample` → `shortcut` and `layer_scale` → `layer_scale.weight`, names and shapes
   exactly the arrays the cnncalc file expects;
3. cnncalc's NumPy forward pass on those very weights equals the PyTorch model's output in
   float64 at a reduced input (normalisations and layer scales drawn at random so that they matter).
"""
from __future__ import annotations

import numpy as np
import pytest

import cnncalc
from cnncalc.forward import check_weights_file, run_forward

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")

import torch_zoo  # noqa: E402  (after the importorskip above)
from torch_reference import hooked_macs  # noqa: E402

torch.set_num_threads(2)

# torchvision 0.28, torchvision/models/*.py, each model's IMAGENET1K_V1 `_metadata`: "num_params";
# "_ops" (GFLOPS = GMACs) in the comment, the exact count beside it.
PUBLISHED = {
    "resnext50_32x4d": (25_028_904, 4_230_479_872),   # _ops 4.23
    "densenet121": (7_978_856, 2_834_161_664),        # _ops 2.834
    "squeezenet1_1": (1_235_496, 349_151_936),        # _ops 0.349
    # num_params 27,161,264 includes AuxLogits, the auxiliary head (inception_v3_aux below); the
    # main path is that minus the head's 3,326,696. _ops 5.713 counts the main path only.
    "inception_v3": (23_834_568, 5_713_216_096),
    "mobilenet_v2": (3_504_872, 300_774_272),         # _ops 0.301
    "convnext_tiny": (28_589_128, 4_455_531_264),     # _ops 4.456
}
INCEPTION_V3_WITH_AUX = 27_161_264

# name: (hand-written oracle, its input at full size, the reduced input of the forward comparison,
# the prefix its state dict has in the oracle's keys).
ORACLES = {
    "resnext50_32x4d": (torch_zoo.resnext50_32x4d, (3, 224, 224), (3, 32, 32)),
    "densenet121": (torch_zoo.densenet121, (3, 224, 224), (3, 32, 32)),
    "squeezenet1_1": (torch_zoo.squeezenet1_1, (3, 224, 224), (3, 35, 35)),
    # 75×75 is the smallest input torchvision's Inception-v3 accepts (Mixed_7c at 1×1)
    "inception_v3": (lambda: torch_zoo.inception_v3(aux_logits=False), (3, 299, 299), (3, 75, 75)),
    "inception_v3_aux": (lambda: torch_zoo.InceptionAux(768, 1000), (768, 17, 17), (768, 17, 17)),
    "mobilenet_v2": (torch_zoo.mobilenet_v2, (3, 224, 224), (3, 32, 32)),
    "convnext_tiny": (torch_zoo.convnext_tiny, (3, 224, 224), (3, 32, 32)),
}
PREFIX = {"inception_v3_aux": "AuxLogits."}


def on_meta(builder):
    with torch.device("meta"):
        return builder()


def converted_state(model, name) -> dict:
    state = torch_zoo.torchvision_to_cnncalc(model.state_dict())
    return {PREFIX.get(name, "") + k: v for k, v in state.items()}


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_counts(name):
    totals = cnncalc.load(name).analyse().totals
    assert (totals.params, totals.macs) == PUBLISHED[name]


def test_inception_v3_with_its_auxiliary_head_is_torchvisions_num_params():
    aux = cnncalc.load("inception_v3_aux").analyse()
    assert aux.input == (768, 17, 17)  # Mixed_6e's output
    assert cnncalc.load("inception_v3").analyse().layer("Mixed_6e.concat").output == (768, 17, 17)
    assert PUBLISHED["inception_v3"][0] + aux.totals.params == INCEPTION_V3_WITH_AUX
    # the oracle agrees, head included (aux_logits=True is torchvision's default)
    model = on_meta(torch_zoo.inception_v3)
    assert sum(p.numel() for p in model.parameters()) == INCEPTION_V3_WITH_AUX


@pytest.mark.parametrize("name", ORACLES)
def test_hand_written_pytorch_model_has_the_same_counts_and_names(name):
    builder, full, _ = ORACLES[name]
    model = on_meta(builder)
    net = cnncalc.load(name)
    analysis = net.analyse()
    params = sum(p.numel() for p in model.parameters())
    assert analysis.totals.params == params
    assert analysis.totals.macs == hooked_macs(model, full)[0]
    if name in PUBLISHED:  # the oracle itself reproduces torchvision's figures
        assert (params, hooked_macs(model, full)[0]) == PUBLISHED[name]
    # Every array of the renamed state dict is an array of the cnncalc file, with its shape, and
    # every layer's arrays are there: what `cnncalc forward --weights` checks before it runs.
    shapes = {k: tuple(v.shape) for k, v in converted_state(model, name).items()}
    match = check_weights_file(net.graph, analysis, shapes, partial_weights=False, weights_file=None)
    assert match.complete


def _randomised(model, seed: int):
    """float64, eval mode, normalisations' affine and running statistics and ConvNeXt's layer
    scale drawn at random (fresh ones are the identity, or 1e-6 for layer scale, which would hide a
    misplaced or skipped normalisation, or a whole block)."""
    g = torch.Generator().manual_seed(seed)

    def draw(t, lo, spread, uniform=True):
        noise = torch.rand if uniform else torch.randn
        t.data.copy_(lo + spread * noise(t.shape, generator=g, dtype=torch.float64))

    model = model.double().eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            draw(m.running_mean, 0.0, 0.2, uniform=False)
            draw(m.running_var, 0.5, 1.0)
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.LayerNorm)):
            # γ up to 4: ReLU6 must see values above 6 (relu6 written as relu passes otherwise)
            draw(m.weight, 0.5, 3.5)
            draw(m.bias, 0.0, 0.2, uniform=False)
        if isinstance(getattr(m, "layer_scale", None), torch.nn.Parameter):
            draw(m.layer_scale, 0.5, 1.0)
    return model


@pytest.mark.parametrize("name", ORACLES)
def test_forward_equals_the_hand_written_pytorch_model(name):
    builder, _, small = ORACLES[name]
    torch.manual_seed(0)
    model = _randomised(builder(), seed=1)
    weights = {k: v.numpy() for k, v in converted_state(model, name).items()}
    x = np.random.default_rng(2).standard_normal((2, *small))
    net = cnncalc.load(name, small)
    result = run_forward(net.graph, x, weights, dtype="float64")
    assert result.ok  # every layer's shape and weight count as the analysis says
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert result.output.shape == ref.shape
    assert np.max(np.abs(result.output - ref)) <= 1e-9 * max(1.0, float(np.max(np.abs(ref))))
