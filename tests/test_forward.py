"""The NumPy forward pass: the homework example, the `cnncalc forward` command, and whole networks
against PyTorch built from the same weights (the oracle: torch.nn.functional, float64, 1e-8)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import cnncalc
from cnncalc.cli import main
from cnncalc.forward import run_forward

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")

from torch_reference import TorchNet  # noqa: E402

torch.set_num_threads(2)

HOMEWORK = """
name: hw
input: [1, 5, 5]
input_data: [[1,1,1,0,0],[0,1,1,1,0],[0,0,1,1,1],[0,0,1,1,0],[0,1,1,0,0]]
layers:
  - conv: {filters: 1, kernel: 3, bias: false, weights: [[[[1,0,1],[0,1,0],[1,0,1]]]]}
"""


def test_homework_example_by_hand():
    # Expected by hand: e.g. top-left 1·1+1·1+1·1+0+1+1+0·... = 4 (the classic convolved-feature figure).
    result = run_forward(cnncalc.loads(HOMEWORK).graph, dtype="float64")
    assert result.output[0, 0].tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    assert result.ok


def test_feature_map_example_prints_its_map(runner):
    res = runner.invoke(main, ["forward", "feature-map-example"])
    assert res.exit_code == 0, res.output
    assert "[4, 3, 4]\n[2, 4, 3]\n[2, 3, 4]" in res.output
    assert "✓" in res.output and "✗" not in res.output


def test_forward_json_and_inline_bias(runner, tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(HOMEWORK.replace("bias: false, weights: [[[[1,0,1],[0,1,0],[1,0,1]]]]",
                                  "weights: {weight: [[1,0,1],[0,1,0],[1,0,1]], bias: [-1]}"))
    res = runner.invoke(main, ["forward", str(f), "--format", "json", "--dtype", "float64"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["ok"] and doc["output"] == [[[[3, 2, 3], [1, 3, 2], [1, 2, 3]]]]
    assert doc["layers"][0]["params"] == doc["layers"][0]["expected_params"] == 10


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_forward_formats(runner, fmt):
    res = runner.invoke(main, ["forward", "lenet5", "--format", fmt])
    assert res.exit_code == 0, res.output
    assert "C1" in res.output and "OUTPUT" in res.output


def test_inline_weights_of_the_wrong_shape(runner, tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(HOMEWORK.replace("[[[[1,0,1],[0,1,0],[1,0,1]]]]", "[[1,0],[0,1]]"))
    res = runner.invoke(main, ["forward", str(f)])
    assert res.exit_code == 2
    assert "expected 1×1×3×3" in res.output and "Traceback" not in res.output


def test_input_data_of_the_wrong_shape(runner, tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(HOMEWORK.replace("[0,1,1,0,0]]", "[0,1,1,0]]"))
    res = runner.invoke(main, ["params", str(f)])
    assert res.exit_code == 2 and "input_data must be 1×5×5" in res.output


def test_input_and_weights_files_and_save_output(runner, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 32, 32))
    np.save(tmp_path / "x.npy", x)
    first = run_forward(cnncalc.load("lenet5").graph, x, dtype="float64", seed=3)
    np.savez(tmp_path / "w.npz", **first.weights)
    res = runner.invoke(main, ["forward", "lenet5", "--input-file", str(tmp_path / "x.npy"), "--weights",
                               str(tmp_path / "w.npz"), "--dtype", "float64", "--seed", "99",
                               "--save-output", str(tmp_path / "y.npy")])
    assert res.exit_code == 0, res.output
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (2, 10)
    assert np.array_equal(y, first.output)  # the file's weights, not the (different) seed's
    # --input takes the array too (the spelling); --input-file is the same thing.
    res = runner.invoke(main, ["forward", "lenet5", "--input", str(tmp_path / "x.npy"), "--weights",
                               str(tmp_path / "w.npz"), "--dtype", "float64", "--save-output", str(tmp_path / "z.npy")])
    assert res.exit_code == 0, res.output
    assert np.array_equal(np.load(tmp_path / "z.npy"), first.output)
    res = runner.invoke(main, ["forward", "lenet5", "--input", str(tmp_path / "missing.npy")])
    assert res.exit_code == 2 and "missing.npy" in res.output


def test_max_memory_refusal(runner):
    res = runner.invoke(main, ["forward", "vgg16", "--batch", "64", "--max-memory", "1G"])
    assert res.exit_code == 2
    assert "smaller --batch" in res.output and "Traceback" not in res.output


def test_mismatch_gives_exit_1(runner, monkeypatch):
    from cnncalc.layers.activation import ReLU
    monkeypatch.setattr(ReLU, "forward", lambda self, x, w, in_place=False: x[:, :1])
    res = runner.invoke(main, ["forward", "lenet5"])
    assert res.exit_code == 1 and "✗" in res.output


def test_every_builtin_runs(runner):
    from cnncalc import zoo
    small = {"alexnet": "3,64,64", "vgg16": "3,32,32", "resnet18": "3,32,32", "resnet50": "3,32,32",
             "googlenet": "3,64,64"}
    for name in zoo.names():
        args = ["forward", name] + (["--input", small[name]] if name in small else [])
        res = runner.invoke(main, args)
        assert res.exit_code == 0, (name, res.output)
        if name in small:
            assert "instead of the declared one" in res.output


# -- whole networks against PyTorch -----------------------------------------------------------
NETS = [
    ("lenet5", None, 2),
    ("lenet5-1998", None, 2),
    ("nin", None, 1),
    ("alexnet", (3, 64, 64), 1),
    ("vgg16", (3, 32, 32), 1),
    ("resnet18", (3, 64, 64), 2),
    ("resnet50", (3, 32, 32), 1),
    ("googlenet", (3, 64, 64), 1),
]


@pytest.mark.parametrize("name,shape,batch", NETS, ids=[n[0] for n in NETS])
def test_whole_network_equals_pytorch(name, shape, batch):
    net = cnncalc.load(name, shape)
    result = run_forward(net.graph, batch=batch, seed=1, dtype="float64")
    assert result.ok
    model = TorchNet(net.graph, result.weights)
    # The PyTorch model's own count of trainable parameters equals the engine's.
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == result.analysis.totals.params
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, *net.graph.input_shape))
    ours = run_forward(net.graph, x, result.weights, dtype="float64").output
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert ours.shape == ref.shape
    assert np.max(np.abs(ours - ref)) <= 1e-8


def test_lenet5_by_hand_in_pytorch():
    """An nn.Sequential written out by hand (no graph walker) from the same weights."""
    nn = torch.nn
    net = cnncalc.load("lenet5")
    res = run_forward(net.graph, batch=3, dtype="float64", seed=5)
    w = res.weights
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                          nn.ReLU(), nn.Linear(84, 10)).double()
    names = {0: "C1", 3: "C3", 7: "C5", 9: "F6", 11: "OUTPUT"}
    with torch.no_grad():
        for i, n in names.items():
            model[i].weight.copy_(torch.from_numpy(w[f"{n}.weight"]))
            model[i].bias.copy_(torch.from_numpy(w[f"{n}.bias"]))
    assert sum(p.numel() for p in model.parameters()) == 61_706 == res.analysis.totals.params
    x = np.random.default_rng(2).standard_normal((3, 1, 32, 32))
    ours = run_forward(net.graph, x, w, dtype="float64").output
    with torch.no_grad():
        assert np.max(np.abs(ours - model(torch.from_numpy(x)).numpy())) <= 1e-8


def test_float32_close_to_float64():
    net = cnncalc.load("resnet18", (3, 32, 32))
    r64 = run_forward(net.graph, batch=2, dtype="float64", seed=4)
    r32 = run_forward(net.graph, batch=2, dtype="float32", seed=4)
    assert r32.output.dtype == np.float32
    assert np.max(np.abs(r32.output - r64.output)) / np.max(np.abs(r64.output)) <= 1e-4


def test_in_place_layers_never_touch_a_shared_input():
    # ReLU, batch norm and add may overwrite their input, but only one nothing else reads: here
    # the residual's shortcut and the concat's other branch read the same array again. By hand:
    # out = concat(relu(x) + x, relu(x)) for the residual's identity body start and shortcut.
    text = """
input: [2, 3, 3]
layers:
  - residual:
      body: [identity, relu]
  - concat:
      branches:
        - [relu]
        - [dropout, relu]
"""
    net = cnncalc.loads(text, "inplace.yaml")
    x = np.random.default_rng(3).standard_normal((2, 2, 3, 3))
    keep = x.copy()
    out = run_forward(net.graph, x, dtype="float64").output
    r = np.maximum(keep, 0) + keep
    np.testing.assert_array_equal(out, np.concatenate([np.maximum(r, 0), np.maximum(r, 0)], axis=1))
    np.testing.assert_array_equal(x, keep)  # the caller's array is left alone
