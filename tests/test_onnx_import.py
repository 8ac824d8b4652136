"""ONNX import (issue 12): models built here in PyTorch, exported by torch.onnx.export (TorchScript
and dynamo, batch norm kept and folded), imported by cnncalc. Expected counts come from PyTorch
itself (parameter and buffer sizes, MACs from the modules' shapes); expected outputs from
onnxruntime run on the same file."""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx", reason="the test extra installs onnx: pip install -e '.[test]'")
ort = pytest.importorskip("onnxruntime", reason="the test extra installs onnxruntime: pip install -e '.[test]'")
from click.testing import CliRunner  # noqa: E402
from torch import nn  # noqa: E402

from cnncalc.cli import main  # noqa: E402
from cnncalc.errors import CnnError  # noqa: E402
from cnncalc.forward import run_forward  # noqa: E402
from cnncalc.network import load  # noqa: E402


# -- a PyTorch model with every structure the importer recovers ----------------------------------
class Basic(nn.Module):
    def __init__(self, cin, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))
                           if stride > 1 or cin != c else None)

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + shortcut)


class Inception(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.branch1 = nn.Conv2d(c, 4, 1)
        self.branch2 = nn.Sequential(nn.Conv2d(c, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1))
        self.branch3 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c, 2, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class DenseBlock(nn.Module):
    """torchvision's DenseNet pattern: each layer reads the concatenation of all earlier maps."""

    def __init__(self, c, growth, n):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(c + i * growth), nn.ReLU(), nn.Conv2d(c + i * growth, growth, 3, padding=1,
                                                                               bias=False))
            for i in range(n))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(Basic(8, 8, 1), Basic(8, 16, 2))
        self.inc = Inception(16)
        self.dense = DenseBlock(12, 4, 3)
        self.pool = nn.AvgPool2d(2, padding=1)  # count_include_pad=True, written out by the exporter
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.pool(self.dense(self.inc(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


INPUT = (3, 32, 32)
# Batch norms right after a conv: the exporters fold these (each C: −C params, −2·C non-trainable).
FOLDABLE = ("bn1", "layer1.0.bn1", "layer1.0.bn2", "layer1.1.bn1", "layer1.1.bn2", "layer1.1.downsample.1")


def randomised(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-zero weights everywhere (the dynamo exporter's optimizer drops all-zero biases)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2 + (0.1 if name.endswith("bias") else 0))
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
    return model.eval()


def export(model, path, how: str, shape=INPUT, **extra):
    x = torch.randn(1, *shape)
    kwargs = {
        "ts": {"dynamo": False},
        "ts-keep": {"dynamo": False, "training": torch.onnx.TrainingMode.PRESERVE},
        "dynamo": {"dynamo": True},
        "dynamo-keep": {"dynamo": True, "optimize": False},
    }[how]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), verbose=False, **kwargs, **extra)
    return str(path)


def torch_counts(model: nn.Module, shape=INPUT):
    """PyTorch's numbers: trainable and buffer sizes, and MACs from each conv/linear's shapes."""
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs.append(output[0].numel() * module.in_channels // module.groups * kh * kw)
        elif isinstance(module, nn.Linear):
            macs.append(module.in_features * module.out_features)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    params = sum(p.numel() for p in model.parameters())
    stats = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    return params, stats, sum(macs)


@pytest.fixture(scope="module")
def net():
    return randomised(Net())


@pytest.fixture(scope="module")
def exported(net, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    return {how: export(net, folder / f"net-{how}.onnx", how) for how in ("ts", "ts-keep", "dynamo", "dynamo-keep")}


def ort_output(path: str, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]


@pytest.mark.parametrize("how", ["ts-keep", "dynamo-keep"])
def test_batch_norm_kept_imports_to_pytorchs_counts(net, exported, how):
    params, stats, macs = torch_counts(net)
    a = load(exported[how]).analyse()
    assert (a.totals.params, a.totals.non_trainable, a.totals.macs) == (params, stats, macs)
    assert not [w for w in a.warnings if "batch norm" in w]


@pytest.mark.parametrize("how", ["ts", "dynamo"])
def test_batch_norm_folded_imports_to_the_documented_difference_and_says_so(net, exported, how):
    params, stats, macs = torch_counts(net)
    folded = sum(dict(net.named_modules())[name].num_features for name in FOLDABLE)
    a = load(exported[how]).analyse()
    assert (a.totals.params, a.totals.non_trainable, a.totals.macs) == (params - folded, stats - 2 * folded, macs)
    assert any("batch norm" in w and "fold" in w for w in a.warnings)


@pytest.mark.parametrize("how", ["ts", "ts-keep", "dynamo", "dynamo-keep"])
def test_structure_names_and_shapes_are_recovered(exported, how):
    network = load(exported[how])
    a = network.analyse()
    names = {r.name: r for r in a.layers}
    # Names from the exporter's node names (TorchScript) or namespace metadata (dynamo).
    for name in ("conv1", "layer1.0.conv1", "layer1.1.conv2", "inc.branch2.0", "inc.branch2.2", "fc"):
        assert name in names, (name, sorted(names))
    kinds = [r.type for r in a.layers]
    assert kinds.count("add") == 2 and kinds.count("concat") == 4  # 2 residuals; inception + 3 dense layers
    # the projection shortcut, at the PyTorch module's own path (the residual's `shortcut_name`)
    assert names["layer1.1.downsample.0"].type == "conv"
    assert not network.check_failed and network.imported.expected


@pytest.mark.parametrize("how", ["ts", "ts-keep", "dynamo", "dynamo-keep"])
def test_forward_on_the_file_equals_onnxruntime_and_pytorch(net, exported, how):
    x = np.random.default_rng(1).standard_normal((1, *INPUT)).astype(np.float32)
    network = load(exported[how])
    ours = run_forward(network.graph, x, network.imported.weights).output
    want = ort_output(exported[how], x)
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    with torch.no_grad():
        np.testing.assert_allclose(ours, net(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_import_command_writes_yaml_and_weights_that_forward_reads(exported, tmp_path):
    out, npz = tmp_path / "net.yaml", tmp_path / "net.npz"
    r = CliRunner().invoke(main, ["import", exported["ts-keep"], "-o", str(out), "--weights-out", str(npz)])
    assert r.exit_code == 0, r.output
    assert "✓" in r.output and "layer shapes agree" in r.output
    text = out.read_text()
    assert "- residual:" in text and "- concat:" in text and "name: layer1.0" in text
    x = np.random.default_rng(2).standard_normal((1, *INPUT)).astype(np.float32)
    network = load(str(out))
    with np.load(npz) as f:
        weights = dict(f)
    np.testing.assert_allclose(run_forward(network.graph, x, weights).output, ort_output(exported["ts-keep"], x),
                               rtol=1e-4, atol=1e-5)


def test_every_file_command_takes_an_onnx_file(exported):
    runner = CliRunner()
    for command in (["params"], ["rf"], ["summary"], ["forward"], ["template"]):
        r = runner.invoke(main, [*command, exported["ts-keep"]])
        assert r.exit_code == 0, (command, r.output)
    r = runner.invoke(main, ["forward", exported["ts-keep"]])
    assert "weights from the ONNX file" in r.output


# -- ONNX semantics, with hand-made graphs and onnxruntime as the oracle -------------------------
def one_node_model(path, op, attrs, x_shape, weights=(), extra_nodes=(), opset=17):
    helper = onnx.helper
    inits = [onnx.numpy_helper.from_array(w.astype(np.float32), f"w{i}") for i, w in enumerate(weights)]
    node = helper.make_node(op, ["x", *[f"w{i}" for i in range(len(weights))]], ["y"], name=f"/layer/{op}", **attrs)
    graph = helper.make_graph([node, *extra_nodes], "g", [helper.make_tensor_value_info("x", 1, [1, *x_shape])],
                              [helper.make_tensor_value_info("z" if extra_nodes else "y", 1, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


SEMANTICS = {
    # name: (op, attributes, input C×H×W, weights, the output shape ONNX's rules give (worked by hand))
    "maxpool stride defaults to 1": ("MaxPool", {"kernel_shape": [3, 3]}, (2, 7, 7), (), (2, 5, 5)),
    "avgpool count_include_pad defaults to 0": (
        "AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, (2, 7, 7), (), (2, 4, 4)),
    "avgpool count_include_pad 1": (
        "AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": 1},
        (2, 7, 7), (), (2, 4, 4)),
    # pads [top, left, bottom, right] = [0, 1, 2, 3]: H 7+0+2−3+1 = 7, W 7+1+3−3+1 = 9
    "conv pads order": ("Conv", {"pads": [0, 1, 2, 3]}, (2, 7, 7), ((4, 2, 3, 3),), (4, 7, 9)),
    # SAME: out = ceil(8/2) = 4, total pad = (4−1)·2 + 3 − 8 = 1: UPPER after, LOWER before
    "conv auto_pad SAME_UPPER": ("Conv", {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, (2, 8, 8), ((3, 2, 3, 3),),
                                 (3, 4, 4)),
    "conv auto_pad SAME_LOWER": ("Conv", {"auto_pad": "SAME_LOWER", "strides": [2, 2]}, (2, 8, 8), ((3, 2, 3, 3),),
                                 (3, 4, 4)),
    "conv auto_pad VALID": ("Conv", {"auto_pad": "VALID"}, (2, 8, 8), ((3, 2, 3, 3),), (3, 6, 6)),
    "grouped dilated conv": ("Conv", {"group": 2, "dilations": [2, 2], "pads": [2, 2, 2, 2]}, (4, 9, 9),
                             ((6, 2, 3, 3), (6,)), (6, 9, 9)),
}


@pytest.mark.parametrize("case", sorted(SEMANTICS))
def test_onnx_semantics_match_onnxruntime(case, tmp_path):
    op, attrs, shape, weight_shapes, want_shape = SEMANTICS[case]
    rng = np.random.default_rng(3)
    weights = [rng.standard_normal(s) for s in weight_shapes]
    path = one_node_model(tmp_path / "m.onnx", op, attrs, shape, weights)
    network = load(path)
    x = rng.standard_normal((1, *shape)).astype(np.float32)
    want = ort_output(path, x)
    assert want.shape[1:] == want_shape
    assert network.analyse().layers[-1].output == want_shape
    np.testing.assert_allclose(run_forward(network.graph, x, network.imported.weights).output, want,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_trans_b_alpha_beta_match_onnxruntime(trans_b, tmp_path):
    rng = np.random.default_rng(4)
    w = rng.standard_normal((5, 3) if trans_b else (3, 5))  # (out, in) with transB, else (in, out)
    c = rng.standard_normal(5)
    flatten = onnx.helper.make_node("Flatten", ["x"], ["f"], axis=1, name="/flat/Flatten")
    gemm = onnx.helper.make_node("Gemm", ["f", "w", "c"], ["y"], transB=trans_b, alpha=0.5, beta=2.0, name="/fc/Gemm")
    graph = onnx.helper.make_graph(
        [flatten, gemm], "g", [onnx.helper.make_tensor_value_info("x", 1, [1, 3, 1, 1])],
        [onnx.helper.make_tensor_value_info("y", 1, None)],
        [onnx.numpy_helper.from_array(w.astype(np.float32), "w"), onnx.numpy_helper.from_array(c.astype(np.float32),
                                                                                                "c")])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = str(tmp_path / "gemm.onnx")
    onnx.save(model, path)
    network = load(path)
    assert network.analyse().totals.params == 5 * 3 + 5
    x = rng.standard_normal((1, 3, 1, 1)).astype(np.float32)
    np.testing.assert_allclose(run_forward(network.graph, x, network.imported.weights).output, ort_output(path, x),
                               rtol=1e-5, atol=1e-6)


def test_unsupported_operators_are_listed_with_counts_and_first_node(tmp_path):
    helper = onnx.helper
    nodes = [helper.make_node("Erf", ["x"], ["a"], name="/first/Erf"),
             helper.make_node("Erf", ["a"], ["b"], name="/second/Erf"),
             helper.make_node("Relu", ["b"], ["c"], name="/ok/Relu"),
             helper.make_node("Round", ["c"], ["y"], name="/round/Round")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [1, 2, 4, 4])],
                              [helper.make_tensor_value_info("y", 1, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = str(tmp_path / "odd.onnx")
    onnx.save(model, path)
    r = CliRunner().invoke(main, ["params", path])
    assert r.exit_code == 2
    line = r.output.strip()
    assert "\n" not in line and line.startswith("error: ")
    assert "cannot map 3 node(s) of 2 operator type(s)" in line
    assert "Erf ×2 (first: /first/Erf" in line and "Round ×1 (first: /round/Round" in line


def test_dynamic_spatial_size_and_other_opsets_are_refused(tmp_path):
    path = one_node_model(tmp_path / "m.onnx", "Relu", {}, (2, 4, 4), opset=11)
    with pytest.raises(CnnError, match="opset 11 is outside"):
        load(path)
    helper = onnx.helper
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", 1, ["N", 3, "H", "W"])],
                              [helper.make_tensor_value_info("y", 1, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "dyn.onnx"))
    with pytest.raises(CnnError, match="fixed C, H and W"):
        load(str(tmp_path / "dyn.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf at all")
    r = CliRunner().invoke(main, ["params", str(tmp_path / "junk.onnx")])
    assert r.exit_code == 2 and "not a readable ONNX model" in r.output


class SharedWeights(nn.Module):
    """Two convs with identical values: the TorchScript exporter stores one initializer for both."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(4, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        with torch.no_grad():
            self.b.weight.copy_(self.a.weight)
            self.b.bias.copy_(self.a.bias)

    def forward(self, x):
        x = torch.relu(self.b(torch.relu(self.a(x))))
        return x.view(x.size(0), -1)  # Shape → Gather → Unsqueeze → Concat → Reshape, folded at import


def test_deduplicated_initializers_count_per_layer_and_shape_arithmetic_folds(tmp_path):
    model = SharedWeights().eval()
    # A batch of any size: the exporter keeps the batch's shape arithmetic for the importer to fold.
    path = export(model, tmp_path / "shared.onnx", "ts", (4, 6, 6), input_names=["x"], dynamic_axes={"x": {0: "N"}})
    proto = onnx.load(path)
    assert len(proto.graph.initializer) < 4  # the exporter did de-duplicate (else this test tests nothing)
    assert "Shape" in {n.op_type for n in proto.graph.node}
    network = load(path)
    params, _stats, macs = torch_counts(model, (4, 6, 6))
    a = network.analyse()
    assert (a.totals.params, a.totals.macs) == (params, macs)
    assert network.imported.coverage.folded > 0
    assert [r.type for r in a.layers] == ["conv", "relu", "conv", "relu", "flatten"]


def test_a_missing_onnx_package_is_one_line(monkeypatch, tmp_path):
    path = one_node_model(tmp_path / "m.onnx", "Relu", {}, (2, 4, 4))
    monkeypatch.setitem(sys.modules, "onnx", None)
    r = CliRunner().invoke(main, ["params", path])
    assert r.exit_code == 2
    assert r.output.strip() == 'error: reading and writing ONNX needs the onnx package: pip install "cnncalc[onnx]"'


def test_the_readmes_own_model_section_runs(tmp_path, monkeypatch):
    """README § Your own model: its Python and its commands, in order, in an empty folder."""
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = text[text.index("## Your own model"):text.index("## Benchmark")]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    runner = CliRunner()
    for lang, code in re.findall(r"```(python|console)\n(.*?)```", section, re.S):
        if lang == "python":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(code, "README.md", "exec"), {})
            continue
        for line in code.splitlines():
            r = runner.invoke(main, shlex.split(line.split("  #")[0])[1:])
            assert r.exit_code == 0, (line, r.output)
    # The numbers the section states, from PyTorch: 3·16·3·3 + 2·16 + 16·10 + 10 = 634; 2·16 statistics.
    a = load(str(tmp_path / "model.onnx")).analyse()
    assert (a.totals.params, a.totals.non_trainable) == (634, 32)


# -- issue 11's kinds as the exporters write them --------------------------------------------------
class ConvNeXtBlock(nn.Module):
    """torchvision's CNBlock: depthwise 7×7, permute, LayerNorm, Linear, GELU, Linear, layer scale,
    permute back, + input (stochastic depth is the identity at inference)."""

    def __init__(self, c):
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1 = nn.Linear(c, 4 * c)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * c, c)
        self.layer_scale = nn.Parameter(torch.full((c, 1, 1), 0.5))

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y)))).permute(0, 3, 1, 2)
        return x + self.layer_scale * y


class Modern(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.ReLU6(), nn.Conv2d(8, 16, 1), nn.SiLU())
        self.acts = nn.Sequential(nn.Hardsigmoid(), nn.Mish(), nn.ELU(0.5), nn.PReLU(16), nn.Hardtanh(-2, 2),
                                  nn.LeakyReLU(0.2))
        self.block = ConvNeXtBlock(16)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5), nn.PReLU())

    def forward(self, x):
        return self.head(self.block(self.acts(self.dw(self.stem(x)))))


def modern_counts(model):
    """PyTorch's parameter count; MACs by hand from the modules' shapes at 3×32×32 (16×16 maps after
    the stem): stem 16·16·8·27, depthwise 16·16·8·9, 1×1 16·16·16·8, ConvNeXt depthwise
    16·16·16·49, Linear per position 16·16·(16·64 + 64·16), head 16·5."""
    macs = 256 * 8 * 27 + 256 * 8 * 9 + 256 * 16 * 8 + 256 * 16 * 49 + 256 * (16 * 64 * 2) + 16 * 5
    return sum(p.numel() for p in model.parameters()), 16, macs


@pytest.mark.parametrize("how", ["ts-keep", "dynamo-keep"])
def test_modern_kinds_import_to_pytorchs_counts_and_output(how, tmp_path):
    model = randomised(Modern(), seed=5)
    path = export(model, tmp_path / "modern.onnx", how)
    network = load(path)
    a = network.analyse()
    assert (a.totals.params, a.totals.non_trainable, a.totals.macs) == modern_counts(model)
    kinds = [r.type for r in a.layers]
    for kind in ("hardswish", "relu6", "silu", "hardsigmoid", "mish", "elu", "prelu", "hardtanh", "leaky_relu",
                 "layernorm", "gelu", "layer_scale"):
        assert kind in kinds, (kind, kinds)
    assert [r for r in a.layers if r.type == "dense" and len(r.output) == 3]  # per position
    assert not network.check_failed
    x = np.random.default_rng(6).standard_normal((1, *INPUT)).astype(np.float32)
    ours = run_forward(network.graph, x, network.imported.weights).output
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


# -- issue 11's structures: squeeze-and-excitation, channel split and shuffle, pad and crop ---------
class SqueezeExcitation(nn.Module):
    def __init__(self, c, squeeze, scale):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.scale_activation = scale

    def forward(self, x):
        return x * self.scale_activation(self.fc2(self.relu(self.fc1(self.avgpool(x)))))


class ShuffleUnit(nn.Module):
    """torchvision's ShuffleNetV2 InvertedResidual, stride 1: chunk, one half through branch2,
    concatenate, channel shuffle."""

    def __init__(self, c):
        super().__init__()
        self.branch2 = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                     nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False), nn.BatchNorm2d(c),
                                     nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        out = torch.cat((x1, self.branch2(x2)), dim=1)
        n, c, h, w = out.shape
        return out.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class Structures(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 2, 1)
        self.se = SqueezeExcitation(8, 4, nn.Sigmoid())
        self.unit = ShuffleUnit(4)
        self.se3 = SqueezeExcitation(8, 2, nn.Hardsigmoid())
        self.conv = nn.Conv2d(8, 6, 3)
        self.fc = nn.Linear(6 * 16 * 16, 4)

    def forward(self, x):
        x = self.se3(self.unit(self.se(self.stem(x))))
        x = torch.nn.functional.pad(x, (1, 2, 0, 3))  # left 1, right 2, top 0, bottom 3: 16×16 → 19×19
        x = self.conv(x)[:, :, 1:17, 0:16]  # 17×17 → crop to 16×16
        return self.fc(torch.flatten(x, 1))


@pytest.mark.parametrize("how", ["ts-keep", "dynamo-keep"])
def test_gate_split_shuffle_pad_and_crop_import_to_pytorchs_counts_and_output(how, tmp_path):
    model = randomised(Structures(), seed=8)
    path = export(model, tmp_path / "structures.onnx", how)
    network = load(path)
    a = network.analyse()
    params, stats, macs = torch_counts(model)
    assert (a.totals.params, a.totals.non_trainable, a.totals.macs) == (params, stats, macs)
    kinds = [r.type for r in a.layers]
    assert kinds.count("multiply") == 2 and "shuffle" in kinds and "pad" in kinds and "crop" in kinds
    assert kinds.count("slice") == 2  # the chunk's two halves, folded from Shape → Gather → Div → Slice
    names = {r.name for r in a.layers}
    assert {"se.fc1", "se.fc2", "unit.branch2.0", "se3.fc2"} <= names, sorted(names)
    assert not network.check_failed
    x = np.random.default_rng(9).standard_normal((1, *INPUT)).astype(np.float32)
    ours = run_forward(network.graph, x, network.imported.weights).output
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    np.testing.assert_allclose(ours, ort_output(path, x), rtol=1e-4, atol=1e-4 * np.abs(want).max())


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(3, 6, 3, stride=2, padding=1, output_padding=1, groups=3)
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")
        self.up3 = nn.Upsample(size=(50, 70), mode="bilinear", align_corners=False)
        self.up4 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = nn.Conv2d(6, 2, 3, stride=4)

    def forward(self, x):
        return self.conv(self.up4(self.up3(self.up2(self.up1(x)))))


@pytest.mark.parametrize("how", ["ts-keep", "dynamo-keep"])
def test_transposed_conv_and_upsampling_import_to_pytorchs_counts_and_output(how, tmp_path):
    model = randomised(Decoder(), seed=10)
    path = export(model, tmp_path / "decoder.onnx", how, (3, 8, 8))
    network = load(path)
    a = network.analyse()
    # MACs by hand: the transposed conv multiplies every input pixel by its C_out/g·kh·kw taps,
    # 8·8·3·(6/3)·3·3 = 3,456; the conv 2·6·9 per output, at (100−3)//4+1 = 25 by (140−3)//4+1 = 35.
    assert a.totals.params == sum(p.numel() for p in model.parameters())
    assert a.totals.macs == 8 * 8 * 3 * 2 * 9 + 25 * 35 * 2 * 6 * 9
    assert [r.type for r in a.layers] == ["convtranspose", "upsample", "upsample", "upsample", "conv"]
    assert not network.check_failed
    x = np.random.default_rng(11).standard_normal((1, 3, 8, 8)).astype(np.float32)
    ours = run_forward(network.graph, x, network.imported.weights).output
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_a_shape_the_file_declares_differently_is_a_cross_mark_and_exit_1(tmp_path):
    """MaxPool 3×3, stride 1 (ONNX's default) on 7×7 gives 5×5; the file declares 6×6."""
    helper = onnx.helper
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], name="/pool/MaxPool"),
             helper.make_node("Relu", ["y"], ["z"], name="/act/Relu")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [1, 2, 7, 7])],
                              [helper.make_tensor_value_info("z", 1, [1, 2, 6, 6])],
                              value_info=[helper.make_tensor_value_info("y", 1, [1, 2, 6, 6])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = str(tmp_path / "lies.onnx")
    onnx.save(model, path)
    r = CliRunner().invoke(main, ["import", path, "-o", str(tmp_path / "n.yaml")])
    assert r.exit_code == 1
    assert "✗ pool: cnncalc 2×5×5, ONNX 2×6×6" in r.output and "✗ 2 of 2 layer shapes differ" in r.output
    r = CliRunner().invoke(main, ["params", path])
    assert r.exit_code == 1 and "✗ pool: cnncalc computes 2×5×5, the ONNX file 2×6×6" in r.output
    # At another input size the file's shapes say nothing: no check, exit 0.
    assert CliRunner().invoke(main, ["params", path, "--input", "2,9,9"]).exit_code == 0
