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
