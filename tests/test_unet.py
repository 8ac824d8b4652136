"""U-Net (Ronneberger, Fischer and Brox 2015, Fig. 1) in the zoo: its counts against the paper's
architecture built here in PyTorch, its forward pass against that model on the same weights, and
its receptive field against the brute-force oracle."""
from __future__ import annotations

import numpy as np
import pytest

import cnncalc
from cnncalc.forward import run_forward

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from test_receptive_field import check_against_oracle  # noqa: E402
from torch_reference import hooked_macs  # noqa: E402

# The figures, from a PyTorch model of the paper's Fig. 1 (64 filters doubling to 1024,
# biases on every conv): params and the multiply-accumulates of every Conv2d/ConvTranspose2d.
PARAMS = 31_030_658
MACS = 150_428_424_448


def _double(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.Conv2d(cout, cout, 3), nn.ReLU())


def _centre_crop(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    dh, dw = x.shape[2] - ref.shape[2], x.shape[3] - ref.shape[3]
    return x[:, :, dh // 2:dh // 2 + ref.shape[2], dw // 2:dw // 2 + ref.shape[3]]


class PaperUNet(nn.Module):
    """Fig. 1 as the paper draws it, written without cnncalc: four levels down (two valid 3×3
    convs + ReLU, 2×2 max pool), the bottom, four up (2×2 stride-2 up-convolution halving the
    channels, the level's encoder map centre-cropped and concatenated before it, two 3×3 convs),
    and a 1×1 conv to 2 classes."""

    def __init__(self):
        super().__init__()
        self.enc = nn.ModuleList([_double(1, 64), _double(64, 128), _double(128, 256), _double(256, 512)])
        self.bottom = _double(512, 1024)
        self.up = nn.ModuleList([nn.ConvTranspose2d(c, c // 2, 2, 2) for c in (1024, 512, 256, 128)])
        self.dec = nn.ModuleList([_double(c, c // 2) for c in (1024, 512, 256, 128)])
        self.head = nn.Conv2d(64, 2, 1)

    def forward(self, x):
        skips = []
        for enc in self.enc:
            x = enc(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = up(x)
            x = dec(torch.cat([_centre_crop(skip, x), x], 1))
        return self.head(x)

    def by_cnncalc_name(self) -> dict[str, nn.Module]:
        """cnncalc's layer paths in architectures/unet.yaml → this model's modules."""
        levels = ["", "level2.", "level2.level3.", "level2.level3.level4.", "level2.level3.level4.level5."]
        out: dict[str, nn.Module] = {}
        for i, enc in enumerate(self.enc):
            out[f"{levels[i]}enc{i + 1}.conv1"], out[f"{levels[i]}enc{i + 1}.conv2"] = enc[0], enc[2]
        out[f"{levels[4]}bottom.conv1"], out[f"{levels[4]}bottom.conv2"] = self.bottom[0], self.bottom[2]
        for j, (up, dec) in enumerate(zip(self.up, self.dec)):
            level = 4 - j  # up4 sits in level 5's branch, dec4 in level 4's
            out[f"{levels[level]}up{level}"] = up
            out[f"{levels[level - 1]}dec{level}.conv1"], out[f"{levels[level - 1]}dec{level}.conv2"] = dec[0], dec[2]
        out["head"] = self.head
        return out


def test_counts_equal_the_paper_and_pytorch():
    a = cnncalc.load("unet").analyse()
    assert a.input == (1, 572, 572) and a.layers[-1].output == (2, 388, 388)
    assert a.totals.params == PARAMS and a.totals.macs == MACS
    with torch.device("meta"):  # no initialisation of 31 M weights: only shapes are needed
        model = PaperUNet()
    assert sum(p.numel() for p in model.parameters()) == PARAMS
    macs, out = hooked_macs(model, (1, 572, 572))
    assert (macs, out) == (MACS, (2, 388, 388))
    # Layer by layer, the weighted layers' params equal the module they stand for.
    params = {r.name: r.params for r in a.layers}
    for name, module in model.by_cnncalc_name().items():
        assert params[name] == sum(p.numel() for p in module.parameters()), name


def test_forward_equals_the_paper_model():
    """At 188×188 (the smallest input: bottom map 4×4, output 4×4), float64, the model's own weights
    given to cnncalc by name."""
    net = cnncalc.load("unet", (1, 188, 188))
    model = PaperUNet().double()
    weights = {f"{name}.{p}": t.detach().numpy() for name, m in model.by_cnncalc_name().items()
               for p, t in m.named_parameters()}
    x = np.random.default_rng(3).standard_normal((1, 1, 188, 188))
    result = run_forward(net.graph, x, weights, dtype="float64")
    assert result.ok and result.output.shape == (1, 2, 4, 4)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(result.output - ref)) <= 1e-10 * np.max(np.abs(ref))


def test_receptive_field_of_the_output():
    """docs/design.md § U-Net's receptive field: 204×204 for unit 4 (and every 16th unit from it),
    the largest; the oracle measures it at input 204 (output 20×20, more than the 16-unit period)."""
    rf = cnncalc.load("unet").analyse().layer("head").rf
    assert rf.size == (204, 204) and rf.unit == (4, 4) and not rf.uniform and rf.jump == (1, 1)
    small = cnncalc.load("unet", (1, 204, 204))
    assert small.analyse().layer("head").rf.size == (204, 204)
    assert check_against_oracle(small, keep={"head"}) > 0
