"""What cnncalc reads is bounded where it is read (issue 10): FILE and ANSWERS (type, size, name),
their characters, YAML nesting, whole numbers, arithmetic, block chains, repeat's options.

Each expectation is written by hand: the limits are the documented ones (docs/format.md § Bad input
and limits), positions are counted in the text beside them. Commands that would hang or take all
memory without their limit run in a subprocess with a time and memory cap, so a broken limit fails
the test instead of the machine."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cnncalc import yaml_source
from cnncalc.arith import ArithError, evaluate
from cnncalc.cli import main
from cnncalc.errors import CnnError
from cnncalc.network import loads

NET = "input: [1, 8, 8]\nlayers:\n  - relu\n"
ANSWERS = "C1: {params: 156}\n"  # LeNet-5's C1: (5·5·1 + 1)·6 = 156


def one_error(result) -> str:
    """The contract: exit 2, nothing on stdout, one `error:` line under 300 characters."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and len(lines[0]) < 300, lines[0]
    return lines[0]


def refused(text: str) -> str:
    with pytest.raises(CnnError) as caught:
        loads(text, "net.yaml").analyse()
    return str(caught.value)


def run_capped(*args: str, stdin=None) -> subprocess.CompletedProcess:
    """`cnncalc ARGS` in a child with 20 s and 1 GiB: without the limit under test it would wait
    forever (a FIFO) or read /dev/zero until the memory is gone."""
    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], stdin=stdin, capture_output=True, text=True,
                          timeout=20, preexec_fn=cap_memory)


# -- 1. whole numbers: Python's int() refuses 4,300 digits; cnncalc holds them to 2^63 − 1 --------
def test_yaml_whole_numbers_stop_at_2_63():
    kernel = "input: [1, 8, 8]\nlayers:\n  - conv: {{filters: 2, kernel: {}}}\n"  # value at column 32
    assert "3:32: the number 9223372036854775808 is too large" in refused(kernel.format(2**63))
    assert "too large" in refused(kernel.format("-" + "9" * 5000))
    assert "too large" in refused(kernel.format("0x" + "f" * 200))  # hex has no digit limit, the bound holds
    # 2^63 − 1 itself is read; it is then an impossible kernel, not a number too large to read
    largest = refused(kernel.format(2**63 - 1))
    assert "too large" not in largest and "kernel 9223372036854775807 is larger than the input" in largest


def test_arithmetic_numbers_stop_at_2_63():
    assert evaluate(str(2**63 - 1)) == 2**63 - 1
    for text, why in (("9" * 5000, "too large"), (str(2**63), "too large"), (f"{2**62} * 2", "grows past"),
                      ("1" + "/3" * 40, "grows past")):  # 3^40 ≈ 1.2·10^19 as a denominator
        with pytest.raises(ArithError, match=why):
            evaluate(text)


# -- 2. arithmetic depth ----------------------------------------------------------------------
def test_arithmetic_brackets_nest_at_most_50_deep():
    assert evaluate("(" * 50 + "7" + ")" * 50) == 7
    assert evaluate("⌊" * 25 + "7/2" + "⌋" * 25) == 3
    for deep in ("(" * 51 + "7" + ")" * 51, "(" * 300 + "7" + ")" * 300, "max(" * 60 + "1" + ", 2)" * 60):
        with pytest.raises(ArithError, match="nests brackets more than 50 deep") as caught:
            evaluate(deep)
        assert len(str(caught.value)) < 200


def test_any_number_of_signs_is_read_without_recursion():
    assert evaluate("-" * 1000 + "5") == 5  # an even number of minus signs
    assert evaluate("−" * 1001 + "5") == -5
    assert evaluate("2 - -+-3") == -1  # 2 − (−(+(−3))) = 2 − 3


# -- 3. the builder's nesting -------------------------------------------------------------------
def chain(blocks: int) -> str:
    """b0 calls b1 … the last calls relu."""
    lines = ["input: [1, 8, 8]", "blocks:"]
    for i in range(blocks):
        lines += [f"  b{i}:", "    layers:", f"      - b{i + 1}" if i < blocks - 1 else "      - relu"]
    return "\n".join(lines + ["layers:", "  - b0"]) + "\n"


