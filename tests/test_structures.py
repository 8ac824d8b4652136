"""Structural constructs of issue 11: explicit `pad` and `crop` (U-Net's skip connections), a
transparent concat, the `gate` (squeeze-and-excitation), channel `slice` and `shuffle`.

Expected shapes and offsets are derived by hand next to each test; the forward passes are compared
with PyTorch (tests/test_oracle_networks.py holds the whole-network comparisons), and receptive
fields with the brute-force oracle (tests/rf_oracle.py)."""
from __future__ import annotations

import numpy as np
import pytest

import cnncalc
from cnncalc.cli import main
from cnncalc.forward import run_forward

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")

from test_oracle_networks import BORDERS, compare_with_pytorch  # noqa: E402
from test_receptive_field import check_against_oracle  # noqa: E402


def net(layers: str, shape: str = "[1, 8, 8]") -> cnncalc.Network:
    return cnncalc.loads(f"input: {shape}\nlayers:\n{layers}")


# -- pad and crop ---------------------------------------------------------------------------------
def test_pad_and_crop_shapes_by_hand():
    a = cnncalc.loads(BORDERS).analyse()
    out = {r.name: r.output for r in a.layers}
    # c0: 17 − 3 + 1 = 15, 15 − 3 + 1 = 13; pool 2 → 7×6; c1 (2×2) → 6×5; pad [0,1,2,0] → 7×7
    assert out["up.pad1"] == (5, 7, 7)
    # skip: 15×13 centre-cropped to 7×7 (branch up): 4 rows off each end, 3 columns off each side
    assert out["skip.crop1"] == (4, 7, 7)
    assert out["concat1"] == (9, 7, 7)  # transparent: branches named `skip.`, `up.`, not `concat1.skip.`
    assert out["pad1"] == (9, 10, 10)  # [2, 1, 0, 3]: 7 + 3, 7 + 3
    assert out["crop1"] == (9, 9, 7)  # sides [1, 0, 2, 1]: 10 − 1, 10 − 3
    assert out["crop2"] == (9, 4, 3)  # centred 4×3
    assert all(r.params == r.macs == r.connections == 0 for r in a.layers if r.type in ("pad", "crop"))
    # The branch a crop measures is walked first; the concat keeps the written order (skip's 4
    # channels first): checked against PyTorch's torch.cat in test_oracle_networks.
    names = [r.name for r in a.layers]
    assert names.index("up.pad1") < names.index("skip.crop1") < names.index("concat1")


def test_centre_crop_puts_the_odd_row_after():
    # 8 rows to 5: ⌊3/2⌋ = 1 row removed at the top, 2 at the bottom; the RF's start moves by 1.
    a = net("  - crop: {size: [5, 8]}\n").analyse()
    r = a.layers[0]
    assert r.output == (1, 5, 8)
    assert r.rf.start == (1, 0) and r.rf.size == (1, 1) and r.rf.pad == (-1, 0)
    x = np.arange(64, dtype=float).reshape(1, 1, 8, 8)
    y = run_forward(net("  - crop: {size: [5, 8]}\n").graph, x, dtype="float64").output
    assert y[0, 0, :, 0].tolist() == [8, 16, 24, 32, 40]  # rows 1 … 5


def test_pad_moves_the_field_back():
    # pad 2 on top, 0 left, then a 3×3 conv: r = 3, start = 0 + 1 − 2 = −1 on H, 1 on W.
    a = net("  - pad: [2, 0, 0, 0]\n  - conv: {filters: 1, kernel: 3}\n").analyse()
    assert a.layers[1].rf.start == (-1, 1) and a.layers[1].rf.pad == (2, 0)
    assert a.layers[0].output == (1, 10, 8)


@pytest.mark.parametrize("text", [
    BORDERS,
    # a crop to a branch that itself downsamples, misaligned centres, then a layer reading both
    """
input: [2, 21, 18]
layers:
  - concat:
      branches:
        a: [crop: b]
        b: [conv: {filters: 2, kernel: 3, stride: 2}, pad: [1, 0, 0, 2]]
        c: [crop: {to: b}, conv: {filters: 1, kernel: 1}]
  - conv: {filters: 2, kernel: 3, padding: 1}
""",
])
def test_pad_and_crop_fields_match_the_oracle(text):
    assert check_against_oracle(cnncalc.loads(text)) > 0


