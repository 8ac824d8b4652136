"""`--convention`: cnncalc's figures for torchinfo, fvcore, ptflops and thop, checked against the
tools themselves (pinned in the test extra) run on PyTorch module models of the networks
(tests/torch_modules.py). The tools never see cnncalc; cnncalc never imports them.

Inputs are small (the counts are sums of per-layer terms, exact at any size) and batch 2, so each
tool's batch factor is checked too."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import warnings

import pytest

from cnncalc import load, zoo
from cnncalc.arith import evaluate
from cnncalc.cli import main
from cnncalc.conventions import MODULES, NAMES, NO_MODULE, RULES, VERSIONS, convention
from cnncalc.errors import CnnError
from cnncalc.layers import KINDS

torch = pytest.importorskip("torch", reason="PyTorch (the test extra) builds the models the tools count")
with warnings.catch_warnings():  # fvcore's import warns that torch.jit.script is deprecated
    warnings.simplefilter("ignore")
    for _tool in ("torchinfo", "fvcore.nn", "ptflops", "thop"):
        pytest.importorskip(_tool, reason=f"{_tool} (pinned in the test extra) is the oracle for --convention")

from torch_modules import ModuleNet  # noqa: E402

BATCH = 2
NETWORKS_DIR = __import__("pathlib").Path(__file__).parent / "networks"
# Small inputs the networks accept; the counts scale exactly, and the tools take seconds at 224.
SMALL = {"alexnet": (3, 63, 63), "vgg16": (3, 32, 32), "resnet18": (3, 32, 32), "resnet50": (3, 32, 32),
         "googlenet": (3, 32, 32), "nin": (3, 16, 16), "mobilenet_v3_large": (3, 32, 32),
         "efficientnet_b0": (3, 32, 32), "shufflenet_v2_x1_0": (3, 32, 32), "regnet_y_400mf": (3, 32, 32),
         "mobilenet_v2": (3, 32, 32), "densenet121": (3, 32, 32), "resnext50_32x4d": (3, 32, 32),
         "squeezenet1_1": (3, 64, 64), "inception_v3": (3, 75, 75),
         "unet": (1, 188, 188)}


@contextlib.contextmanager
def _quiet():
    """The tools print and log warnings (unsupported operators, zero-op modules): not test output."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def tool_figures(model, shape: tuple[int, ...], batch: int) -> dict[str, dict[str, int]]:
    """Each tool's own numbers for `model`, under the keys `--convention` gives them."""
    import fvcore.nn
    import ptflops
    import thop
    import torchinfo

    x = torch.zeros(batch, *shape)
    out = {}
    with _quiet():
        s = torchinfo.summary(model, input_size=(batch, *shape), verbose=0, mode="eval")
        storage = x.untyped_storage()  # torchinfo reports sys.getsizeof of the input's storage
        out["torchinfo"] = {
            "total_params": s.total_params, "trainable_params": s.trainable_params,
            "non_trainable_params": s.total_params - s.trainable_params, "total_mult_adds": s.total_mult_adds,
            "input_size_bytes": s.total_input - (sys.getsizeof(storage) - storage.nbytes()),
            "forward_backward_pass_size_bytes": s.total_output_bytes, "params_size_bytes": s.total_param_bytes}
        flops = fvcore.nn.FlopCountAnalysis(model, x)
        acts = fvcore.nn.ActivationCountAnalysis(model, x)
        out["fvcore"] = {"flops": flops.total(), "activations": acts.total()}

        def complexity(**kw):
            return ptflops.get_model_complexity_info(model, shape, as_strings=False, print_per_layer_stat=False, **kw)

        macs, params = complexity()
        no_functional, _ = complexity(backend_specific_config={"count_functional": False})
        aten, _ = complexity(backend="aten", input_constructor=lambda res: torch.zeros(batch, *res))
        out["ptflops"] = {"macs": macs, "macs_no_functional": no_functional, "macs_aten": aten, "params": params}
        ops, params = thop.profile(model, (x,), verbose=False)  # last: it leaves buffers on some modules
        out["thop"] = {"macs": ops, "params": params}
    return out


def _counted_networks() -> list[str]:
    """Every built-in network that has only kinds with a torch.nn module."""
    return [n for n in zoo.names()
            if not any(r.type in NO_MODULE or r.options.get("table") for r in load(n).analyse().layers)]