def test_blocks_chain_at_most_23_deep():
    # the top-level list is level 1 and each block's body one more: 24 levels hold 23 blocks, each
    # call named after its block and numbered (b0 → b01)
    assert [n.layer.name for n in loads(chain(23)).graph.nodes] == [".".join(f"b{i}1" for i in range(23)) + ".relu1"]
    message = refused(chain(24))
    assert "24 blocks call each other (b0 → b1 → b2 → … → b22 → b23)" in message


def test_residuals_inside_each_other_are_bounded_too():
    nested = "input: [1, 8, 8]\nlayers:\n  - " + "residual: {body: [" * 30 + "relu" + "]}" * 30 + "\n"
    assert "residuals, concats and repeats sit inside each other" in refused(nested)


def test_yaml_nesting_through_aliases_is_bounded():
    # as written: the root mapping, then 60 lists (d) or 45 lists and an alias (e), all within 100;
    # expanded, e holds d inside its 45 lists: 1 + 45 + 60 = 106 levels
    deep = "input: [1, 8, 8]\nd: &d " + "[" * 60 + "1" + "]" * 60 + "\ne: {}\n"
    message = refused(deep.format("[" * 45 + "*d" + "]" * 45))
    assert "through its YAML aliases this nests more than 100 levels" in message
    # 1 + 35 + 60 = 96 levels: read, and refused only for the unknown keys
    assert "unknown key 'd'" in refused(deep.format("[" * 35 + "*d" + "]" * 35))


# -- 4. control characters, wherever the text comes from ---------------------------------------
@pytest.mark.parametrize("char,code", [("\x00", "U+0000"), ("\x1b", "U+001B"), ("\x7f", "U+007F")])
def test_control_characters_are_located_in_file_stdin_and_answers(runner, tmp_path, char, code):
    text = NET.replace("relu", "relu" + char)  # line 3, after `  - relu`: column 9
    message = one_error(runner.invoke(main, ["params", "-"], input=text))
    assert message.startswith(f"error: <stdin>:3:9: character {code} is a control character")
    answers = tmp_path / "answers.yaml"
    answers.write_text("C1:\n  params: 15" + char + "6\n")  # line 2, after `  params: 15`: column 13
    message = one_error(runner.invoke(main, ["check", "lenet5-1998", str(answers)]))
    assert f"answers.yaml:2:13: character {code}" in message
    message = one_error(runner.invoke(main, ["check", "lenet5-1998", "-"], input="C1: {params: 1" + char + "}\n"))
    assert message.startswith(f"error: <stdin>:1:15: character {code}")


def test_bad_utf8_on_standard_input_is_located(runner):
    message = one_error(runner.invoke(main, ["params", "-"], input=b"input: [1, 8, 8]\nlayers:\n  - r\xe9lu\n"))
    assert message.startswith("error: <stdin>:3:6: the text is not UTF-8 (byte 0xe9)")


# -- 5. repeat's block, args and first ---------------------------------------------------------
REPEAT = """input: [1, 8, 8]
blocks:
  unit:
    args: {{stride: 1}}
    layers:
      - conv: {{filters: 2, kernel: 1, stride: $stride}}
layers:
  - repeat: {{times: 2, {}}}
"""


@pytest.mark.parametrize("options,where,fragment", [
    # `  - repeat: {times: 2, ` is 23 characters: `block: ` ends at 30, `block: unit, args: ` at 42
    ("block: [unit]", "8:31", "`block` is the name of a block, got ['unit']"),
    ("block: unit, args: [1]", "8:43", "`args` maps the block's argument names to values (`args: {planes: 64}`)"),
    ("block: unit, args: [1]", "8:43", "got [1]"),
    ("block: unit, first: 3", "8:44", "`first` maps the block's argument names to values (`first: {stride: 2}`)"),
    ("block: unit, first: 3", "8:44", "got 3"),
    ("block: unit, first: ''", "8:44", "got ''"),
])
def test_repeat_block_args_and_first_are_checked(options, where, fragment):
    message = refused(REPEAT.format(options))
    assert message.startswith(f"net.yaml:{where}: repeat's ") and fragment in message, message


def test_repeat_first_applies_to_the_first_pass_only():
    graph = loads(REPEAT.format("block: unit, first: {stride: 2}")).graph
    assert [n.layer.stride for n in graph.nodes] == [(2, 2), (1, 1)]


