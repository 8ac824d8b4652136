"""Issue 11's test of docs/format.md: MNASNet 1.0 written from the docs alone
(tests/networks/mnasnet1_0.yaml) reproduces torchvision's published counts, and its layer names
are torchvision's module paths: a PyTorch MNASNet built as torchvision.models.mnasnet builds it
(written out below; torchvision itself is not installed here) hands its state dict, as is, to
cnncalc's forward pass, and both give the same output."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cnncalc
from cnncalc.forward import run_forward

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")
nn = torch.nn

MNASNET = Path(__file__).parent / "networks" / "mnasnet1_0.yaml"


def test_counts_equal_torchvisions_published_figures():
    # torchvision 0.28 model card for mnasnet1_0: num_params 4,383,312; GFLOPS 0.31, i.e. the
    # issue's exact MAC count 314,415,872 of every Conv2d and Linear without bias at 3×224×224.
    totals = cnncalc.load(str(MNASNET)).analyse().totals
    assert totals.params == 4_383_312
    assert totals.macs == 314_415_872


class _InvertedResidual(nn.Module):
    """torchvision.models.mnasnet._InvertedResidual."""

    def __init__(self, in_ch, out_ch, kernel, stride, expansion):
        super().__init__()
        mid = in_ch * expansion
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, kernel, padding=kernel // 2, stride=stride, groups=mid, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x):
        return self.layers(x) + x if self.apply_residual else self.layers(x)


def _stack(in_ch, out_ch, kernel, stride, expansion, repeats):
    first = _InvertedResidual(in_ch, out_ch, kernel, stride, expansion)
    return nn.Sequential(first, *(_InvertedResidual(out_ch, out_ch, kernel, 1, expansion) for _ in range(repeats - 1)))


class MNASNet(nn.Module):
    """torchvision.models.mnasnet.MNASNet(alpha=1.0): depths 32, 16, 24, 40, 80, 96, 192, 320."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1, stride=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, padding=1, stride=1, groups=32, bias=False), nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16),
            _stack(16, 24, 3, 2, 3, 3), _stack(24, 40, 5, 2, 3, 3), _stack(40, 80, 5, 2, 6, 3),
            _stack(80, 96, 3, 1, 6, 2), _stack(96, 192, 5, 2, 6, 4), _stack(192, 320, 3, 1, 6, 1),
            nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.layers(x).mean([2, 3]))


def test_torchvision_state_dict_runs_by_name_and_matches():
    torch.manual_seed(0)
    model = MNASNet().double().eval()
    with torch.no_grad():  # batch-norm statistics away from 0/1, so that a misplaced array shows
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.normal_(1, 0.1)
                m.bias.normal_(0, 0.1)
    assert sum(p.numel() for p in model.parameters()) == 4_383_312
    state = {k: v.numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    net = cnncalc.load(str(MNASNET), (3, 32, 32))
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32))
    result = run_forward(net.graph, x, state, dtype="float64")
    assert result.ok
    assert set(result.weights) == set(state), "every array of the state dict lands on a layer of that path"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on a loaded 2-core machine, 2 threads made this 0.2 s forward take 12–18 s
    try:
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
    finally:
        torch.set_num_threads(threads)
    assert np.max(np.abs(result.output - ref)) <= 1e-9 * np.max(np.abs(ref))


@pytest.mark.parametrize("kernel, size", [(3, 9), (5, 9), (7, 9), (4, 10)])  # k//2 each side: 9 + 2·⌊k/2⌋ − k + 1
def test_floor_brackets_give_pytorchs_kernel_floordiv_2(kernel, size):
    """docs/format.md's `padding: ${⌊kernel/2⌋}` (MNASNet's `padding=kernel // 2`): same size for odd
    kernels, one more for even ones, as PyTorch's Conv2d gives."""
    text = ("input: [1, 9, 9]\nblocks:\n  b:\n    args: {kernel: 3}\n    layers:\n"
            '      - conv: {name: c, filters: 1, kernel: $kernel, padding: "${⌊kernel/2⌋}"}\n'
            f"layers:\n  - b: {{name: x, kernel: {kernel}}}\n")
    out = cnncalc.loads(text).analyse().layer("x.c").output
    ref = nn.Conv2d(1, 1, kernel, padding=kernel // 2)(torch.zeros(1, 1, 9, 9)).shape
    assert out == (1, size, size) == tuple(ref[1:])
