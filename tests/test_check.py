"""`cnncalc check` / `cnncalc template` and the homework package.

Expected values are hand derivations (in the comments) or LeNet-5's published numbers
(LeCun et al. 1998, as quoted in docs/design.md); the derivations the tool prints are checked by
evaluating them with cnncalc.arith, never by pasting its output back.
"""
import json
from pathlib import Path

import pytest

from cnncalc import zoo
from cnncalc.arith import evaluate
from cnncalc.cli import main
from cnncalc.errors import CnnError
from cnncalc.homework import check, parse_answers
from cnncalc.homework.derive import formula, rf_steps
from cnncalc.network import load, loads

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "examples" / "lenet5-1998-answers.yaml"
MISTAKES = ROOT / "examples" / "lenet5-1998-answers-mistakes.yaml"

# Every layer kind, with hand derivations:
KINDS_NET = """
name: kinds
input: [3, 15, 15]
layers:
  - conv: {name: c1, filters: 4, kernel: 3, stride: 2, padding: 1}
  # out ⌊(15 + 2 − 3)/2⌋ + 1 = 8; params (3·3·3 + 1)·4 = 112; connections 112·8·8 = 7,168; MACs 27·4·64 = 6,912
  - batchnorm: {name: bn}            # params 2·4 = 8, non-trainable 8
  - relu
  - conv: {name: dw, filters: 4, kernel: 3, groups: 4, dilation: 2, padding: same}
  # k' = 2·(3 − 1) + 1 = 5; out ⌈8/1⌉ = 8; params 4·(1·3·3) + 4 = 40; connections 4·8·8·(9 + 1) = 2,560; RF 3 + 4·2 = 11
  - maxpool: {name: mp, kernel: 3, stride: 2, ceil_mode: true}
  # out ⌈(8 − 3)/2⌉ + 1 = 4; connections 4·4·4·3·3 = 576; RF 11 + 2·2 = 15
  - avgpool: {name: ap, kernel: 2, stride: 1}   # out 3; connections 4·3·3·2·2 = 144; RF 15 + 1·4 = 19
  - lrn: {name: n, size: 3}
  - subsample: {name: s, kernel: 2, stride: 1}  # out 2; params 2·4 = 8; connections 4·2·2·(2·2 + 1) = 80
  - dropout
  - flatten                                     # 4·2·2 = 16
  - dense: {name: fc, units: 5}                 # params 16·5 + 5 = 85; connections 5·(16 + 1) = 85; MACs 80
  - rbf: {name: out, units: 3}                  # non-trainable 3·5 = 15; connections 15
"""
KINDS_EXPECTED = {  # layer: (output, params, non_trainable, connections, macs, rf)
    "c1": ((4, 8, 8), 112, 0, 7168, 6912, (3, 3)),
    "bn": ((4, 8, 8), 8, 8, 0, 0, (3, 3)),
    "dw": ((4, 8, 8), 40, 0, 2560, 2304, (11, 11)),
    "mp": ((4, 4, 4), 0, 0, 576, 0, (15, 15)),
    "ap": ((4, 3, 3), 0, 0, 144, 0, (19, 19)),
    "s": ((4, 2, 2), 8, 0, 80, 0, (23, 23)),
    "fc": ((5,), 85, 0, 85, 80, None),
    "out": ((3,), 0, 15, 15, 15, None),
}

KINDS_NET_2 = """
name: kinds2
input: [2, 9, 9]
layers:
  - conv: {name: c, filters: 3, kernel: [1, 3], padding: [0, 1], bias: false}
  # H ⌊(9 − 1)/1⌋ + 1 = 9, W ⌊(9 − 3 + 2·1)/1⌋ + 1 = 9; params 3·2·1·3 = 18; connections 18·81 = 1,458
  - leaky_relu
  - gelu
  - sigmoid
  - tanh
  - identity
  - pad: [1, 0, 2, 1]                 # H 9 + 1 + 0 = 10, W 9 + 2 + 1 = 12
  - crop: {sides: [0, 2, 1, 1]}       # H 10 − 0 − 2 = 8, W 12 − 1 − 1 = 10
  - shuffle: 3
  - slice: {stop: 3}                  # all 3 channels
  - adaptiveavgpool: {name: aap, size: 2}
  - globalmaxpool: {name: gmp}        # connections 3·2·2 = 12
  - flatten
  - softmax
"""