# -- 6 and 11. FILE and ANSWERS: their names, types and sizes ----------------------------------
def test_a_file_name_too_long_for_the_system(runner):
    name = "n" * 300 + ".yaml"
    for args in (["params", name], ["check", "lenet5-1998", name]):
        message = one_error(runner.invoke(main, args))
        assert "the file name is too long (305 characters in its longest part" in message
        assert "255 per part" in message and message.startswith("error: " + "n" * 40 + "…: ")


def test_a_directory_is_not_no_such_file(runner, tmp_path):
    message = one_error(runner.invoke(main, ["params", str(tmp_path)]))
    assert message == f"error: {tmp_path}: this is a directory, not a file; give the path of a YAML file"


def test_a_folder_named_like_a_built_in_still_gives_the_built_in(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lenet5-1998").mkdir()
    result = runner.invoke(main, ["params", "lenet5-1998"])
    assert result.exit_code == 0 and "60,000" in result.stdout  # LeNet-5's published params


def test_built_in_names_cannot_leave_the_package(runner):
    message = one_error(runner.invoke(main, ["params", "../architectures/lenet5"]))
    assert "no such file or built-in architecture" in message


@pytest.mark.parametrize("args", [["params", "/dev/zero"], ["check", "lenet5-1998", "/dev/zero"]])
def test_a_device_is_refused_before_it_is_read(args):
    done = run_capped(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: /dev/zero: this is not a regular file (a pipe, device or socket); save the " \
                          "text to a file, or pipe it in as `-`\n"


@pytest.mark.parametrize("command", [["params"], ["check", "lenet5-1998"]])
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path, command):
    fifo = tmp_path / "net.yaml"
    os.mkfifo(fifo)
    done = run_capped(*command, str(fifo))
    assert done.returncode == 2 and "this is not a regular file" in done.stderr


def test_standard_input_is_read_up_to_256_kib(runner):
    too_much = NET + "#" * (256 * 1024)  # NET's 34 bytes and a 262,144-character comment
    message = one_error(runner.invoke(main, ["params", "-"], input=too_much))
    assert message == "error: <stdin>: this is more than 262,144 bytes, more than cnncalc reads"
    message = one_error(runner.invoke(main, ["check", "lenet5-1998", "-"], input=too_much))
    assert message == "error: <stdin>: this is more than 262,144 bytes, more than cnncalc reads"


def test_an_endless_pipe_ends(tmp_path):
    with open("/dev/zero", "rb") as zero:
        done = run_capped("params", "-", stdin=zero)
    assert done.returncode == 2 and "more than 262,144 bytes" in done.stderr


def test_a_file_of_256_kib_is_read_and_one_byte_more_is_not(runner, tmp_path):
    at_cap = tmp_path / "at.yaml"
    at_cap.write_text(NET + "#" * (256 * 1024 - len(NET) - 1) + "\n")
    assert at_cap.stat().st_size == 262_144
    assert runner.invoke(main, ["params", str(at_cap)]).exit_code == 0
    over = tmp_path / "over.yaml"
    over.write_text(NET + "#" * (256 * 1024 - len(NET)) + "\n")
    message = one_error(runner.invoke(main, ["params", str(over)]))
    assert message == f"error: {over}: this is 262,145 bytes, more than cnncalc reads (262,144 bytes)"
    message = one_error(runner.invoke(main, ["check", "lenet5-1998", str(over)]))
    assert message == f"error: {over}: this is 262,145 bytes, more than cnncalc reads (262,144 bytes)"


def test_answers_are_read_through_the_same_reader(runner, tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text(ANSWERS)
    for source, stdin in ((str(answers), None), ("-", ANSWERS)):
        result = runner.invoke(main, ["check", "lenet5-1998", source, "--format", "json"], input=stdin)
        assert result.exit_code != 2 and "156" in result.stdout, result.output


# -- 14. the parser ------------------------------------------------------------------------------
def test_libyaml_parses_wherever_pyyaml_has_it():
    assert (yaml_source._Loader is not yaml_source._PureLoader) == yaml.__with_libyaml__


def positions(value, out: list) -> list:
    """Every value with the position it was read at, in document order."""
    if isinstance(value, yaml_source.MarkedDict):
        for key in value:
            out.append((key, value.key_where[key], value.value_where[key]))
            positions(value[key], out)
    elif isinstance(value, yaml_source.MarkedList):
        out.extend(zip(value, value.item_where))
        for item in value:
            positions(item, out)
    return out


ARCHITECTURES = Path(__file__).parent.parent / "architectures"


@pytest.mark.parametrize("name", [p.name for p in sorted(ARCHITECTURES.glob("*.yaml"))])
def test_both_parsers_give_the_same_values_at_the_same_positions(monkeypatch, name):
    text = (ARCHITECTURES / name).read_text(encoding="utf-8")
    fast = yaml_source.load_yaml_text(text, name)
    monkeypatch.setattr(yaml_source, "_Loader", yaml_source._PureLoader)
    pure = yaml_source.load_yaml_text(text, name)
    assert fast == pure and positions(fast, []) == positions(pure, [])


# -- 15. what a message repeats is cut ---------------------------------------------------------
@pytest.mark.parametrize("text,fragment", [
    # (YAML allows a plain key of at most 1,024 characters)
    ("input: [1, 8, 8]\n" + "x" * 1000 + ": 1\nlayers: [relu]\n", "unknown key '" + "x" * 40 + "…'"),
    ("input: [1, 8, 8]\nlayers:\n  - relu: {name: " + "n" * 10_000 + "}\n",
     "name '" + "n" * 40 + "…' has 10,000 characters; a name has at most 64"),
    ("input: [1, 8, 8]\nlayers:\n  - " + "k" * 10_000 + "\n", "unknown layer kind '" + "k" * 40 + "…'"),
    ("input: [1, 8, 8]\nlayers:\n  - conv: {filters: 2, kernel: [" + "3, " * 5000 + "3]}\n", "got [3, 3, 3"),
    ("input: " + "[" * 50 + "]" * 50 + "\nlayers: [relu]\n", "got [[[[["),
])
def test_echoed_values_are_cut(text, fragment):
    message = refused(text)
    assert fragment in message and len(message) < 290, message


def test_arithmetic_messages_cut_the_expression():
    with pytest.raises(ArithError) as caught:
        evaluate("1 + " * 5000 + "x")
    assert len(str(caught.value)) < 200 and "'1 + 1 + 1" in str(caught.value)


# -- the documented limits on layers and names ---------------------------------------------------
def test_a_repeat_of_one_layer_stops_at_100_000():
    # one layer per pass: 100,000 passes are 100,000 layers (and 2·100,000 + 1 names)
    repeat = "input: [1, 8, 8]\nlayers:\n  - repeat: {{times: {}, layers: [relu]}}\n"
    assert len(loads(repeat.format(100_000)).graph.nodes) == 100_000
    message = refused(repeat.format(100_001))
    assert "repeat `times: 100,001` would build more than 100,000 layers" in message, message


# Ten records a pass, counted by hand: the residual's body relu, its add and its projection's conv
# and batch norm (4); the concat's two branch relus and the concat (3); the conv (1); the gate's
# sigmoid and its multiply (2).
TEN_A_PASS = """input: [2, 4, 4]
layers:
  - repeat:
      name: stage
      times: {}
      layers:
        - residual: {{body: [relu], shortcut: projection}}
        - concat: {{branches: [[relu], [relu]]}}
        - conv: {{filters: 2, kernel: 1}}
        - gate: {{layers: [sigmoid]}}
"""


def test_every_layer_and_merge_counts_towards_the_limit():
    assert len(loads(TEN_A_PASS.format(3)).analyse().layers) == 30  # the hand count above
    assert len(loads(TEN_A_PASS.format(10_000)).graph.nodes) == 4 * 10_000  # 100,000 records: allowed
    message = refused(TEN_A_PASS.format(10_001))
    # the 100,001st is the first layer of pass 10,000 (passes count from 0): its residual's body relu
    assert "stage.10000.relu1" in message and "grows past 100,000 layers (every layer and merge counts)" in message, \
        message


def test_names_without_layers_are_bounded_too():
    # passes of empty repeats take names and make no layer: 1 + 1,000·(1 + 1 + 1,000) names would follow
    nested = "input: [1, 8, 8]\nlayers:\n  - repeat: {times: 1000, layers: [{repeat: {times: 1000, layers: []}}]}\n"
    message = refused(nested)
    assert "grows past 400,000 names" in message and "`times`" in message, message