def test_forward_of_borders_equals_pytorch():
    assert compare_with_pytorch(cnncalc.loads(BORDERS)) <= 1e-12


# -- bad input: one located message each ------------------------------------------------------------
BAD = {
    # crop to a branch the concat does not have: the choices are named
    "crop-unknown-branch": ("  - concat:\n      branches:\n        a: [crop: upp]\n        up: [maxpool: 2]\n",
                            "3:13", ["crop `to: upp` must name another branch of concat concat1 (up)"]),
    "crop-to-itself": ("  - concat:\n      branches:\n        a: [crop: a]\n        b: [maxpool: 2]\n",
                       "3:13", ["must name another branch"]),
    "crop-outside-a-concat": ("  - crop: up\n", "1:5", ["must be a layer of a concat branch", "size: [h, w]"]),
    "crop-inside-a-residual": ("  - concat:\n      branches:\n        a: [residual: {body: [crop: b]}]\n"
                               "        b: [maxpool: 2]\n", "3:31", ["must be a layer of a concat branch"]),
    "crop-cycle": ("  - concat:\n      branches:\n        a: [crop: b]\n        b: [crop: a]\n",
                   "3:13", ["crop to each other", "keep its size"]),
    "crop-larger": ("  - concat:\n      branches:\n        a: [maxpool: 2, crop: b]\n        b: []\n",
                    "3:25", ["cannot crop the 4×4 map to branch b's 8×8", "it is larger"]),
    "crop-two-forms": ("  - crop: {size: 2, sides: 1}\n", "1:5", ["exactly one of", "got size, sides"]),
    "crop-everything": ("  - crop: {sides: [4, 4, 0, 0]}\n", "1:5", ["leaves nothing of the 8×8 map"]),
    "crop-size-zero": ("  - crop: {size: 0}\n", "1:18", ["size must be a whole number ≥ 1"]),
    "pad-negative": ("  - pad: -1\n", "1:10", ["sides must be a whole number ≥ 0", "use `crop`"]),
    "pad-three-sides": ("  - pad: [1, 2, 3]\n", "1:10", ["[top, bottom, left, right]"]),
    "pad-a-vector": ("  - flatten\n  - pad: 1\n", "2:5", ["needs a (C, H, W) feature map"]),
    "concat-transparent-word": ("  - concat: {transparent: 1, branches: [[], []]}\n", "1:27",
                                ["`transparent` must be true or false"]),
}


# -- gate (squeeze-and-excitation) ----------------------------------------------------------------
SE = """
input: [4, 10, 9]
layers:
  - conv: {name: c0, filters: 8, kernel: 3}
  - gate:
      name: se
      layers:
        - globalavgpool: {name: avgpool}
        - conv: {name: fc1, filters: 2, kernel: 1}
        - relu
        - conv: {name: fc2, filters: 8, kernel: 1}
        - sigmoid
  - conv: {name: c1, filters: 3, kernel: 3}
"""


def test_se_counts_by_hand():
    # torchvision's SqueezeExcitation(8, 2): fc1 8·2 + 2 = 18, fc2 2·8 + 8 = 24 params; the product
    # adds nothing (it is elementwise, as batch norm's scale counts no MACs either).
    a = cnncalc.loads(SE).analyse()
    assert (a.layer("se.fc1").params, a.layer("se.fc2").params) == (18, 24)
    assert (a.layer("se.fc1").macs, a.layer("se.fc2").macs) == (16, 16)  # 1×1 positions
    se = a.layer("se")
    assert se.type == "multiply" and se.output == (8, 8, 7)
    assert (se.params, se.macs, se.connections) == (0, 0, 0)
    names = [r.name for r in a.layers]
    assert names[1:7] == ["se.avgpool", "se.fc1", "se.relu1", "se.fc2", "se.sigmoid1", "se"]


def test_se_field_is_the_whole_input_as_measured():
    """The product depends on every input pixel through the gate's global pool: the engine reports
    the whole input (global), and the brute-force oracle measures exactly that reach for every unit
    of the product and of the conv after it (check_against_oracle checks only the size of a global
    field, so the reach is checked here)."""
    from rf_oracle import measure
    net = cnncalc.loads(SE)
    a = net.analyse()
    assert a.layer("c0").rf.size == (3, 3) and not a.layer("c0").rf.is_global
    assert a.layer("se").rf.is_global and a.layer("se").rf.size == (10, 9)
    assert a.layer("c1").rf.is_global
    assert any("the field is global, not the 3×3 of the gated input alone" in str(w) for w in a.warnings)
    m = measure(net.graph)
    for name in ("se", "c1"):
        assert m[name].rows.all() and m[name].cols.all(), name  # every input row and column reaches every unit
    check_against_oracle(net)