def test_networks_without_a_module_are_few():
    """The refusal must stay the exception: the classic networks are all counted."""
    assert {"alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "nin", "lenet5"} <= set(_counted_networks())


@pytest.mark.parametrize("name", _counted_networks() + ["every_counted_kind", "every_counted_kind_2",
                                                        "every_counted_kind_3"])
def test_figures_equal_the_tools_own(name):
    """All four tools on the network's torch.nn model, batch 2: every figure equal, key for key."""
    if name.startswith("every_counted_kind"):
        net = load(str(NETWORKS_DIR / f"{name}.yaml"))
    else:
        net = load(name, SMALL.get(name))
    a = net.analyse(batch=BATCH)
    tools = tool_figures(ModuleNet(net.graph, a), a.input, BATCH)
    for tool in NAMES:
        ours = convention(a, tool).to_json()["figures"]
        assert set(ours) == set(tools[tool]), tool
        assert ours == tools[tool], f"{name}, {tool} {VERSIONS[tool]}"


def test_published_figures_at_224():
    """What the tools' READMEs publish for torchvision's models at 224×224, in GMac, rounded to two
    decimals: ptflops's table (pytorch backend / aten backend) resnet18 1.83 / 1.81, resnet50
    4.13 / 4.09; thop's table resnet18 1.82 (its resnet50 row, 4.14, predates the rules of the
    pinned version, which give 4.13)."""
    def gmac(name, tool, key):
        return round(convention(load(name).analyse(), tool).figure(key) / 1e9, 2)

    assert (gmac("resnet18", "ptflops", "macs"), gmac("resnet18", "ptflops", "macs_aten")) == (1.83, 1.81)
    assert (gmac("resnet50", "ptflops", "macs"), gmac("resnet50", "ptflops", "macs_aten")) == (4.13, 4.09)
    assert gmac("resnet18", "thop", "macs") == 1.82


def test_every_kind_has_a_module_or_a_reason():
    """Fail closed: a new layer kind needs a decision for the conventions (its torch.nn module, so
    that each tool's count of it can be run, or the reason it has none)."""
    missing = sorted(k for k in [*KINDS, "concat", "add"] if k not in MODULES and k not in NO_MODULE)
    assert not missing, f"kinds without a --convention decision: {missing} (cnncalc/conventions.py MODULES)"


def test_kinds_without_a_module_are_refused_by_name():
    a = load("lenet5-1998").analyse()
    for tool in NAMES:
        with pytest.raises(CnnError, match="S2: --convention .*LeNet-5's trainable subsampling has no PyTorch module"):
            convention(a, tool)


def test_explained_formulas_evaluate_to_the_figures():
    """The substituted formula --explain prints evaluates, by cnncalc.arith, to the figure."""
    a = load("resnet18").analyse(batch=3)
    for tool in NAMES:
        for f in convention(a, tool).figures:
            assert evaluate(f.expr.text()) == f.value, (tool, f.key)


def test_hand_derived_lenet5():
    """LeNet-5 (modern variant) per sample, by hand: conv MACs 117,600 (C1: 6·28·28·25) + 240,000
    (C3: 16·10·10·150), dense 48,000 + 10,080 + 840: 416,520 MACs; biases 4,704 + 1,600 + 120 +
    84 + 10 = 6,518 (one per output unit). torchinfo: 416,520 + 6,518 = 423,038. ReLU units
    4,704 + 1,600 + 120 + 84 = 6,508, pooling inputs 4,704 + 1,600 = 6,304: ptflops
    423,038 + 2·(6,508 + 6,304) = 448,662 (count_functional counts both twice), 435,850 without."""
    a = load("lenet5").analyse()
    assert a.totals.macs == 416_520
    assert convention(a, "torchinfo").figure("total_mult_adds") == 423_038
    assert convention(a, "fvcore").figure("flops") == 416_520
    assert convention(a, "thop").figure("macs") == 416_520
    assert convention(a, "ptflops").figure("macs") == 448_662
    assert convention(a, "ptflops").figure("macs_no_functional") == 435_850


def test_json_convention_keys(runner):
    for tool, keys in {
        "torchinfo": {"total_params", "trainable_params", "non_trainable_params", "total_mult_adds",
                      "input_size_bytes", "forward_backward_pass_size_bytes", "params_size_bytes"},
        "fvcore": {"flops", "activations"},
        "ptflops": {"macs", "macs_no_functional", "macs_aten", "params"},
        "thop": {"macs", "params"},
    }.items():
        assert {r.key for r in RULES[tool]} == keys
        result = runner.invoke(main, ["summary", "lenet5", "--convention", tool, "--format", "json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["convention"]["name"] == tool
        assert set(data["convention"]["figures"]) == keys
        assert all(isinstance(v, int) for v in data["convention"]["figures"].values())


def test_batch_json_layers_add_up_to_the_totals(runner):
    """With --batch N every MACs figure of the JSON is for the batch, and the per-sample ones say so:
    LeNet-5's 416,520 MACs a sample (test_hand_derived_lenet5) are 1,666,080 at batch 4; C1 alone
    6·28·28·25 = 117,600 a sample, 470,400 for four. The CSV's rows add up to its total row too."""
    data = json.loads(runner.invoke(main, ["summary", "lenet5", "--batch", "4", "--format", "json"]).output)
    assert sum(layer["macs"] for layer in data["layers"]) == data["totals"]["macs"] == 1_666_080
    assert sum(layer["macs_per_sample"] for layer in data["layers"]) == data["totals"]["macs_per_sample"] == 416_520
    c1 = data["layers"][0]
    assert (c1["macs"], c1["macs_per_sample"], c1["connections"]) == (470_400, 117_600, 122_304)
    assert data["totals"]["activation_bytes"] == 4 * data["totals"]["activation_bytes_per_sample"]
    import csv as csv_module
    rows = list(csv_module.DictReader(io.StringIO(
        runner.invoke(main, ["summary", "lenet5", "--batch", "4", "--format", "csv"]).output)))
    assert sum(int(r["macs"]) for r in rows[:-1]) == int(rows[-1]["macs"]) == 1_666_080
