"""Bad answers files and blank submissions (issue 10, homework part).

The corpus in tests/bad_answers/ is checked against lenet5-1998: each file must end with exit code 2,
nothing on standard output, and one `error: FILE:LINE:COL: …` line per unreadable answer, in file
order. The positions and fragments below are written by hand from the files (`  params: ` is 10
characters, so its value starts at column 11; `  connections: ` 15, column 16; `  macs: ` 8, column 9).
"""
import json
import shlex

import pytest
import yaml

from cnncalc.cli import main
from cnncalc.errors import CnnError
from cnncalc.homework import AnswerErrors, check, parse_answers, template
from cnncalc.homework.verdicts import yaml_key
from cnncalc.network import load, loads

from pathlib import Path

CORPUS = Path(__file__).parent / "bad_answers"
ACCEPTED = "accepted: 122304, 122,304, 122_304 or arithmetic with + - * / ( ) such as (5*5+1)*6"

# file: [(line:col, fragments), …], one entry per error line, in order
CASES: dict[str, list[tuple[str, list[str]]]] = {
    "space-in-number.yaml": [("2:16", ["'122 304' has a space inside a number", "do not separate thousands",
                                       ACCEPTED])],
    "power.yaml": [("2:11", ["'5^2' has a power", "write 5*5", ACCEPTED])],
    "power-python.yaml": [("2:11", ["'2**3' has a power", ACCEPTED])],
    "suffix-k.yaml": [("2:11", ["'60k' has a letter after a number", "write 60,000", ACCEPTED])],
    "exponent.yaml": [("2:9", ["'1e3' has a letter after a number", "60k and 1e3 are not accepted", ACCEPTED])],
    # 1.516 is 1,516 in locales that write a point between thousands; YAML would read a float
    "decimal-point-thousands.yaml": [("2:11", ["'1.516' has a decimal point", "for thousands write 1,516",
                                               ACCEPTED])],
    # YAML reads 122.000 as the float 122.0: it must not become 122 silently
    "decimal-point-zeros.yaml": [("2:16", ["'122.000' has a decimal point", "for thousands write 122,000"])],
    # `  output: [6, 28.0, 28]`: the list opens at column 11, 28.0 starts at column 15
    "decimal-in-shape.yaml": [("2:15", ["'28.0' has a decimal point", "whole numbers"])],
    # YAML 1.1 reads 1:30 as 90 (base 60); the text as written is read instead
    "sexagesimal.yaml": [("2:11", ["cannot read '1:30' as a number", ACCEPTED])],
    "count-as-list.yaml": [("2:11", ["expected a whole number", "got '[150, 6]'", ACCEPTED])],
    "layer-not-a-mapping.yaml": [("1:5", ["'C1' needs a mapping of quantities", "output, params"])],
    "rf-three-sizes.yaml": [("2:7", ["a receptive field is one size or two (height, width)", "'5x5x5'"])],
    "yaml-tag-unreadable.yaml": [("2:11", ["cannot read 'abc' as a YAML timestamp", "remove the tag"])],
    "not-a-mapping.yaml": [("1:1", ["an answers file is a mapping of layer names to their values"])],
    "several-mistakes.yaml": [
        ("4:11", ["'5^2' has a power"]),
        ("5:16", ["'122 304' has a space"]),
        ("7:3", ["unknown quantity 'paramz'", "did you mean 'params'?"]),
        ("8:1", ["there is no layer 'C33'", "did you mean 'C3'?"]),
        ("12:9", ["'48.000' has a decimal point", "write 48,000"]),
        ("14:11", ["'60k' has a letter", "write 60,000"]),
    ],
}


def _many_cases() -> list[tuple[str, list[str]]]:
    """many-mistakes.yaml: keys C1…C25 on lines 2, 4, …, 50, each with `  params: 1.5` below it.
    C1, C3 and C5 are layers of LeNet-5 (their value is refused), the others are not (their key is)."""
    out = []
    for k in range(1, 21):
        if k in (1, 3, 5):
            out.append((f"{2 * k + 1}:11", ["'1.5' has a decimal point"]))
        else:
            out.append((f"{2 * k}:1", [f"there is no layer 'C{k}'"]))
    return out


CASES["many-mistakes.yaml"] = _many_cases()