# Issue 11's kinds (MobileNet, EfficientNet, ConvNeXt), by hand:
KINDS_NET_3 = """
name: kinds3
input: [3, 6, 5]
layers:
  - dense: {name: pw, units: 4, per_position: true}
  # per position 3·4 + 4 = 16 params; connections 6·5·4·(3 + 1) = 480; MACs 6·5·3·4 = 360
  - layernorm: {name: ln}                       # params 2·4 = 8
  - prelu: {name: pc, per_channel: true}        # params 4 (one slope per channel)
  - prelu: {name: ps}                           # params 1 (one shared slope)
  - layer_scale: {name: ls}                     # params 4
  - dense: {name: pwb, units: 2, per_position: true, bias: false}
  # params 4·2 = 8; connections 6·5·2·4 = 240; MACs 6·5·4·2 = 240
  - relu6
  - hardtanh: {min: -2, max: 3}
  - hardsigmoid
  - hardswish
  - silu
  - mish
  - elu: 0.5
  - stochastic_depth: 0.1
  - flatten                                     # 2·6·5 = 60
  - layernorm: {name: lnv}                      # params 2·60 = 120
"""
KINDS_EXPECTED_3 = {  # layer: (output, params, non_trainable, connections, macs)
    "pw": ((4, 6, 5), 16, 0, 480, 360),
    "ln": ((4, 6, 5), 8, 0, 0, 0),
    "pc": ((4, 6, 5), 4, 0, 0, 0),
    "ps": ((4, 6, 5), 1, 0, 0, 0),
    "ls": ((4, 6, 5), 4, 0, 0, 0),
    "pwb": ((2, 6, 5), 8, 0, 240, 240),
    "relu6_1": ((2, 6, 5), 0, 0, 0, 0),
    "stochastic_depth1": ((2, 6, 5), 0, 0, 0, 0),
    "lnv": ((60,), 120, 0, 0, 0),
}


def test_issue_11_kinds_hand_derivations():
    a = loads(KINDS_NET_3, "kinds3.yaml").analyse()
    for name, expected in KINDS_EXPECTED_3.items():
        r = a.layer(name)
        assert (r.output, r.params, r.non_trainable, r.connections, r.macs) == expected, name
    # A per-position dense layer reads only its own position: the field stays 1×1.
    assert a.layer("pwb").rf.size == (1, 1)


# Decoders, derived by hand:
DECODER_KINDS = """
name: decoder-kinds
input: [2, 6, 5]
layers:
  - convtranspose: {name: t, filters: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}
  # H (6 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 12, W (5 − 1)·2 − 2 + 2 + 1 + 1 = 10; params 2·(4/2)·3·3 + 4 = 40;
  # MACs 6·5·2·2·9 = 1,080. Output o = 2i − 1 + t: of the 6·3 (row, tap) pairs only i = 0, t = 0 lands
  # at −1 (cropped): T_H = 17; T_W = 5·3 − 1 = 14; connections 4·(2/2)·17·14 + 4·12·10 = 1,432.
  # Even o reads input o/2, odd o reads (o ± 1)/2: fields 1 and 2 wide, the largest 2.
  - upsample: {name: u, scale: 2, mode: bilinear}
  # 24×20. Source o/2 − 1/4 is never whole; o = 0 (below 0) and the last (past n − 1) are clamped to
  # one pixel: R_H = 2·24 − 2 = 46, R_W = 2·20 − 2 = 38, connections 4·46·38 = 6,992. Each unit
  # blends t's units ⌊src⌋ (even or odd) and the next: fields 1 and 2 wide: 2 pixels.
  - upsample: {name: n, size: [12, 5]}
  # nearest, every 2nd row and every 4th column: 4·12·5 = 240 connections; field 2
"""
DECODER_EXPECTED = {
    "t": ((4, 12, 10), 40, 0, 1432, 1080, (2, 2)),
    "u": ((4, 24, 20), 0, 0, 6992, 0, (2, 2)),
    "n": ((4, 12, 5), 0, 0, 240, 0, (2, 2)),
}


def _networks():
    nets = [loads(KINDS_NET, "kinds.yaml").analyse(), loads(KINDS_NET_2, "kinds2.yaml").analyse(),
            loads(KINDS_NET_3, "kinds3.yaml").analyse(), loads(DECODER_KINDS, "decoder-kinds.yaml").analyse()]
    nets += [load(name).analyse() for name in zoo.names()]
    return nets


