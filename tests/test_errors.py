"""Bad input: one message with file:line:col, the layer, what is wrong and what is right; exit 2."""
import pytest

from cnncalc.cli import main

CASES = [
    # (yaml, expected fragments of the message)
    ("input: [1, 8, 8]\nlayers:\n  - conv: {filters: 2, kernal: 3}\n",
     ["net.yaml:3:24", "no option 'kernal'", "did you mean 'kernel'"]),
    ("input: [1, 8, 8]\nlayers:\n  - convv: {filters: 2, kernel: 3}\n",
     ["net.yaml:3:5", "unknown layer kind 'convv'", "did you mean 'conv'"]),
    ("input: [1, 4, 4]\nlayers:\n  - conv: {name: C3, filters: 2, kernel: 5}\n",
     ["net.yaml:3:5", "C3:", "kernel 5 is larger than the input height 4", "padding ≥ 1"]),
    ("input: [1, 8, 8]\nlayers:\n  - conv: {filters: 2, kernel: 3, stride: 0}\n",
     ["net.yaml:3:43", "conv1", "stride must be a whole number ≥ 1", "got 0"]),
    ("input: [1, 8, 8]\nlayer:\n  - relu\n", ["net.yaml:2:1", "unknown key 'layer'", "did you mean 'layers'"]),
    ("input: [1, 8, 8]\nlayers:\n  - conv:\n    filters: 2\n",
     ["net.yaml:3:5", "indent the options"]),
    ("input: [1, 8, 8]\nlayers:\n  - dense: 10\n", ["fc1", "add `- flatten` before it"]),
    # the `{` never closed is named where it opens (line 3, column 11), not at the end of the file
    ("input: [1, 8, 8]\nlayers:\n  - conv: {filters: 2, kernel: 3\n", ["net.yaml:3:11", "not valid YAML"]),
    ("input: [3, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 3, groups: 2}\n",
     ["conv1", "3 input maps cannot be split into groups 2"]),
    ("input: [1, 8, 8]\nlayers:\n  - residual:\n      body: [conv: {filters: 4, kernel: 3}]\n",
     ["add1", "same shape", "shortcut: projection"]),
    ("input: [1, 8, 8]\nlayers:\n  - relu: {name: a}\n  - relu: {name: a}\n", ["net.yaml:4", "'a' is used twice"]),
    ("input: [1, 8, 8]\nlayers:\n  - maxpool: {kernel: 2, padding: 2}\n", ["more than half the kernel"]),
    ("input: [1, 8, 8]\nlayers:\n  - conv: {filters: 2, kernel: 3}\n  - conv: {filters: 2, kernel: 3, kernel: 1}\n",
     ["net.yaml:4:35", "appears twice"]),
    ("input: [1, 8, 8]\nblocks:\n  b:\n    args: {n: null}\n    layers: [conv: {filters: $m, kernel: 1}]\n"
     "layers:\n  - b: {n: 2}\n", ["unknown argument '$m'", "expected one of: n"]),
    ("input: [1, 8, 8]\nlayers:\n  - conv: {filters: 2, kernel: 3, table: [[0], [1]]}\n",
     ["conv1", "reads input map 1, but there are only 1"]),
    ("!!python/object/apply:os.system ['echo hacked']\n", ["not valid YAML"]),
]


@pytest.mark.parametrize("text,fragments", CASES)
def test_bad_input_exits_2_with_a_located_message(tmp_path, runner, text, fragments):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    result = runner.invoke(main, ["params", str(path)])
    assert result.exit_code == 2, result.output
    message = result.output
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_missing_file_names_builtins(runner):
    result = runner.invoke(main, ["params", "lenet6"])
    assert result.exit_code == 2
    assert "lenet6" in result.output and "lenet5" in result.output


def test_bad_input_option(runner):
    result = runner.invoke(main, ["params", "lenet5-1998", "--input", "1,32"])
    assert result.exit_code == 2 and "--input must be C,H,W" in result.output


def test_unknown_rf_layer(runner):
    result = runner.invoke(main, ["rf", "rf-example", "--layer", "pool9"])
    assert result.exit_code == 2 and "did you mean 'pool3'" in result.output


def test_exit_codes_are_decided_in_one_place(runner, tmp_path, monkeypatch):
    # The documented contract (README, docs/forward.md, `check --help`): 0 fine, 1 a check failed,
    # 2 bad input.
    import pathlib
    import re

    from cnncalc.errors import ExitCode
    assert (ExitCode.OK, ExitCode.CHECK_FAILED, ExitCode.BAD_INPUT) == (0, 1, 2)
    assert runner.invoke(main, ["params", "lenet5"]).exit_code == ExitCode.OK
    assert runner.invoke(main, ["params", "lenet6"]).exit_code == ExitCode.BAD_INPUT
    root = pathlib.Path(__file__).resolve().parents[1]
    answers = root / "examples" / "lenet5-1998-answers-mistakes.yaml"
    assert runner.invoke(main, ["check", "lenet5-1998", str(answers)]).exit_code == ExitCode.CHECK_FAILED
    from cnncalc.layers.activation import ReLU
    monkeypatch.setattr(ReLU, "forward", lambda self, x, w, in_place=False: x[:, :1])
    assert runner.invoke(main, ["forward", "lenet5"]).exit_code == ExitCode.CHECK_FAILED
    # No command picks a number of its own: every exit in the CLI names an ExitCode member.
    for path in (root / "cnncalc" / "cli").glob("*.py"):
        for call in re.findall(r"\b(?:sys|ctx)\.exit\(([^)]*)\)", path.read_text(encoding="utf-8")):
            assert "ExitCode." in call, f"{path.name}: exit({call}) does not use errors.ExitCode"
