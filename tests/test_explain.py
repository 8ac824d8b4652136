"""`--explain` on params, rf and summary: every printed "formula = value" evaluates to the value.

Expected numbers: LeNet-5 as published (docs/design.md) and the hand derivation in the comments."""
import json
import re

import pytest

from cnncalc.arith import evaluate
from cnncalc.cli import main
from cnncalc.network import load


def _check_worked(text: str, value: int | None = None) -> None:
    """'expr = 1,234' → expr evaluates to 1234 (and to `value` when given)."""
    expr, result = text.rsplit(" = ", 1)
    result = int(result.replace(",", ""))
    assert evaluate(expr) == result, text
    if value is not None:
        assert result == value, text


@pytest.mark.parametrize("command", ["params", "rf", "summary"])
def test_default_json_schema_is_unchanged(runner, command):
    plain = json.loads(runner.invoke(main, [command, "lenet5-1998", "--format", "json"]).output)
    assert all("explain" not in layer for layer in plain["layers"])
    explained = json.loads(runner.invoke(main, [command, "lenet5-1998", "--format", "json", "--explain"]).output)
    for a, b in zip(plain["layers"], explained["layers"]):
        extra = dict(b)
        assert isinstance(extra.pop("explain"), dict)
        assert extra == a


def test_summary_json_explain_evaluates(runner):
    data = json.loads(runner.invoke(main, ["summary", "lenet5-1998", "--format", "json", "--explain"]).output)
    layers = {l["name"]: l for l in data["layers"]}
    # C1: params (5·5·1 + 1)·6 = 156; connections 156·28·28 = 122,304 (docs/design.md)
    _check_worked(layers["C1"]["explain"]["params"], 156)
    _check_worked(layers["C1"]["explain"]["connections"], 122304)
    assert layers["C1"]["explain"]["output"] == "C = 6; H, W: ⌊(32 − 5 + 2·0)/1⌋ + 1 = 28"
    # C3 with the connection table: 1,516 / 151,600
    _check_worked(layers["C3"]["explain"]["params"], 1516)
    _check_worked(layers["C3"]["explain"]["connections"], 151600)
    for name, layer in layers.items():
        for field, text in layer["explain"].items():
            if field in ("params", "non_trainable", "connections", "macs") and " = " in text:
                _check_worked(text, layer[field])
            if field == "rf" and "→" in text:
                # top-down steps: each "expr = n (layer)" evaluates; the last is the RF size
                steps = [re.sub(r" \([^()]*\)$", "", s) for s in text.split(" → ")]
                for s in steps[1:]:
                    _check_worked(s)
                assert int(steps[-1].rsplit(" = ", 1)[-1]) == layer["rf"]["size"][0]


