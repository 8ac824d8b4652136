"""The commands through click's CliRunner: formats, options, stdin, and every README command."""
import csv
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import cnncalc
from cnncalc.cli import main
from cnncalc.render.analysis_view import render_analysis

ROOT = Path(__file__).resolve().parent.parent


def run(runner, *args, input=None):
    result = runner.invoke(main, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_json_is_the_documented_schema(runner):
    data = json.loads(run(runner, "params", "lenet5-1998", "--format", "json"))
    assert set(data) == {"name", "input", "layers", "totals", "batch", "notes"}
    assert data["input"] == [1, 32, 32]
    assert set(data["totals"]) == {"params", "non_trainable", "connections", "macs", "param_bytes", "activation_bytes",
                                   "macs_per_sample", "activation_bytes_per_sample"}
    for layer in data["layers"]:
        assert set(layer) == {"name", "type", "output", "params", "non_trainable", "connections", "macs",
                              "macs_per_sample", "rf"}
        assert set(layer["rf"]) == {"size", "jump", "start", "eff_padding", "aligned", "global"}
    c3 = next(l for l in data["layers"] if l["name"] == "C3")
    assert (c3["params"], c3["connections"], c3["output"]) == (1516, 151600, [16, 10, 10])
    assert data["totals"]["params"] == 60000 and data["totals"]["connections"] == 340908


def test_batch_scales_macs_and_activations_not_params(runner):
    one = json.loads(run(runner, "summary", "lenet5-1998", "--format", "json"))["totals"]
    eight = json.loads(run(runner, "summary", "lenet5-1998", "--format", "json", "--batch", "8"))["totals"]
    assert eight["macs"] == 8 * one["macs"]
    assert eight["activation_bytes"] == 8 * one["activation_bytes"]
    assert eight["params"] == one["params"] and eight["param_bytes"] == one["param_bytes"]


def test_activation_and_param_bytes_by_hand():
    a = cnncalc.loads("input: [1, 4, 4]\nlayers:\n  - conv: {filters: 2, kernel: 3}\n  - relu").analyse(dtype="float64")
    # outputs 2·2·2 = 8 units, twice (conv, relu) → 16 values × 8 bytes; params 2·9 + 2 = 20 × 8 bytes
    assert a.totals.activation_bytes == 16 * 8
    assert a.totals.param_bytes == 20 * 8


def test_input_override(runner):
    data = json.loads(run(runner, "params", "rf-example", "--input", "1,32,32", "--format", "json"))
    assert data["input"] == [1, 32, 32]
    assert data["layers"][0]["output"] == [8, 30, 30]


def test_csv_and_markdown(runner):
    rows = list(csv.DictReader(io.StringIO(run(runner, "params", "lenet5-1998", "--format", "csv"))))
    assert rows[0] == {"name": "C1", "type": "conv", "output": "6×28×28", "params": "156", "connections": "122304"}
    md = run(runner, "rf", "rf-example", "--format", "markdown")
    assert "| pool3 | maxpool | 8×5×5 | 30 | 8 |" in md


def test_stdin(runner):
    text = "input: [1, 8, 8]\nlayers:\n  - conv: {filters: 2, kernel: 3}\n"
    data = json.loads(run(runner, "params", "-", "--format", "json", input=text))
    assert data["layers"][0]["params"] == 2 * 9 + 2


def test_rf_layer_prints_the_worked_example(runner):
    out = run(runner, "rf", "rf-example", "--layer", "pool3")
    assert "(28 − 1)·1 + 3" in out and "Receptive field of pool3: 30" in out
    data = json.loads(run(runner, "rf", "rf-example", "--layer", "pool3", "--format", "json"))
    assert [s["rf"][0] for s in data["steps"]] == [2, 4, 6, 12, 14, 28, 30]


def test_help_has_an_example_on_every_command(runner):
    for name, command in main.commands.items():
        out = run(runner, name, "--help")
        assert "Example" in out, name


def test_version_and_module_entry_point(runner):
    assert cnncalc.__version__ in run(runner, "--version")
    proc = subprocess.run([sys.executable, "-m", "cnncalc", "params", "rf-example", "--format", "json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["name"] == "rf-example"


def test_analysis_path_does_not_import_numpy():
    code = ("import sys, cnncalc; cnncalc.load('lenet5-1998').analyse(); import cnncalc.cli; "
            "print('numpy' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


def to_text(renderable: object, width: int) -> str:
    """Plain text of a renderer's output at a fixed width, as a terminal without colour shows it."""
    if isinstance(renderable, str):
        return renderable
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False, highlight=False)
    console.print(renderable)
    return console.file.getvalue()


def test_golden_params_table(golden):
    """torchinfo-style golden output: rendering only; the numbers are checked in test_engine."""
    text = to_text(render_analysis(cnncalc.load("lenet5-1998").analyse(), "params", "table"), width=100)
    golden("params_lenet5-1998.out", text)


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("cnncalc "):
                commands.append(line)
    return commands


@pytest.mark.parametrize("command", _readme_commands())
def test_every_readme_command_runs(runner, command, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    if "my_net.yaml" in args:
        net = tmp_path / "my_net.yaml"
        net.write_text("input: [1, 32, 32]\nlayers:\n  - conv: {filters: 6, kernel: 5}\n  - maxpool: 2\n")
        args = [str(net) if a == "my_net.yaml" else a for a in args]
    # `-o out.svg` (draw, report) writes into tmp_path, not into the repository.
    args = [str(tmp_path / a) if i and args[i - 1] == "-o" else a for i, a in enumerate(args)]
    result = runner.invoke(main, args)
    assert result.exit_code in (0, 1) if args[0] == "check" else result.exit_code == 0, result.output


def test_rf_has_no_batch_or_dtype(runner):
    """--batch and --dtype change nothing in a receptive field: rf does not offer them."""
    help_text = run(runner, "rf", "--help")
    assert "--batch" not in help_text and "--dtype" not in help_text
    assert runner.invoke(main, ["rf", "lenet5-1998", "--batch", "2"]).exit_code == 2
    assert "--batch" in run(runner, "summary", "--help") and "--dtype" in run(runner, "params", "--help")


def test_list_json_gives_the_input_as_params_does(runner):
    listed = {n["name"]: n for n in json.loads(run(runner, "list", "--format", "json"))}
    assert listed["lenet5-1998"]["input"] == [1, 32, 32] and listed["resnet18"]["input"] == [3, 224, 224]
    assert listed["lenet5-1998"]["params"] == 60000
    params = json.loads(run(runner, "params", "resnet18", "--format", "json"))
    assert listed["resnet18"]["input"] == params["input"]
    assert "1×32×32" in run(runner, "list", "--format", "csv")


def test_csv_ends_with_a_total_row(runner):
    # LeNet-5 (1998): 60,000 trainable parameters, 340,908 connections (LeCun et al.), 840 fixed
    # RBF prototypes; MACs 117,600 + 150,000 + 48,000 + 10,080 + 840 = 326,520 per sample.
    rows = list(csv.DictReader(io.StringIO(run(runner, "params", "lenet5-1998", "--format", "csv"))))
    assert rows[-1] == {"name": "total", "type": "", "output": "", "params": "60000", "connections": "340908"}
    assert len(rows) == 12  # 11 layers, then the total
    rows = list(csv.DictReader(io.StringIO(run(runner, "summary", "lenet5-1998", "--format", "csv", "--batch",
                                               "2"))))
    assert rows[-1] == {"name": "total", "type": "", "output": "", "params": "60000", "non_trainable": "840",
                        "connections": "340908", "macs": str(2 * 326520), "rf": "", "jump": ""}
    with_explain = run(runner, "params", "lenet5-1998", "--format", "csv", "--explain")
    assert with_explain.splitlines()[-1] == "total,,,60000,340908" + ",,,,"
    # The rf view has no counts: no total row.
    assert run(runner, "rf", "lenet5-1998", "--format", "csv").splitlines()[-1].startswith("OUTPUT,")


def test_json_has_one_layer_a_line_batch_and_notes(runner):
    text = run(runner, "summary", "rf-example", "--format", "json", "--batch", "3")
    data = json.loads(text)
    lines = text.splitlines()
    for layer in data["layers"]:
        assert sum(line.strip().rstrip(",") == json.dumps(layer, ensure_ascii=False) for line in lines) == 1
    assert data["batch"] == 3 and data["input"] == [1, 64, 64]
    # docs/design.md's example: pool2 (2×2, stride 2) on 29 rows leaves the last row unread.
    assert data["notes"] == ["pool2: H, W: 29 + 0 − 2 = 27 is not a multiple of stride 2: the last 1 input "
                             "rows/columns are never covered"]


SHARED_NOTE = """\
input: [1, 8, 8]
layers:
  - concat:
      branches:
        a: [maxpool: {kernel: 2, stride: 3}]
        b: [maxpool: {kernel: 2, stride: 3}]
        c: [maxpool: {kernel: 2, stride: 3}]
        d: [maxpool: {kernel: 2, stride: 3}]
        e: [maxpool: {kernel: 2, stride: 3}]
"""


def test_a_note_shared_by_layers_is_said_once(runner):
    # Kernel 2 at stride 3 over 8 rows reads rows 0-1, 3-4, 6-7: rows 2 and 5 are skipped, in all
    # five branches, so no other path reads them and each branch has the note.
    a = cnncalc.loads(SHARED_NOTE).analyse()
    assert sum(bool(r.notes) for r in a.layers) == 5
    out = run(runner, "summary", "-", input=SHARED_NOTE)
    notes = [line for line in out.splitlines() if line.startswith("note:")]
    assert notes == ["note: concat1.a.pool1, concat1.b.pool1, concat1.c.pool1 (and 2 more layers): H, W: kernel 2 "
                     "< stride 3: 1 of every 3 input rows/columns are skipped"]
    zh = run(runner, "summary", "-", "--lang", "zh", input=SHARED_NOTE)
    assert "（另有 2 层）" in zh
    # GoogLeNet's three ceil_mode pools: one line naming the three.
    out = run(runner, "summary", "googlenet")
    assert [line for line in out.splitlines() if line.startswith("note:")] == [
        "note: maxpool1, maxpool2, maxpool3: H, W: ceil_mode adds a last window that overhangs the input by 1"]


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "vgg16"])
def test_resnet_and_vgg_summaries_have_no_notes(runner, name):
    """Their projection shortcuts skip rows another path reads, and 224 divides evenly: nothing to say."""
    assert "note:" not in run(runner, "summary", name)