def test_every_corpus_file_has_a_case():
    assert sorted(p.name for p in CORPUS.glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_answers_file(runner, monkeypatch, name):
    monkeypatch.chdir(CORPUS)
    r = runner.invoke(main, ["check", "lenet5-1998", name])
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    expected = CASES[name]
    if name == "many-mistakes.yaml":  # 25 in all: 20 listed, then one line for the other 5
        assert lines[-1] == f"error: {name}: 5 more unreadable answers not listed; fix these first"
        lines = lines[:-1]
    assert len(lines) == len(expected), r.stderr
    for line, (pos, fragments) in zip(lines, expected):
        assert line.startswith(f"error: {name}:{pos}: "), (line, pos)
        assert len(line) < 300, line
        for fragment in fragments:
            assert fragment in line, (fragment, line)


def test_every_error_at_once_from_the_library():
    text = (CORPUS / "several-mistakes.yaml").read_text()
    a = load("lenet5-1998").analyse()
    with pytest.raises(AnswerErrors) as exc:
        parse_answers(text, "s.yaml", [r.name for r in a.layers])
    assert [f"{e.where.line}:{e.where.column}" for e in exc.value.errors] == [p for p, _f in CASES[
        "several-mistakes.yaml"]]
    assert str(exc.value).count("\n") == 5  # one line per error


def test_numbers_are_read_as_written():
    # YAML 1.1 reads 0156 as octal (110); the student means 156. 1_000 and -5 read as YAML does.
    claims = parse_answers("C1:\n  params: 0156\n  macs: 1_000\n  connections: -5\n", "a.yaml", ["C1"])
    assert [c.value for c in claims] == [156, 1000, -5]


def test_error_messages_in_chinese(runner, monkeypatch):
    monkeypatch.chdir(CORPUS)
    r = runner.invoke(main, ["check", "lenet5-1998", "space-in-number.yaml", "--lang", "zh"])
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("error: space-in-number.yaml:2:16: '122 304' 的数字中间有空格")
    assert "可接受：122304" in r.stderr


# -- blank submissions ---------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "# nothing yet\n", "C1:\nS2:\n"])
def test_a_file_with_no_questions_is_not_a_pass(runner, tmp_path, text):
    path = tmp_path / "a.yaml"
    path.write_text(text)
    r = runner.invoke(main, ["check", "lenet5-1998", str(path)])
    assert r.exit_code == 1
    assert "Nothing to grade" in r.stdout and "Score: 0/0 correct" in r.stdout
    r = runner.invoke(main, ["check", "lenet5-1998", str(path), "--format", "json"])
    assert r.exit_code == 1
    assert json.loads(r.stdout) == {"verdicts": [], "score": {"correct": 0, "total": 0, "unanswered": 0}}


def test_blank_questions_count_as_not_answered(runner, tmp_path):
    path = tmp_path / "a.yaml"
    # C1's params are (5·5·1 + 1)·6 = 156; its connections are left blank, and so is totals' params.
    path.write_text("C1:\n  params: 156\n  connections:\ntotals:\n  params: ''\n")
    r = runner.invoke(main, ["check", "lenet5-1998", str(path)])
    assert r.exit_code == 1
    assert "✓ C1 params: 156\n" in r.stdout
    assert "✗ C1 connections: not answered; correct 122,304 = (5·5·1 + 1)·6·28·28\n" in r.stdout
    assert "✗ totals params: not answered; correct 60,000 = " in r.stdout
    assert r.stdout.endswith("Score: 1/3 correct, 2 not answered\n")
    data = json.loads(runner.invoke(main, ["check", "lenet5-1998", str(path), "--format", "json"]).stdout)
    assert data["score"] == {"correct": 1, "total": 3, "unanswered": 2}
    blank = data["verdicts"][1]
    assert (blank["claimed"], blank["correct"], blank["ok"], blank["hint"]) == (None, 122304, False, None)


def test_the_library_report_of_a_blank_file():
    a = load("lenet5-1998").analyse()
    report = check(a, parse_answers("C1:\n  params:\n", "a.yaml", ["C1"]))
    assert (report.correct, report.total, report.unanswered, report.all_correct) == (0, 1, 1, False)
    assert not check(a, []).all_correct


# -- the template --------------------------------------------------------------------------

def test_the_template_header_names_the_file_it_was_given(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = tmp_path / "my net.yaml"
    net.write_text("name: tiny\ninput: [1, 8, 8]\nlayers:\n  - conv: {name: c, filters: 2, kernel: 3}\n")
    r = runner.invoke(main, ["template", "my net.yaml", "--input", "1,10,10"])
    assert r.exit_code == 0
    header = next(line for line in r.stdout.splitlines() if "Check with:" in line)
    assert header == "# Check with: cnncalc check 'my net.yaml' --input 1,10,10 THIS_FILE"
    # The instruction works as printed: c on 1×10×10 gives 2×8×8, params (3·3·1 + 1)·2 = 20.
    (tmp_path / "answers.yaml").write_text("c:\n  output: 2x8x8\n  params: 20\n")
    args = shlex.split(header.split("cnncalc ", 1)[1].replace("THIS_FILE", "answers.yaml"))
    done = runner.invoke(main, args)
    assert done.exit_code == 0 and "Score: 2/2 correct" in done.stdout
    # A built-in name is printed as the name.
    r = runner.invoke(main, ["template", "lenet5-1998"])
    assert "# Check with: cnncalc check lenet5-1998 THIS_FILE\n" in r.stdout


# Names YAML would read as something else, or that need escapes.
AWKWARD_NAMES = ["Yes", "NULL", "Off", "on", "~", "12", "1e3", "0x1f", "1:30", ".inf", 'say "hi"', "back\\slash",
                 "a: b", "#hash", "- dash", "[x]", "{y}", "*star", "&amp", "!tag", "%pct", "@at", "`tick`", "'q'",
                 " lead", "trail ", "tab\there", "two\nlines", "nel\x85", "卷积1", "a.b-c_d"]


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_template_keys_read_back_as_the_layer_name(name):
    assert yaml.safe_load(f"{yaml_key(name)}:\n  params: 1\n") == {name: {"params": 1}}


# The awkward names a network may hold (docs/format.md § Naming: letters, digits, `_`, `-`, dotted
# parts); the others are refused when the network is read, so no template meets them.
NAMEABLE = ["Yes", "NULL", "Off", "on", "12", "1e3", "0x1f", "卷积1", "a.b-c_d", "-dash", "1_000", "007"]


def test_template_round_trips_awkward_layer_names():
    layers = "\n".join(f"  - relu: {{name: {json.dumps(n)}}}" for n in NAMEABLE)
    a = loads(f"name: odd\ninput: [1, 4, 4]\nlayers:\n{layers}\n", "odd.yaml").analyse()
    assert [r.name for r in a.layers] == NAMEABLE
    claims = parse_answers(template(a, "odd.yaml"), "t.yaml", [r.name for r in a.layers])
    assert list(dict.fromkeys(c.layer for c in claims)) == NAMEABLE + ["totals"]
    assert all(c.value is None for c in claims)


@pytest.mark.parametrize("name", [n for n in AWKWARD_NAMES if n not in NAMEABLE])
def test_names_outside_the_rule_are_refused_when_read(name):
    with pytest.raises(CnnError, match="is not a name|must be text"):
        loads(f"input: [1, 4, 4]\nlayers:\n  - relu: {{name: {json.dumps(name)}}}\n", "odd.yaml")


def test_an_unquoted_yaml_word_as_a_layer_name_says_to_quote_it():
    names = ["Off", "c"]
    with pytest.raises(AnswerErrors) as exc:
        parse_answers("Off:\n  params: 0\n", "a.yaml", names)
    assert str(exc.value) == ('a.yaml:1:1: YAML reads Off as False, not as a name; put the layer\'s name in quotes: '
                              '"Off"')


def test_a_layer_named_totals_is_refused(runner, tmp_path):
    net = tmp_path / "t.yaml"
    net.write_text("name: t\ninput: [1, 8, 8]\nlayers:\n  - relu\n  - conv: {name: totals, filters: 2, kernel: 3}\n")
    answers = tmp_path / "a.yaml"
    answers.write_text("totals:\n  params: 20\n")
    for args in (["template", str(net)], ["check", str(net), str(answers)]):
        r = runner.invoke(main, args)
        assert r.exit_code == 2 and r.stdout == ""
        # the conv is on line 5, its mapping at column 5
        assert r.stderr == (f"error: {net}:5:5: a layer is named 'totals', which answers files keep for the "
                            "network's totals; rename the layer to grade answers about it\n")


# -- formats -------------------------------------------------------------------------------

MISTAKES = Path(__file__).resolve().parent.parent / "examples" / "lenet5-1998-answers-mistakes.yaml"


def test_check_csv_and_markdown(runner):
    r = runner.invoke(main, ["check", "lenet5-1998", str(MISTAKES), "--format", "csv"])
    assert r.exit_code == 1
    rows = r.stdout.splitlines()
    assert rows[0] == "layer,quantity,claimed,correct,ok,derivation,hint"
    assert rows[1] == "C1,output,28x28x6,6x28x28,true,\"C = 6; H, W: ⌊(32 − 5 + 2·0)/1⌋ + 1\","
    assert rows[2].startswith('C1,params,150,156,false,(5·5·1 + 1)·6,"This is the count without the bias (150): ')
    assert len(rows) == 1 + 14
    r = runner.invoke(main, ["check", "lenet5-1998", str(MISTAKES), "--format", "markdown"])
    assert r.exit_code == 1
    assert "| ✗ | C1 | params | 150 | 156 | (5·5·1 + 1)·6 |" in r.stdout
    assert "- C1 params: hint: This is the count without the bias (150)" in r.stdout
    assert r.stdout.endswith("**Score: 3/14 correct**\n")