SPATIAL_GATE = """
input: [2, 13, 11]
layers:
  - conv: {filters: 3, kernel: 3, stride: 2, padding: 1}
  - gate: {layers: [conv: {filters: 3, kernel: [5, 1], padding: [2, 0]}, sigmoid]}
  - gate: {layers: [conv: {filters: 1, kernel: [1, 3], padding: [0, 0, 2, 0]}, sigmoid]}
  - conv: {filters: 2, kernel: 3}
"""


def test_a_local_gate_merges_fields_like_a_residual():
    """A gate without global pooling: the product's field is the union of the input's and the
    gate's, per axis and per unit, exactly as the oracle measures (the second gate is off-centre,
    so the field is not aligned)."""
    a = cnncalc.loads(SPATIAL_GATE).analyse()
    # conv 3/2 pad 1: r 3, j 2; gate 5×1 on H: r 3 + 4·2 = 11 on H, 3 on W → the product 11×3.
    assert a.layer("multiply1").rf.size == (11, 3)
    assert check_against_oracle(cnncalc.loads(SPATIAL_GATE)) > 0


def test_gates_and_channels_equal_pytorch():
    from test_oracle_networks import GATES_AND_CHANNELS
    assert compare_with_pytorch(cnncalc.loads(GATES_AND_CHANNELS)) <= 1e-12


# -- channel split and shuffle ----------------------------------------------------------------------
def test_shuffle_by_hand():
    # 6 channels, 2 groups: rows [0 1 2] [3 4 5] transposed → 0 3 1 4 2 5 (torchvision's channel_shuffle).
    x = np.arange(6, dtype=float).reshape(1, 6, 1, 1)
    y = run_forward(net("  - shuffle: 2\n", "[6, 1, 1]").graph, x, dtype="float64").output
    assert y.ravel().tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.parametrize("opts, channels", [
    ("{chunks: 2, index: 1}", [5, 6, 7, 8, 9]),    # torch.chunk of 10: 5 + 5
    ("{chunks: 3, index: 2}", [8, 9]),             # ⌈10/3⌉ = 4: 4 + 4 + 2
    ("{start: 2, stop: 5}", [2, 3, 4]),
    ("{stop: 2}", [0, 1]),
    ("{start: 7}", [7, 8, 9]),
])
def test_slice_by_hand(opts, channels):
    x = np.arange(10, dtype=float).reshape(1, 10, 1, 1)
    y = run_forward(net(f"  - slice: {opts}\n", "[10, 1, 1]").graph, x, dtype="float64").output
    assert y.ravel().tolist() == channels


BAD.update({
    "gate-wrong-channels": ("  - gate: {layers: [globalavgpool, conv: {filters: 2, kernel: 1}]}\n", "1:11",
                            ["the gate ends with 2×1×1 but multiplies a 1×8×8 input", "1×1×1 (one value per channel)",
                             "`filters: 1`"]),
    "gate-without-layers": ("  - gate: {name: se}\n", "1:11", ["gate needs `layers: [...]`"]),
    "gate-unknown-option": ("  - gate: {body: [relu]}\n", "1:12", ["gate has no option 'body'", "layers"]),
    "slice-past-the-end": ("  - slice: {start: 0, stop: 3}\n", "1:5", ["channels 0 … 2 are not a slice of the "
                                                                         "input's 1 channels", "stop ≤ 1"]),
    "slice-both-forms": ("  - slice: {start: 0, chunks: 2, index: 0}\n", "1:5", ["`start` and/or `stop`",
                                                                                 "or `chunks` and `index`"]),
    "slice-chunk-index": ("  - slice: {chunks: 2, index: 2}\n", "1:5", ["index 2 is not one of the 2 chunks"]),
    "slice-empty-chunk": ("  - conv: {filters: 4, kernel: 1}\n  - slice: {chunks: 3, index: 2}\n", "2:5",
                          ["4 channels make only 2 chunks of 2", "chunk 2 is empty"]),
    "shuffle-indivisible": ("  - conv: {filters: 6, kernel: 1}\n  - shuffle: 4\n", "2:5",
                            ["6 channels do not split into 4 equal groups"]),
    "shuffle-zero": ("  - shuffle: 0\n", "1:14", ["groups must be a whole number ≥ 1"]),
})


