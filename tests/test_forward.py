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
    assert "weights prepared for the kernels (" in res.output  # Winograd's transforms and the like


def test_mismatch_gives_exit_1(runner, monkeypatch):
    from cnncalc.layers.activation import ReLU
    monkeypatch.setattr(ReLU, "forward", lambda self, x, w, in_place=False: x[:, :1])
    res = runner.invoke(main, ["forward", "lenet5"])
    assert res.exit_code == 1 and "✗" in res.output


def test_every_builtin_runs(runner):
    from cnncalc import zoo
    small = {"alexnet": "3,64,64", "vgg16": "3,32,32", "resnet18": "3,32,32", "resnet50": "3,32,32",
             "googlenet": "3,64,64", "resnext50_32x4d": "3,32,32", "densenet121": "3,32,32",
             "squeezenet1_1": "3,35,35", "inception_v3": "3,75,75", "convnext_tiny": "3,32,32",
             "unet": "1,188,188"}
    for name in zoo.names():
        args = ["forward", name] + (["--input", small[name]] if name in small else [])
        res = runner.invoke(main, args)
        assert res.exit_code == 0, (name, res.output)
        if name in small:
            declared = "×".join(map(str, cnncalc.load(name).graph.input_shape))
            assert f"run at input {small[name].replace(',', '×')} instead of the declared {declared}" in res.output


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
            model[i].weight.copy_(torch.tensor(w[f"{n}.weight"]))
            model[i].bias.copy_(torch.tensor(w[f"{n}.bias"]))
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


# -- a weights file must match the network ----------------------------------------------------------
def torchvision_resnet18_names() -> set[str]:
    """torchvision.models.resnet18().state_dict().keys(), written out from torchvision's source
    (ResNet, BasicBlock; a `downsample` Sequential(conv1x1, BatchNorm2d) where the shape changes):
    122 names, every batch norm with its `num_batches_tracked`."""
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    names = {"conv1.weight", "fc.weight", "fc.bias"} | {f"bn1.{a}" for a in bn}
    for stage in (1, 2, 3, 4):
        for block in (0, 1):
            p = f"layer{stage}.{block}"
            names |= {f"{p}.conv1.weight", f"{p}.conv2.weight"} | {f"{p}.bn{i}.{a}" for i in (1, 2) for a in bn}
            if stage > 1 and block == 0:
                names |= {f"{p}.downsample.0.weight"} | {f"{p}.downsample.1.{a}" for a in bn}
    assert len(names) == 122
    return names


@pytest.fixture(scope="module")
def torchvision_file(tmp_path_factory):
    """A resnet18 weights file named as torchvision names it (cnncalc's resnet18 says `shortcut`
    where torchvision says `downsample`), and the run whose weights it holds."""
    net = cnncalc.load("resnet18", (3, 32, 32))
    folder = tmp_path_factory.mktemp("tv")
    x = np.random.default_rng(8).standard_normal((1, 3, 32, 32))
    np.save(folder / "x.npy", x)
    first = run_forward(net.graph, x, dtype="float64", seed=2)
    arrays = {k.replace(".shortcut.", ".downsample."): v for k, v in first.weights.items()}
    for k in list(arrays):
        if k.endswith(".running_var"):
            arrays[k.replace("running_var", "num_batches_tracked")] = np.array(100)
    assert set(arrays) == torchvision_resnet18_names()
    path = folder / "resnet18_tv.npz"
    np.savez(path, **arrays)
    return path, first, x