def _assert_formula_evaluates(r, q):
    text = formula(r, q)
    if q in ("params", "non_trainable", "connections", "macs"):
        assert evaluate(text) == getattr(r, q), (r.name, q, text)
    elif q == "output":
        if r.axes:
            parts = dict(p.split(": ", 1) if ": " in p else p.split(" = ", 1) for p in text.split("; "))
            sizes = dict(zip(("H", "W"), r.output[1:]))
            for axis, expr in parts.items():
                if axis == "C":
                    assert int(expr) == r.output[0]
                elif axis == "H, W":
                    assert evaluate(expr) == sizes["H"] == sizes["W"], (r.name, text)
                else:
                    assert evaluate(expr) == sizes[axis], (r.name, text)
        elif r.type == "flatten":
            assert evaluate(text) == r.output[0]
    elif q == "rf":
        if r.rf.is_global:
            assert "×".join(map(str, r.rf.size)) in text
        elif text.startswith("H: "):
            h, w = text[3:].split("; W: ")
            assert (evaluate(h), evaluate(w)) == tuple(r.rf.size), (r.name, text)
        else:
            assert evaluate(text) == r.rf.size[0] == r.rf.size[1], (r.name, text)


def test_every_layer_kind_is_covered():
    from cnncalc.layers import KINDS
    seen = {r.type for a in _networks() for r in a.layers}
    assert set(KINDS) - {"concat", "add"} <= seen


@pytest.mark.parametrize("analysis", _networks(), ids=lambda a: a.name)
def test_printed_arithmetic_evaluates_to_the_value(analysis, monkeypatch):
    # The nested top-down RF formula has one bracket per layer on the path: 123 in DenseNet-121,
    # beyond the 50 that arith allows in what a user types (issue 10's limit); these are printed
    # derivations, not input, so they are evaluated here without that limit.
    monkeypatch.setattr("cnncalc.arith.MAX_NESTING", 1_000)
    for r in analysis.layers:
        for q in ("output", "params", "non_trainable", "connections", "macs", "rf"):
            _assert_formula_evaluates(r, q)


def test_kinds_hand_derivations():
    a = loads(KINDS_NET, "kinds.yaml").analyse()
    for name, (out, params, nt, conn, macs, rf) in KINDS_EXPECTED.items():
        r = a.layer(name)
        assert (r.output, r.params, r.non_trainable, r.connections, r.macs) == (out, params, nt, conn, macs), name
        if rf:
            assert r.rf.size == rf and evaluate(formula(r, "rf")) == rf[0]


def test_decoder_kinds_hand_derivations():
    a = loads(DECODER_KINDS, "decoder-kinds.yaml").analyse()
    for name, (out, params, nt, conn, macs, rf) in DECODER_EXPECTED.items():
        r = a.layer(name)
        assert (r.output, r.params, r.non_trainable, r.connections, r.macs, r.rf.size) == \
            (out, params, nt, conn, macs, rf), name
    assert a.layer("t").rf.unit == (1, 1) and not a.layer("t").rf.uniform


def test_rf_steps_of_the_design_example():
    # docs/design.md: conv3 → pool2/s2 → conv3 → pool2/s2 → conv3 → conv3 → pool2/s2 gives 2, 4, 6, 12, 14, 28, 30.
    net = loads("""
name: rfx
input: [1, 64, 64]
layers:
  - conv: {filters: 1, kernel: 3}
  - maxpool: 2
  - conv: {filters: 1, kernel: 3}
  - maxpool: 2
  - conv: {filters: 1, kernel: 3}
  - conv: {filters: 1, kernel: 3}
  - maxpool: {name: last, kernel: 2}
""", "rfx.yaml").analyse()
    r = net.layer("last")
    steps = rf_steps(r).split(" → ")
    values = [int(s.split(" (")[0].split(" = ")[-1]) for s in steps]
    assert values == [2, 4, 6, 12, 14, 28, 30]
    for s in steps[1:]:
        expr, value = s.split(" (")[0].split(" = ")
        assert evaluate(expr) == int(value)
    assert evaluate(formula(r, "rf")) == 30


# -- answers parsing ----------------------------------------------------------------------

def test_values_as_students_write_them():
    claims = parse_answers("C1:\n  params: (5*5+1)*6\n  connections: 122,304\n  macs: 117_600\n"
                           "  output: 28x28x6\n  rf: [5, 5]\nS2:\n  output: [6, 14, 14]\n", "a.yaml")
    values = {(c.layer, c.quantity): c.value for c in claims}
    assert values[("C1", "params")] == 156
    assert values[("C1", "connections")] == 122304
    assert values[("C1", "macs")] == 117600
    assert values[("C1", "output")] == (28, 28, 6)
    assert values[("C1", "rf")] == (5, 5)
    assert values[("S2", "output")] == (6, 14, 14)


