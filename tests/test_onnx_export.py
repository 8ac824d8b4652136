"""`cnncalc export --to onnx` (issue 12): a valid model (onnx.checker, full check) whose initializers
are cnncalc's layer names; onnxruntime's output on it equals cnncalc's forward on the same weights;
and YAML → ONNX → import gives the same analysis, layer by layer, for the zoo networks."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the test extra installs onnx: pip install -e '.[test]'")
ort = pytest.importorskip("onnxruntime", reason="the test extra installs onnxruntime: pip install -e '.[test]'")
from click.testing import CliRunner  # noqa: E402

from cnncalc.cli import main  # noqa: E402
from cnncalc.forward import run_forward  # noqa: E402
from cnncalc.interop.onnx_export import export_onnx, graph_weights  # noqa: E402
from cnncalc.network import load, loads  # noqa: E402

# Every zoo network ONNX can express, at inputs small enough for a unit test. alexnet and vgg16
# are left out here only for their size (their classifiers hold 58 M and 124 M weights at any
# input: hundreds of MB to serialise); lenet5-1998 is refused (below).
ROUND_TRIP = {
    "resnet18": (3, 64, 64),
    "resnet50": (3, 64, 64),
    "googlenet": (3, 96, 96),
    "nin": (3, 64, 64),
    "lenet5": None,
    "rf-example": None,
    "feature-map-example": None,
    "mobilenet_v3_large": (3, 64, 64),
    "efficientnet_b0": (3, 64, 64),
    "shufflenet_v2_x1_0": (3, 64, 64),
    "regnet_y_400mf": (3, 64, 64),
    # Every kind with an ONNX form, in two small networks (tests/networks, written for --convention).
    # (at 19×19 its adaptive pools tile their inputs, 10 → 5 and 5 → 5: ONNX has no pooling with
    # windows of different sizes, and the export refuses those)
    "tests/networks/every_counted_kind.yaml": (3, 19, 19),
    "tests/networks/every_counted_kind_2.yaml": None,
    "tests/networks/every_counted_kind_3.yaml": None,
}
# Kinds that are the identity at inference: ONNX has no node for them, so the import has no layer.
NO_NODE = {"stochastic_depth", "identity"}
ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


# Kinds ONNX writes as another operator with the same arithmetic (an adaptive pool whose windows
# tile the input is an AveragePool).
SAME_AS = {"adaptiveavgpool": "avgpool"}


def _record(r):
    return (SAME_AS.get(r.type, r.type), r.output, r.params, r.non_trainable, r.macs, r.rf.size, r.rf.jump)


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_zoo_round_trip_gives_the_same_analysis(name, tmp_path):
    net = load(str(ROOT / name) if name.startswith("tests/") else name, ROUND_TRIP[name])
    weights = graph_weights(net.graph, seed=0)
    model = export_onnx(net.graph, weights)
    assert set(weights) <= {i.name for i in model.graph.initializer}  # cnncalc's names
    path = tmp_path / "net.onnx"
    onnx.save(model, str(path))
    back = load(str(path))
    want, got = net.analyse(), back.analyse()
    assert [_record(r) for r in got.layers] == [_record(r) for r in want.layers if r.type not in NO_NODE]
    # The layers come back with their names (merges are named by the importer's own rule).
    merges = {"add", "concat", "multiply"}
    assert [r.name for r in got.layers if r.type not in merges] == \
        [r.name for r in want.layers if r.type not in merges | NO_NODE]
    assert not back.check_failed
    # onnxruntime on the exported file equals cnncalc's forward on the same weights.
    x = np.random.default_rng(0).standard_normal((1, *net.graph.input_shape)).astype(np.float32)
    ours = run_forward(net.graph, x, weights).output
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5 * np.abs(ours).max())


# Padding cnncalc resolves per input (same with stride 2, unequal sides): ONNX's pads order
# [top, left, bottom, right] must carry it.
ASYMMETRIC = """
name: odd pads
input: [3, 9, 10]
layers:
  - conv: {filters: 4, kernel: 3, stride: 2, padding: same}
  - maxpool: {kernel: 2, stride: 2, padding: [0, 1, 1, 0]}
  - conv: {filters: 6, kernel: [1, 3], padding: [0, 0, 2, 0]}
  - relu
"""


def test_unequal_padding_survives_the_round_trip(tmp_path):
    net = loads(ASYMMETRIC, "odd.yaml")
    weights = graph_weights(net.graph, seed=2)
    path = tmp_path / "odd.onnx"
    onnx.save(export_onnx(net.graph, weights), str(path))
    back = load(str(path))
    assert [_record(r) for r in back.analyse().layers] == [_record(r) for r in net.analyse().layers]
    x = np.random.default_rng(0).standard_normal((1, 3, 9, 10)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], run_forward(net.graph, x, weights).output,
                               rtol=1e-5, atol=1e-6)


def test_lenet5_1998_is_refused_with_a_reason(tmp_path):
    r = CliRunner().invoke(main, ["export", "lenet5-1998", "--to", "onnx", "-o", str(tmp_path / "l.onnx")])
    assert r.exit_code == 2
    assert "has no ONNX operator" in r.output and "\n" not in r.output.strip()
    assert not (tmp_path / "l.onnx").exists()


def test_export_command_writes_a_checked_model_with_given_weights(tmp_path):
    out, npz = tmp_path / "n.onnx", tmp_path / "w.npz"
    net = load("lenet5")
    weights = graph_weights(net.graph, seed=7)
    np.savez(npz, **weights)
    r = CliRunner().invoke(main, ["export", "lenet5", "--to", "onnx", "-o", str(out), "--weights", str(npz)])
    assert r.exit_code == 0, r.output
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    stored = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    assert set(stored) == set(weights)
    np.testing.assert_array_equal(stored["C1.weight"] if "C1.weight" in stored else next(iter(stored.values())),
                                  weights["C1.weight"] if "C1.weight" in weights else next(iter(weights.values())))
