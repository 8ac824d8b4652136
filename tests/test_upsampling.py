"""Decoders: `convtranspose` and `upsample` against PyTorch (kernels in float64 and float32, counts,
output sizes), and their receptive fields against the brute-force oracle (tests/rf_oracle.py), with
the fractions exact in every output (JSON, CSV, table, `rf --layer`, `--explain`, `check`)."""
from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.cli import main
from cnncalc.kernels.upsampling import conv_transpose2d

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")
import torch.nn.functional as F  # noqa: E402

from test_receptive_field import check_against_oracle  # noqa: E402


# -- transposed convolution -----------------------------------------------------------------------
@st.composite
def transposed_cases(draw):
    g = draw(st.sampled_from([1, 2]))
    cin = g * draw(st.integers(1, 3))
    cout = g * draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    op = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    hw = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    # padding may crop up to what leaves one output row/column
    p = tuple(draw(st.integers(0, ((n - 1) * si + di * (ki - 1) + opi) // 2))
              for n, si, di, ki, opi in zip(hw, s, d, k, op))
    return g, cin, cout, k, s, p, op, d, hw


@settings(max_examples=40, deadline=None)
@given(transposed_cases(), st.sampled_from(["float64", "float32"]), st.booleans())
def test_conv_transpose_kernel_equals_pytorch(case, dtype, bias):
    g, cin, cout, k, s, p, op, d, (h, w) = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, cin, h, w)).astype(dtype)
    wt = rng.standard_normal((cin, cout // g, *k)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if bias else None
    ours = conv_transpose2d(x, wt, b, s, p, op, d, g)
    ref = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(wt), None if b is None else torch.from_numpy(b),
                             s, p, op, g, d).numpy()
    assert ours.shape == ref.shape and ours.dtype == np.dtype(dtype)
    tol = 1e-12 if dtype == "float64" else 1e-5
    assert np.max(np.abs(ours - ref), initial=0) <= tol * max(1.0, np.max(np.abs(ref), initial=0))


@settings(max_examples=25, deadline=None)
@given(transposed_cases(), st.booleans())
def test_conv_transpose_counts_equal_pytorch(case, bias):
    """Output size and params from nn.ConvTranspose2d; MACs by the issue's definition
    H_in·W_in·C_in·C_out/g·kh·kw; connections measured: with all-ones weights and input, each
    output value is the number of (input unit, tap) edges into it, so their sum is every edge."""
    g, cin, cout, k, s, p, op, d, (h, w) = case
    text = (f"input: [{cin}, {h}, {w}]\nlayers:\n  - convtranspose: {{filters: {cout}, kernel: {list(k)}, "
            f"stride: {list(s)}, padding: {list(p)}, output_padding: {list(op)}, dilation: {list(d)}, groups: {g}, "
            f"bias: {str(bias).lower()}}}\n")
    r = cnncalc.loads(text).analyse().layers[0]
    m = torch.nn.ConvTranspose2d(cin, cout, k, s, p, op, g, bias, d)
    y = m(torch.zeros(1, cin, h, w))
    assert r.output == tuple(y.shape[1:])
    assert r.params == sum(t.numel() for t in m.parameters())
    assert r.macs == h * w * cin * (cout // g) * k[0] * k[1]
    edges = F.conv_transpose2d(torch.ones(1, cin, h, w, dtype=torch.float64),
                               torch.ones(cin, cout // g, *k, dtype=torch.float64), None, s, p, op, g, d)
    assert r.connections == int(edges.sum()) + (cout * y.shape[2] * y.shape[3] if bias else 0)


def test_unet_up_convolution_counts_by_hand():
    # U-Net's first up-convolution: 1024 → 512 maps, 2×2, stride 2, on the 28×28 bottom map.
    # Output (28 − 1)·2 + 2 = 56; params 1024·512·2·2 + 512 = 2,097,664; MACs 28·28·1024·512·4 =
    # 1,644,167,168; every tap lands (no padding): connections = MACs + 512·56·56 biases.
    r = cnncalc.loads("input: [1024, 28, 28]\nlayers:\n  - convtranspose: {filters: 512, kernel: 2, stride: 2}\n"
                      ).analyse().layers[0]
    assert (r.output, r.params, r.macs) == ((512, 56, 56), 2_097_664, 1_644_167_168)
    assert r.connections == 1_644_167_168 + 512 * 56 * 56


# -- upsampling ----------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 7), st.integers(1, 7), st.sampled_from(["nearest", "bilinear"]),
       st.sampled_from([None, False, True]), st.sampled_from(["scale", "size"]),
       st.integers(1, 4), st.integers(1, 4), st.integers(1, 15), st.integers(1, 15),
       st.sampled_from(["float64", "float32"]))
def test_upsample_equals_interpolate(h, w, mode, corners, by, fh, fw, sh, sw, dtype):
    if mode == "nearest":
        corners = None
        sh, sw = h * fh, w * fw  # nearest takes whole factors only
    opts = {"mode": mode}
    if corners is not None:
        opts["align_corners"] = corners
    opts.update({"scale": [fh, fw]} if by == "scale" else {"size": [sh, sw]})
    text = "input: [2, %d, %d]\nlayers:\n  - upsample: %s\n" % (h, w, json.dumps(opts))
    net = cnncalc.loads(text)
    layer = net.graph.nodes[0].layer
    x = np.random.default_rng(1).standard_normal((2, 2, h, w)).astype(dtype)
    ours = layer.forward(x, {})
    kw = {"scale_factor": (float(fh), float(fw))} if by == "scale" else {"size": (sh, sw)}
    ref = F.interpolate(torch.from_numpy(x), mode=mode, align_corners=corners, **kw).numpy()
    assert net.analyse().layers[0].output == ref.shape[1:] == ours.shape[1:]
    tol = 1e-12 if dtype == "float64" else 1e-5
    assert np.max(np.abs(ours - ref)) <= tol * max(1.0, np.max(np.abs(ref)))


@pytest.mark.parametrize("opts, h, w", [
    ({"scale": 2}, 3, 4),
    ({"size": [9, 4], "mode": "bilinear"}, 4, 6),
    ({"scale": [3, 2], "mode": "bilinear", "align_corners": True}, 3, 5),
    ({"size": [7, 10], "mode": "bilinear"}, 7, 3),
])
def test_upsample_connections_are_the_nonzero_weights(opts, h, w):
    """Connections measured from PyTorch's Jacobian: the (input, output) pairs with a non-zero weight
    (below 1e-12 is float rounding where the exact weight is 0), per channel, times C."""
    text = "input: [3, %d, %d]\nlayers:\n  - upsample: %s\n" % (h, w, json.dumps(opts))
    r = cnncalc.loads(text).analyse().layers[0]
    kw = {"scale_factor": tuple(float(f) for f in ([opts["scale"]] * 2 if isinstance(opts["scale"], int)
                                                   else opts["scale"]))} if "scale" in opts else {"size": opts["size"]}

    def f(x):
        return F.interpolate(x, mode=opts.get("mode", "nearest"), align_corners=opts.get("align_corners"), **kw)

    jac = torch.autograd.functional.jacobian(f, torch.zeros(1, 1, h, w, dtype=torch.float64))
    assert r.connections == 3 * int((jac.abs() > 1e-12).sum())
    assert r.params == 0 and r.macs == 0


# -- receptive fields through decoders, against the brute-force oracle ----------------------------
DECODER_RF = """
input: [1, 23, 19]
layers:
  - conv: {filters: 2, kernel: 3, padding: 1}
  - maxpool: 2
  - convtranspose: {name: t1, filters: 2, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - conv: {filters: 2, kernel: [3, 1], stride: [2, 1], dilation: 2}
  - upsample: {scale: [2, 3], mode: bilinear}
  - convtranspose: {filters: 2, kernel: [2, 4], stride: [3, 2], dilation: [2, 1], padding: [0, 2], groups: 2}
  - upsample: {size: [10, 20], mode: bilinear, align_corners: true}
  - upsample: {scale: 2}
  - conv: {filters: 1, kernel: 3, stride: 2, padding: 1}
"""

# A 1×1 stride-3 transposed convolution leaves two of every three output rows without any input
# (bias only): those units have no field at all, and a conv over them mixes the two kinds.
GAPS = """
input: [1, 12, 12]
layers:
  - conv: {filters: 1, kernel: 3}
  - convtranspose: {name: t, filters: 1, kernel: 1, stride: 3}
  - conv: {name: c, filters: 1, kernel: 2}
  - upsample: {size: [9, 54]}
"""

# Upsampling inside a residual and a concat: paths with different periods merge.
MERGED = """
input: [1, 14, 14]
layers:
  - conv: {filters: 2, kernel: 3, padding: 1}
  - residual:
      name: r
      body:
        - maxpool: 2
        - convtranspose: {filters: 2, kernel: 2, stride: 2}
      shortcut: [conv: {name: s, filters: 2, kernel: 3, padding: 1}]
  - concat:
      name: cat
      branches:
        - [maxpool: 2, {upsample: {scale: 2, mode: bilinear}}]
        - [conv: {name: b, filters: 1, kernel: 5, padding: 2}]
"""


@pytest.mark.parametrize("text", [DECODER_RF, GAPS, MERGED], ids=["decoder", "gaps", "merged"])
def test_decoder_fields_equal_the_oracle(text):
    assert check_against_oracle(cnncalc.loads(text)) > 100


def test_transposed_convolution_field_by_hand():
    # t1 (3×3, stride 2, padding 1, output_padding 1) after conv 3×3 p1 and pool 2: output o reads
    # input i = (o + 1 − t)/2 for taps t whose parity matches: even o reads one pooled unit (o/2),
    # odd o reads two ((o − 1)/2 and (o + 1)/2). A pooled unit u covers input rows 2u − 1 … 2u + 2
    # (4 rows); two neighbours cover 6. So the largest field is 6, first at unit 1; the jump is
    # the mean step 2/2 = 1; unit 0's field is rows −1 … 2: start 1/2, effective padding 1.
    r = cnncalc.loads(DECODER_RF).analyse().layer("t1")
    assert r.rf.size == (6, 6) and r.rf.unit == (1, 1) and not r.rf.uniform
    assert r.rf.jump == (1, 1) and r.rf.start == (Fraction(1, 2),) * 2 and r.rf.pad == (1, 1)


def test_gaps_have_no_field():
    a = cnncalc.loads(GAPS).analyse()
    t = a.layer("t").rf.fields[0]
    # conv1 unit u reads rows u … u + 2; t's output 3u reads conv1 unit u, 3u + 1 and 3u + 2 nothing.
    assert [t.span(o) for o in range(4)] == [(0, 2), None, None, (1, 3)]
    assert a.layer("t").rf.jump == (Fraction(1, 3),) * 2


# -- exact fractions in every output ---------------------------------------------------------------
FRACTIONAL = """
input: [1, 10, 10]
layers:
  - conv: {name: c1, filters: 1, kernel: 3}
  - upsample: {name: up, size: [20, 12], mode: bilinear, align_corners: true}
"""
# By hand: c1's field is 3 wide with jump 1 (rows u … u + 2). `up` maps 8 → 20 rows with the corners
# aligned: source o·7/19, so the mean jump is 7/19 of a c1 unit, one input row each; 8 → 12
# columns: 7/11. Rows 0 and 19 fall on a c1 unit (field 3), the others between two (field 4).


def test_fractional_jump_in_json_csv_and_table(runner):
    data = json.loads(runner.invoke(main, ["rf", "-", "--format", "json"], input=FRACTIONAL).output)
    up = {l["name"]: l for l in data["layers"]}["up"]["rf"]
    assert up["jump"] == ["7/19", "7/11"]  # exact strings, never 0.3684210526315789
    assert up["size"] == [4, 4] and up["uniform"] is False and up["largest_at_unit"] == [1, 1]
    rows = list(csv.DictReader(io.StringIO(runner.invoke(main, ["rf", "-", "--format", "csv"],
                                                         input=FRACTIONAL).output)))
    assert {r["name"]: r for r in rows}["up"]["jump"] == "7/19×7/11"
    table = runner.invoke(main, ["rf", "-"], input=FRACTIONAL, env={"COLUMNS": "120"}).output
    assert "7/19×7/11" in table and "4 (max)" in table and "0.36" not in table


def test_half_pixel_values_keep_their_json_numbers(runner):
    # A 2× nearest upsampling after a 2×2 pool: jump 2/2 = 1, start 1/2: numbers as before.
    text = "input: [1, 8, 8]\nlayers:\n  - maxpool: 2\n  - upsample: 2\n"
    data = json.loads(runner.invoke(main, ["rf", "-", "--format", "json"], input=text).output)
    up = data["layers"][1]["rf"]
    assert up["jump"] == [1, 1] and up["start"] == [0.5, 0.5] and "uniform" not in up


def test_top_down_walk_through_upsampling(runner):
    # The unit with the largest field, walked back exactly: each step's RF = last − first + 1.
    res = runner.invoke(main, ["rf", "-", "--layer", "up", "--format", "json"], input=FRACTIONAL)
    data = json.loads(res.output)
    a = cnncalc.loads(FRACTIONAL).analyse()
    rf = a.layer("up").rf
    assert data["unit"] == [u or 0 for u in rf.unit] and data["size"] == list(rf.size)
    assert data["steps"][-1]["layer"] == "c1" and data["steps"][-1]["rf"] == list(rf.size)
    for step in data["steps"]:
        for formula, value in zip(step["formula"].split(" ; "), step["rf"]):
            assert eval(formula.replace("−", "-")) == value  # noqa: S307 (digits and + − only)
    table = runner.invoke(main, ["rf", "-", "--layer", "up"], input=FRACTIONAL, env={"COLUMNS": "100"}).output
    assert "RF = last − first + 1" in table and "unit" in table


def test_explain_and_check_through_upsampling(runner, tmp_path):
    a = cnncalc.loads(FRACTIONAL).analyse()
    size = a.layer("up").rf.size
    res = runner.invoke(main, ["rf", "-", "--explain"], input=FRACTIONAL)
    assert res.exit_code == 0 and "unit " in res.output and "(c1)" in res.output
    net = tmp_path / "net.yaml"
    net.write_text(FRACTIONAL)
    answers = tmp_path / "a.yaml"
    answers.write_text(f"up:\n  rf: [{size[0]}, {size[1]}]\n")
    res = runner.invoke(main, ["check", str(net), str(answers)])
    assert res.exit_code == 0 and "✓ up receptive field" in res.output, res.output


# -- limits: sizes far beyond any network neither hang nor print a wrong field --------------------
@pytest.mark.parametrize("layer, reason", [
    ("convtranspose: {filters: 1, kernel: 2, stride: 1000000}", "stride 1,000,000 repeats"),
    ("convtranspose: {filters: 1, kernel: 3000000, stride: 2}", "kernel of 3,000,000"),
    ("upsample: {scale: 100000}", "nearest upsampling from 3 to 300,000 repeats"),
    ("upsample: {size: 70001, mode: bilinear}", "every 70,001 units"),
])
def test_periods_too_long_leave_the_field_undefined_with_the_reason(layer, reason):
    r = cnncalc.loads(f"input: [1, 3, 3]\nlayers:\n  - {layer}\n").analyse().layers[0]
    assert r.rf.undefined is not None and reason in r.rf.undefined and r.rf.size == (None, None)


def test_bilinear_beyond_the_counting_limit_is_refused():
    with pytest.raises(cnncalc.CnnError, match=r"bilinear upsampling to 2,000,000 positions .* \(at most 1,048,576"):
        cnncalc.loads("input: [1, 3, 3]\nlayers:\n  - upsample: {size: 2000000, mode: bilinear}\n").analyse()


@pytest.mark.parametrize("text", [
    "input: [8, 20, 24]\nlayers:\n  - convtranspose: {filters: 16, kernel: 3, stride: 2, padding: 1, "
    "output_padding: 1}\n",
    "input: [8, 20, 24]\nlayers:\n  - upsample: {size: [45, 50], mode: bilinear}\n",
])
def test_scratch_estimate_covers_what_the_kernel_allocates(text):
    """forward's memory guard: the estimate is at least what tracemalloc sees the kernel allocate
    beyond its output (NumPy reports its buffers to tracemalloc)."""
    import tracemalloc

    from cnncalc.forward import scratch_bytes
    net = cnncalc.loads(text)
    layer = net.graph.nodes[0].layer
    r = net.analyse().layers[0]
    x = np.ones((2, *r.input))
    weights = {n: np.ones(s) for n, s in layer.weight_shapes(r.input).items()}
    tracemalloc.start()
    y = layer.forward(x, weights)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak - y.nbytes <= scratch_bytes(layer, r.input, r.output, 8, 2)