@pytest.mark.parametrize("command", ["params", "rf", "summary"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_table_explain_in_both_languages(runner, command, lang):
    r = runner.invoke(main, [command, "lenet5-1998", "--explain", "--lang", lang])
    assert r.exit_code == 0, r.output
    if command != "rf":
        assert "(5·5·1 + 1)·6 = 156" in r.output
    else:
        # C3: 5, then (5 − 1)·2 + 2 = 10 through S2, then (10 − 1)·1 + 5 = 14 through C1
        assert "5 (C3) → (5 − 1)·2 + 2 = 10 (S2) → (10 − 1)·1 + 5 = 14 (C1)" in r.output
    heading = "逐层推导" if lang == "zh" else "Worked solution"
    assert heading in r.output


def test_explain_shows_pitfall_notes(runner):
    # 28 + 0 − 3 = 25 is not a multiple of stride 2: the last row/column is never covered.
    yaml_text = "name: n\ninput: [1, 28, 28]\nlayers:\n  - conv: {name: c, filters: 1, kernel: 3, stride: 2}\n"
    r = runner.invoke(main, ["params", "-", "--explain"], input=yaml_text)
    assert r.exit_code == 0, r.output
    assert "⌊(28 − 3 + 2·0)/2⌋ + 1 = 13" in r.output
    assert "note:" in r.output and "never covered" in r.output


def test_library_explain_matches_records():
    from cnncalc.homework.derive import explain
    a = load("lenet5-1998").analyse()
    for r in a.layers:
        e = explain(r)
        for q in ("params", "connections", "macs", "non_trainable"):
            text = e[q]
            if " = " in text:
                _check_worked(text, getattr(r, q))
            else:
                assert evaluate(text) == getattr(r, q)


def _catalog_ids() -> set[str]:
    from cnncalc.i18n import LOCALE_DIR, parse_po
    return set(parse_po((LOCALE_DIR / "zh" / "LC_MESSAGES" / "cnncalc.po").read_text(encoding="utf-8")))


def _marked_messages() -> list[tuple[str, str]]:
    """(module, literal) for every _("…") and msg("…") in every module of the package."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "cnncalc"
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "msg") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append((str(path.relative_to(root)), node.args[0].value))
    return found


def test_every_message_has_a_chinese_translation():
    """Each _("…") and msg("…") in any module has a msgstr in the zh catalog, and so does every
    column header (they go through _() at render time)."""
    from cnncalc.render.columns import VIEWS

    catalog = _catalog_ids()
    missing = [c.header for cols in VIEWS.values() for c in cols if c.header not in catalog]
    missing += [f"{module}: {text}" for module, text in _marked_messages() if text not in catalog]
    assert missing == []


def test_no_catalog_template_is_orphaned():
    """A catalog entry with {placeholders} is a message id: some module must still use it, so a
    message reworded in the code fails here instead of silently losing its translation."""
    used = {text for _, text in _marked_messages()}
    orphans = sorted(m for m in _catalog_ids() if "{" in m and m not in used)
    assert orphans == []


def test_messages_translate_by_id_not_by_sentence():
    from cnncalc import i18n
    i18n.set_language("zh")
    try:
        note = i18n.msg("{axis}: kernel {k} < stride {s}: {skip} of every {s2} input {what} are skipped",
                        axis="H", k=1, s=2, skip=1, s2=2, what="rows")
        assert i18n.tr(note) == "H：卷积核 1 < 步长 2：输入每 2 行中有 1 行被跳过"
        # The same English sentence as plain text is not pattern-matched any more: it stays English.
        assert i18n.tr(str(note)) == str(note)
    finally:
        i18n.set_language("en")


def test_language_from_environment(monkeypatch):
    from cnncalc import i18n
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.resolve(None) == "zh"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert i18n.resolve(None) == "en"
    assert i18n.resolve("zh") == "zh"
    i18n.set_language("en")


def test_chinese_notes_and_errors(runner, tmp_path):
    # 28 + 0 − 3 = 25 is not a multiple of 2: the last input row/column is never covered.
    yaml_text = "name: n\ninput: [1, 28, 28]\nlayers:\n  - conv: {name: c, filters: 1, kernel: 3, stride: 2}\n"
    r = runner.invoke(main, ["params", "-", "--explain", "--lang", "zh"], input=yaml_text)
    assert "注意：H, W：28 + 0 − 3 = 25 不是步长 2 的整数倍" in r.output
    # kernel 5 on a 4×4 input: an engine error, translated at the CLI boundary, position kept.
    r = runner.invoke(main, ["params", "-", "--lang", "zh"],
                      input="name: n\ninput: [1, 4, 4]\nlayers:\n  - conv: {name: c, filters: 1, kernel: 5}\n")
    assert r.exit_code == 2 and "<stdin>:4:" in r.output and "请在每侧使用 ≥ 1 的填充" in r.output
    bad = tmp_path / "a.yaml"
    bad.write_text("C1:\n  parms: 5\n")
    r = runner.invoke(main, ["check", "lenet5-1998", str(bad), "--lang", "zh"])
    assert r.exit_code == 2 and f"{bad}:2:3: 未知的量 'parms'；是不是 'params'？" in r.output
    r = runner.invoke(main, ["check", "lenet5-1998", str(bad), "--lang", "en"])
    assert "unknown quantity 'parms'; did you mean 'params'?" in r.output


def test_chinese_table_headers_and_totals(runner):
    r = runner.invoke(main, ["summary", "lenet5-1998", "--lang", "zh", "--batch", "2"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    header = next(line for line in r.output.splitlines() if "类型" in line)
    for word in ("层", "输出", "参数量", "连接数", "感受野"):
        assert word in header
    # 60,000 trainable parameters (LeNet-5, LeCun et al. 1998, Table I totals); the batch label is translated.
    assert re.search(r"参数量（可训练）\s+60,000", r.output)
    assert "（批大小 2）" in r.output
    # CSV keeps its English keys whatever the language: it is for scripts.
    r = runner.invoke(main, ["params", "lenet5-1998", "--lang", "zh", "--format", "csv"])
    assert r.output.splitlines()[0] == "name,type,output,params,connections"
