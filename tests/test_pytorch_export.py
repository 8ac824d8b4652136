"""`cnncalc export --to pytorch` (issue 12): the generated module loads cnncalc's weights by name
with zero missing and zero unexpected keys, counts cnncalc's params, and computes cnncalc's output."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx", reason="graph_weights lives with the ONNX exporter; the test extra installs onnx")
from click.testing import CliRunner  # noqa: E402

from cnncalc.cli import main  # noqa: E402
from cnncalc.forward import run_forward  # noqa: E402
from cnncalc.interop.onnx_export import graph_weights  # noqa: E402
from cnncalc.interop.pytorch_export import export_pytorch  # noqa: E402
from cnncalc.network import load, loads  # noqa: E402

NETS = {"resnet18": (3, 64, 64), "googlenet": (3, 96, 96), "nin": (3, 64, 64), "lenet5": None,
        "feature-map-example": None, "mobilenet_v3_large": (3, 64, 64), "efficientnet_b0": (3, 64, 64),
        "shufflenet_v2_x1_0": (3, 64, 64), "regnet_y_400mf": (3, 64, 64),
        "tests/networks/every_counted_kind.yaml": (3, 19, 19), "tests/networks/every_counted_kind_2.yaml": None,
        "tests/networks/every_counted_kind_3.yaml": None}
ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent

# Padding cnncalc resolves per input (same, unequal sides): F.pad in the generated forward.
ASYMMETRIC = """
name: odd pads
input: [3, 9, 9]
layers:
  - conv: {filters: 4, kernel: 3, stride: 2, padding: same}
  - maxpool: {kernel: 2, stride: 2, padding: [0, 1, 1, 0]}
  - conv: {filters: 6, kernel: 1}
  - relu
"""


def module_of(source: str):
    """Run the generated source; the network's class is the last one it defines."""
    space: dict = {}
    exec(compile(source, "<exported>", "exec"), space)
    defined = [v for v in space.values() if isinstance(v, type) and v.__module__ == "builtins"
               or isinstance(v, type) and getattr(v, "__module__", "") == space.get("__name__")]
    return defined[-1]()


@pytest.mark.parametrize("name", [*sorted(NETS), "asymmetric"])
def test_exported_module_loads_weights_by_name_and_matches_forward(name):
    if name == "asymmetric":
        net = loads(ASYMMETRIC, "odd.yaml")
    else:
        net = load(str(ROOT / name) if name.startswith("tests/") else name, NETS[name])
    model = module_of(export_pytorch(net.graph)).eval()
    weights = graph_weights(net.graph, seed=3)
    result = model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()}, strict=True)
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    assert sum(p.numel() for p in model.parameters()) == net.analyse().totals.params
    x = np.random.default_rng(0).standard_normal((2, *net.graph.input_shape)).astype(np.float32)
    ours = run_forward(net.graph, x, weights).output
    with torch.no_grad():
        theirs = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-4 * np.abs(ours).max())


def test_lenet5_1998_is_refused_and_the_command_writes_source(tmp_path):
    r = CliRunner().invoke(main, ["export", "lenet5-1998", "--to", "pytorch"])
    assert r.exit_code == 2 and "no standard PyTorch module" in r.output
    out = tmp_path / "net.py"
    r = CliRunner().invoke(main, ["export", "lenet5", "--to", "pytorch", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "class Lenet5(nn.Module)" in out.read_text()