def test_torchvision_names_are_an_error_with_did_you_mean(runner, torchvision_file):
    path, _, _ = torchvision_file
    res = runner.invoke(main, ["forward", "resnet18", "--input", "3,32,32", "--weights", str(path)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "✓" not in res.output
    line = res.output.strip()
    assert len(line.splitlines()) == 1 and line.startswith(f"error: {path}: ")
    # 3 downsampling blocks × (one 1×1 conv weight + batch norm's 4 arrays) = 15 arrays, 6 layers;
    # num_batches_tracked is accepted (it plays no part in inference).
    assert "15 of its arrays match no layer" in line
    assert "layer2.0.downsample.0.weight (did you mean 'layer2.0.shortcut.0.weight'?)" in line
    assert "layer2.0.downsample.1.bias (did you mean 'layer2.0.shortcut.1.bias'?)" in line
    assert "6 layer(s) would get no weights from it (15 array(s) missing: layer2.0.shortcut.0.weight" in line
    assert "--partial-weights" in line and "num_batches_tracked" not in line


def test_partial_weights_runs_and_says_what_was_initialised(runner, torchvision_file, tmp_path):
    path, first, _ = torchvision_file
    out = tmp_path / "y.npy"
    res = runner.invoke(main, ["forward", "resnet18", "--input", str(path.parent / "x.npy"), "--weights", str(path),
                               "--dtype", "float64", "--partial-weights", "--save-output", str(out)])
    assert res.exit_code == 0, res.output
    assert "15 array(s) of the weights file match no layer" in res.output
    assert "6 layer(s) got no weights from the file and were initialised from --seed" in res.output
    # The shortcut layers ran on other weights than the file's: the output differs from the run
    # that made the file, which a file with cnncalc's names reproduces exactly.
    x = np.load(out)
    assert x.shape == first.output.shape and not np.allclose(x, first.output)


def test_complete_file_reproduces_the_run(torchvision_file):
    _, first, x = torchvision_file
    net = cnncalc.load("resnet18", (3, 32, 32))
    again = run_forward(net.graph, x, weights=first.weights, dtype="float64", seed=99)
    assert again.notes == [] and np.array_equal(again.output, first.output)


def test_weights_file_leaving_a_layer_out(tmp_path):
    net = cnncalc.load("lenet5")
    w = dict(run_forward(net.graph, seed=1).weights)
    del w["F6.weight"], w["F6.bias"]
    w["C1.bias_"] = np.zeros(6)
    with pytest.raises(cnncalc.CnnError) as err:
        run_forward(net.graph, weights=w, weights_file="w.npz")
    text = str(err.value)
    assert text.startswith("w.npz: 1 of its arrays match no layer: C1.bias_ (did you mean 'C1.bias'?)")
    assert "1 layer(s) would get no weights from it (2 array(s) missing: F6.weight, F6.bias)" in text


def test_weights_file_with_an_array_its_layer_lacks():
    net = cnncalc.loads(HOMEWORK)  # conv1 has `bias: false`
    w = {"conv1.weight": np.ones((1, 1, 3, 3)), "conv1.bias": np.zeros(1)}
    with pytest.raises(cnncalc.CnnError, match=r"conv1\.bias \(conv1 has no bias, only weight\)"):
        run_forward(net.graph, weights=w)


def test_half_a_layer_is_an_error_even_with_partial_weights():
    net = cnncalc.load("lenet5")
    w = dict(run_forward(net.graph, seed=1).weights)
    del w["F6.bias"]
    with pytest.raises(cnncalc.CnnError, match=r"F6: no `bias` in the weights file \(expected 84\)"):
        run_forward(net.graph, weights=w, partial_weights=True)


def test_one_validator_one_message_for_inline_and_file(runner, tmp_path):
    # A 2-filter conv whose 18 weights are written flat: 2×1×3×3 cannot be read off 18 numbers
    # without guessing, so both paths refuse it, in the same words.
    text = HOMEWORK.replace("filters: 1", "filters: 2").replace("[[[[1,0,1],[0,1,0],[1,0,1]]]]", str([1] * 18))
    (tmp_path / "net.yaml").write_text(text)
    res = runner.invoke(main, ["params", str(tmp_path / "net.yaml")])
    assert res.exit_code == 2
    assert "conv1: `weight` in the inline weights has shape 18, expected 2×1×3×3 (18 numbers)" in res.output
    net = cnncalc.loads(HOMEWORK.replace("filters: 1", "filters: 2").replace(", weights: [[[[1,0,1],[0,1,0],[1,0,1]]]]",
                                                                             ""))
    with pytest.raises(cnncalc.CnnError) as err:
        run_forward(net.graph, weights={"conv1.weight": np.ones(18)})
    assert "conv1: `weight` in the weights file has shape 18, expected 2×1×3×3 (18 numbers)" in str(err.value)
    # Leading 1s may be left out, in both: one 3×3 filter written as a 3×3 list or array.
    net = cnncalc.loads(HOMEWORK.replace("[[[[1,0,1],[0,1,0],[1,0,1]]]]", "[[1,0,1],[0,1,0],[1,0,1]]"))
    assert run_forward(net.graph, dtype="float64").output[0, 0].tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    one = cnncalc.loads(HOMEWORK.replace(", weights: [[[[1,0,1],[0,1,0],[1,0,1]]]]", ""))
    w = {"conv1.weight": np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], float)}
    assert run_forward(one.graph, weights=w, dtype="float64").output[0, 0].tolist() == [[4, 3, 4], [2, 4, 3],
                                                                                        [2, 3, 4]]