@pytest.mark.parametrize("text,line", [
    ("C1:\n  params: 5*5+x\n", 2),
    ("C1:\n  params: __import__('os')\n", 2),
    ("C1:\n  output: 28x28x6\n  params: 1.5\n", 3),
    ("C1:\n  paramz: 156\n", 2),
])
def test_unparsable_values_name_the_line(text, line):
    with pytest.raises(CnnError) as exc:
        parse_answers(text, "a.yaml", ["C1"])
    assert str(exc.value).startswith(f"a.yaml:{line}:")


def test_unknown_layer_suggests_a_name():
    with pytest.raises(CnnError) as exc:
        parse_answers("C1:\n  params: 156\nC33:\n  params: 1\n", "a.yaml", ["C1", "C3"])
    assert str(exc.value).startswith("a.yaml:3:1:") and "C3" in str(exc.value)


# -- verdicts -----------------------------------------------------------------------------

def _report(path):
    a = load("lenet5-1998").analyse()
    return check(a, parse_answers(path.read_text(), str(path), [r.name for r in a.layers]))


def test_correct_answers_are_all_correct():
    report = _report(CORRECT)
    assert report.all_correct and report.total == report.correct > 30


def test_mistakes_get_the_known_hints():
    report = _report(MISTAKES)
    got = {(v.layer, v.quantity): (v.ok, v.hint_key) for v in report.verdicts}
    assert got == {
        ("C1", "output"): (True, None),
        ("C1", "params"): (False, "bias_forgotten"),         # 5·5·6 = 150, not (5·5 + 1)·6 = 156
        ("C1", "connections"): (False, "connections_as_params"),  # 156 is the params
        ("S2", "output"): (False, "stride_ignored"),         # 28 − 2 + 1 = 27
        ("S2", "params"): (True, None),
        ("C3", "params"): (False, "table_as_full"),          # (5·5·6 + 1)·16 = 2,416
        ("C3", "connections"): (False, "table_as_full"),     # 2,416·10·10 = 241,600
        ("C3", "rf"): (False, "rf_stride_ignored"),          # 1 + 4 + 1 + 4 = 10
        ("S4", "output"): (False, "order"),                  # [5, 5, 16] as a (C, H, W) list
        ("S4", "rf"): (False, "rf_wrong_end"),               # 5 → 10 → 14 → 28
        ("C5", "connections"): (False, "bias_forgotten"),    # 5·5·16·120 = 48,000
        ("F6", "params"): (False, "bias_forgotten"),         # 120·84 = 10,080
        ("totals", "params"): (False, "total_with_non_trainable"),  # 60,000 + 840
        ("totals", "connections"): (True, None),             # the paper's 340,908
    }
    assert (report.correct, report.total) == (3, 14)


def test_padding_counted_once_and_params_as_connections():
    a = loads("name: p\ninput: [1, 28, 28]\nlayers:\n  - conv: {name: c, filters: 6, kernel: 5, padding: 2}\n",
              "p.yaml").analyse()
    # correct: ⌊(28 + 2·2 − 5)/1⌋ + 1 = 28; padding once: 28 + 2 − 5 + 1 = 26
    # params (5·5 + 1)·6 = 156, connections 156·28·28 = 122,304
    claims = parse_answers("c:\n  output: 26x26x6\n  params: 122,304\n  macs: 122304\n", "a.yaml", ["c"])
    keys = [v.hint_key for v in check(a, claims).verdicts]
    assert keys == ["padding_once", "params_as_connections", "macs_with_bias"]


# -- CLI ----------------------------------------------------------------------------------

def test_cli_exit_codes(runner, tmp_path):
    ok = runner.invoke(main, ["check", "lenet5-1998", str(CORRECT)])
    assert ok.exit_code == 0, ok.output
    assert "Score: 34/34" in ok.output
    wrong = runner.invoke(main, ["check", "lenet5-1998", str(MISTAKES)])
    assert wrong.exit_code == 1
    assert "✗ C3 connections: claimed 241,600; correct 151,600 = " in wrong.output
    assert "Score: 3/14" in wrong.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("C1:\n  params: 156\nC9:\n  params: 1\n")
    r = runner.invoke(main, ["check", "lenet5-1998", str(bad)])
    assert r.exit_code == 2 and f"{bad}:3:1:" in r.output and "C9" in r.output
    bad.write_text("C1:\n  params: 156\n  connections: 12 304\n")
    r = runner.invoke(main, ["check", "lenet5-1998", str(bad)])
    assert r.exit_code == 2 and f"{bad}:3:" in r.output