@pytest.mark.parametrize("case", BAD)
def test_bad_structures_give_one_located_message(runner, case):
    layers, position, fragments = BAD[case]
    text = f"input: [1, 8, 8]\nlayers:\n{layers}"
    res = runner.invoke(main, ["params", "-"], input=text)
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and "Traceback" not in line, line
    row, col = position.split(":")
    assert line.startswith(f"error: <stdin>:{int(row) + 2}:{col}:"), line  # two lines of header
    for fragment in fragments:
        assert fragment in line, (fragment, line)


# -- docs/format.md's worked examples --------------------------------------------------------------
def _doc_example(name: str) -> cnncalc.Network:
    return cnncalc.loads(_doc_source(name))


def test_docs_se_example_says_what_it_gives():
    a = _doc_example("se-demo").analyse()
    # By hand, as the docs write it: fc1 64·16 + 16, fc2 16·64 + 64; 1×1 positions: MACs 64·16.
    assert (a.layer("block.se.fc1").params, a.layer("block.se.fc1").macs) == (1_040, 1_024)
    assert (a.layer("block.se.fc2").params, a.layer("block.se.fc2").macs) == (1_088, 1_024)
    assert a.layer("block.se").output == (64, 28, 28) and a.layer("block.se").rf.size == (28, 28)
    assert a.layer("block.se").rf.is_global


def test_docs_shufflenet_unit_example_says_what_it_gives():
    net = _doc_example("shuffle-unit-demo")
    a = net.analyse()
    assert a.layer("stage2.1.branch2.0").params == 58 * 58
    assert a.layer("stage2.1.branch2.3").params == 58 * 9
    assert a.layer("stage2.1.concat1").output == (116, 28, 28)
    # PyTorch's module, written from torchvision's InvertedResidual (stride 1), on the same weights.
    nn = torch.nn
    branch2 = nn.Sequential(nn.Conv2d(58, 58, 1, bias=False), nn.BatchNorm2d(58), nn.ReLU(),
                            nn.Conv2d(58, 58, 3, padding=1, groups=58, bias=False), nn.BatchNorm2d(58),
                            nn.Conv2d(58, 58, 1, bias=False), nn.BatchNorm2d(58), nn.ReLU()).double().eval()
    assert sum(p.numel() for p in branch2.parameters()) == a.totals.params
    x = np.random.default_rng(0).standard_normal((2, 116, 6, 6))
    small = cnncalc.loads(_doc_source("shuffle-unit-demo").replace("[116, 28, 28]", "[116, 6, 6]"))
    result = run_forward(small.graph, x, dtype="float64", seed=1)
    state = {k.removeprefix("stage2.1.branch2."): torch.tensor(v) for k, v in result.weights.items()}
    branch2.load_state_dict(state)
    with torch.no_grad():
        t = torch.from_numpy(x)
        x1, x2 = t.chunk(2, dim=1)
        out = torch.cat((x1, branch2(x2)), dim=1)
        b, c, h, w = out.shape
        ref = out.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous().view(b, c, h, w).numpy()
    assert np.max(np.abs(result.output - ref)) <= 1e-12 * np.max(np.abs(ref))


def _doc_source(name: str) -> str:
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "format.md").read_text(encoding="utf-8")
    return re.search(rf"```yaml\n(name: {name}\n.*?)```", text, re.S).group(1)


def test_shortcut_name_names_the_projection(runner):
    # RegNet's `proj`: the projection's conv and BN are `<scope>.proj.0`, `.proj.1`.
    a = net("  - residual: {body: [conv: {filters: 2, kernel: 3, stride: 2, padding: 1}], shortcut: projection, "
            "shortcut_name: proj}\n").analyse()
    assert [r.name for r in a.layers] == ["conv1", "proj.0", "proj.1", "add1"]
    text = "input: [1, 8, 8]\nlayers:\n  - residual: {body: [relu], shortcut_name: proj}\n"
    res = runner.invoke(main, ["params", "-"], input=text)
    assert res.exit_code == 2 and "an identity shortcut has none" in res.output