def test_ragged_and_extra_inline_weights(runner, tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(HOMEWORK.replace("[[[[1,0,1],[0,1,0],[1,0,1]]]]", "[[1,0,1],[0,1],[1,0,1]]"))
    res = runner.invoke(main, ["forward", str(f)])
    assert res.exit_code == 2 and "`weight` in the inline weights is ragged" in res.output
    f.write_text(HOMEWORK.replace("bias: false, weights: [[[[1,0,1],[0,1,0],[1,0,1]]]]",
                                  "bias: false, weights: {weight: [[1,0,1],[0,1,0],[1,0,1]], bias: [1]}"))
    res = runner.invoke(main, ["forward", str(f)])
    assert res.exit_code == 2
    assert "`bias` in the inline weights is not an array of this layer (it has weight); remove it" in res.output
    f.write_text(HOMEWORK.replace("bias: false, weights: [[[[1,0,1],[0,1,0],[1,0,1]]]]",
                                  "weights: [[1,0,1],[0,1,0],[1,0,1]]"))
    res = runner.invoke(main, ["forward", str(f)])
    assert res.exit_code == 2
    assert "no `bias` in the inline weights (expected 1); add it or set `bias: false`" in res.output


def test_closest_name_changes_one_segment():
    from cnncalc.weights import closest_name
    choices = ["layer2.0.conv1.weight", "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.running_mean",
               "layer3.0.shortcut.0.weight"]
    assert closest_name("layer2.0.downsample.0.weight", choices) == "layer2.0.shortcut.0.weight"
    assert closest_name("layer2.0.downsample.1.running_mean", choices) == "layer2.0.shortcut.1.running_mean"
    assert closest_name("layer2.0.conv1.wieght", choices) == "layer2.0.conv1.weight"
    assert closest_name("something.else", choices) is None


def test_add_never_writes_into_an_input_it_shares():
    # A body that hands its input back unchanged (dropout at inference) leaves the add a body
    # output that *is* the residual's input, which the shortcut reads too. By hand: the inner
    # residual gives x + x = 2x, the outer one 2x + x = 3x; the caller's array stays x.
    text = """
input: [2, 3, 3]
layers:
  - residual:
      body:
        - residual:
            body: [dropout]
"""
    net = cnncalc.loads(text, "inplace-add.yaml")
    x = np.random.default_rng(4).standard_normal((2, 2, 3, 3))
    keep = x.copy()
    out = run_forward(net.graph, x, dtype="float64").output
    np.testing.assert_array_equal(out, 3 * keep)
    np.testing.assert_array_equal(x, keep)