def test_cli_json_is_exactly_the_schema(runner):
    r = runner.invoke(main, ["check", "lenet5-1998", str(MISTAKES), "--format", "json"])
    assert r.exit_code == 1
    data = json.loads(r.output)
    assert set(data) == {"verdicts", "score"}
    assert data["score"] == {"correct": 3, "total": 14, "unanswered": 0}
    for v in data["verdicts"]:
        assert set(v) == {"layer", "quantity", "claimed", "correct", "ok", "derivation", "hint"}
        assert isinstance(v["ok"], bool) and isinstance(v["derivation"], str)
        assert v["hint"] is None or isinstance(v["hint"], str)
        if v["quantity"] in ("params", "connections", "macs", "non_trainable"):
            assert evaluate(v["derivation"]) == v["correct"]
    c3 = next(v for v in data["verdicts"] if (v["layer"], v["quantity"]) == ("C3", "connections"))
    assert (c3["claimed"], c3["correct"], c3["ok"]) == (241600, 151600, False)


def test_template_lists_every_layer_and_checks_clean(runner, tmp_path):
    r = runner.invoke(main, ["template", "lenet5-1998"])
    assert r.exit_code == 0
    a = load("lenet5-1998").analyse()
    for layer in a.layers:
        assert f"\n{layer.name}:\n  output:\n  params:\n  connections:\n  macs:\n  rf:\n" in r.output
    assert "\ntotals:\n" in r.output
    path = tmp_path / "blank.yaml"
    path.write_text(r.output)
    # Left blank it fails: 11 layers × 5 questions + 3 totals = 58 questions, none answered.
    blank = runner.invoke(main, ["check", "lenet5-1998", str(path)])
    assert blank.exit_code == 1 and "Score: 0/58 correct, 58 not answered" in blank.output
    # Two right answers, the rest still blank: still exit 1.
    filled = r.output.replace("C1:\n  output:\n  params:", "C1:\n  output: 6x28x28\n  params: 156")
    path.write_text(filled)
    partly = runner.invoke(main, ["check", "lenet5-1998", str(path)])
    assert partly.exit_code == 1 and "Score: 2/58 correct, 56 not answered" in partly.output
    # With the unasked questions deleted, the two right answers pass.
    path.write_text("C1:\n  output: 6x28x28\n  params: 156\n")
    assert runner.invoke(main, ["check", "lenet5-1998", str(path)]).exit_code == 0


@pytest.mark.parametrize("name,args", [
    ("check_lenet5-1998_mistakes.out", ["check", "lenet5-1998", str(MISTAKES)]),
    ("check_lenet5-1998_mistakes_zh.out", ["check", "lenet5-1998", str(MISTAKES), "--lang", "zh"]),
    ("explain_params_lenet5-1998.out", ["params", "lenet5-1998", "--explain"]),
])
def test_golden_reports(runner, monkeypatch, golden, name, args):
    """Rendering regressions (values are checked above; this pins the layout)."""
    monkeypatch.chdir(ROOT)
    args = [a.replace(str(ROOT) + "/", "") for a in args]
    text = runner.invoke(main, args).output
    if args[0] == "params":  # only the explain block: the table above it has its own golden test
        text = text[text.index("Worked solution"):]
    golden(name, text)


def test_answers_from_standard_input(runner):
    # The correct LeNet-5 answers (34 values, each derived by hand in the file's comments), piped.
    text = (Path(__file__).resolve().parent.parent / "examples" / "lenet5-1998-answers.yaml").read_text()
    r = runner.invoke(main, ["check", "lenet5-1998", "-", "--format", "json"], input=text)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["score"] == {"correct": 34, "total": 34, "unanswered": 0}
    r = runner.invoke(main, ["check", "lenet5-1998", "-"], input="C1:\n  params: 5*\n")
    assert r.exit_code == 2 and "<stdin>:2:11" in r.output
    r = runner.invoke(main, ["check", "-", "-"], input="")
    assert r.exit_code == 2 and "cannot both be -" in r.output
