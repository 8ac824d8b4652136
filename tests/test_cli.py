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
    assert set(data["totals"]) == {"params", "non_trainable", "connections", "macs", "param_bytes", "activation_bytes"}
    for layer in data["layers"]:
        assert set(layer) == {"name", "type", "output", "params", "non_trainable", "connections", "macs", "rf"}
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
    result = runner.invoke(main, args)
    assert result.exit_code in (0, 1) if args[0] == "check" else result.exit_code == 0, result.output
