"""Property tests (hypothesis): on random small architectures, the engine's shapes and params equal
the NumPy forward pass's arrays and PyTorch's output shapes; on random single layers, the engine
rejects exactly what PyTorch rejects."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.forward import run_forward

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")
F = torch.nn.functional

from torch_reference import TorchNet  # noqa: E402

torch.set_num_threads(1)
SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))


def _padding(draw, k):
    return draw(st.sampled_from([0, 1, "same", "[0, 1, 1, 0]", f"{k // 2}"]))


@st.composite
def conv_entry(draw, channels):
    k = draw(st.integers(1, 3))
    g = draw(st.sampled_from([d for d in (1, 2, channels) if channels % d == 0]))
    filters = g * draw(st.integers(1, 3))
    opts = dict(filters=filters, kernel=k, stride=draw(st.integers(1, 2)), padding=_padding(draw, k),
                dilation=draw(st.integers(1, 2)), groups=g, bias=str(draw(st.booleans())).lower())
    return "- conv: {" + ", ".join(f"{a}: {b}" for a, b in opts.items()) + "}", filters


@st.composite
def architecture(draw):
    c = draw(st.integers(1, 4))
    h, w = draw(st.integers(5, 12)), draw(st.integers(5, 12))
    lines, channels = [], c
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "conv", "pool", "bn", "act", "residual", "concat", "pw"]))
        if kind == "conv":
            line, channels = draw(conv_entry(channels))
            lines.append(line)
        elif kind == "pool":
            k = draw(st.integers(1, 3))
            pool = draw(st.sampled_from(["maxpool", "avgpool"]))
            lines.append(f"- {pool}: {{kernel: {k}, stride: {draw(st.integers(1, 2))}, "
                         f"padding: {draw(st.integers(0, k // 2))}, ceil_mode: {str(draw(st.booleans())).lower()}}}")
        elif kind == "bn":
            lines.append("- batchnorm")
        elif kind == "act":
            lines.append("- " + draw(st.sampled_from([
                "relu", "sigmoid", "tanh", "dropout", "{leaky_relu: 0.2}",
                # issue 11's kinds
                "relu6", "hardswish", "hardsigmoid", "silu", "mish", "{elu: 0.5}", "{hardtanh: {min: -0.5, max: 2}}",
                "prelu", "{prelu: {per_channel: true}}", "layer_scale", "{layernorm: {eps: 0.01}}",
                "{stochastic_depth: 0.1}"])))
        elif kind == "pw":  # ConvNeXt's Linear at every position
            channels = draw(st.integers(1, 4))
            bias = str(draw(st.booleans())).lower()
            lines.append(f"- dense: {{units: {channels}, per_position: true, bias: {bias}}}")
        elif kind == "residual":
            s = draw(st.integers(1, 2))
            short = "projection" if s > 1 or draw(st.booleans()) else "identity"
            out = channels if short == "identity" else draw(st.integers(1, 4))
            lines.append(f"- residual: {{body: [{{conv: {{filters: {out}, kernel: 3, stride: {s}, padding: 1}}}}, "
                         f"batchnorm, relu], shortcut: {short}}}")
            channels = out
        else:
            a, b = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            lines.append(f"- concat: {{branches: [[{{conv: {{filters: {a}, kernel: 1}}}}], "
                         f"[{{conv: {{filters: {b}, kernel: 3, padding: same}}}}, relu], "
                         f"[{{maxpool: {{kernel: 3, stride: 1, padding: 1}}}}]]}}")
            channels = a + b + channels
    if draw(st.booleans()):
        lines += ["- flatten", f"- dense: {draw(st.integers(1, 5))}"]
    return f"input: [{c}, {h}, {w}]\nlayers:\n" + "\n".join("  " + x for x in lines) + "\n"


@SETTINGS
@given(architecture(), st.integers(1, 2))
def test_engine_equals_numpy_and_pytorch(text, batch):
    try:
        net = cnncalc.loads(text)
        net.analyse()
    except cnncalc.CnnError:
        assume(False)
    result = run_forward(net.graph, batch=batch, dtype="float64", seed=0)
    for r in result.records:
        assert r.shape == r.expected_shape, (text, r)
        assert r.params == r.expected_params, (text, r)
    assert result.output.shape == (batch, *result.analysis.layers[-1].output)
    model = TorchNet(net.graph, result.weights)
    assert sum(p.numel() for p in model.parameters()) == result.analysis.totals.params
    x = np.random.default_rng(0).standard_normal((batch, *net.graph.input_shape))
    ours = run_forward(net.graph, x, result.weights, dtype="float64").output
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert ref.shape == ours.shape, text
    assert np.max(np.abs(ref - ours)) <= 1e-8 * max(1.0, np.max(np.abs(ref))), text


@SETTINGS
@given(kind=st.sampled_from(["conv", "maxpool", "avgpool"]), c=st.integers(1, 4), h=st.integers(1, 8),
       w=st.integers(1, 8), k=st.integers(1, 7), s=st.integers(1, 3), p=st.integers(0, 4), d=st.integers(1, 3),
       g=st.integers(1, 4), ceil=st.booleans())
def test_engine_rejects_what_pytorch_rejects(kind, c, h, w, k, s, p, d, g, ceil):
    x = torch.zeros(1, c, h, w, dtype=torch.float64)
    if kind == "conv":
        text = f"{{filters: {g * 2}, kernel: {k}, stride: {s}, padding: {p}, dilation: {d}, groups: {g}}}"
    else:
        text = f"{{kernel: {k}, stride: {s}, padding: {p}, ceil_mode: {str(ceil).lower()}}}"
    yaml = f"input: [{c}, {h}, {w}]\nlayers:\n  - {kind}: {text}\n"
    try:
        if kind == "conv":
            ref = F.conv2d(x, torch.zeros(g * 2, c // g if c >= g else 1, k, k, dtype=torch.float64),
                           stride=s, padding=p, dilation=d, groups=g)
        elif kind == "maxpool":
            ref = F.max_pool2d(x, k, s, p, ceil_mode=ceil)
        else:
            ref = F.avg_pool2d(x, k, s, p, ceil_mode=ceil)
        torch_ok = ref.numel() > 0
    except RuntimeError:
        torch_ok = False
    try:
        a = cnncalc.loads(yaml).analyse()
        engine_ok = True
    except cnncalc.CnnError:
        engine_ok = False
    assert engine_ok == torch_ok, yaml
    if engine_ok:
        assert a.layers[0].output == tuple(ref.shape[1:])
