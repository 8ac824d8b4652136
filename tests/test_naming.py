"""Automatic names of structural entries (docs/format.md § Naming), checked against the document."""
from __future__ import annotations

import pytest

import cnncalc


def test_two_unnamed_residuals_in_one_scope():
    # docs/format.md: an unnamed residual's merge is `add1`, `add2`, …; an identity shortcut has
    # no layers, so it takes no name (it used to reserve `shortcut` and clash with the second).
    net = cnncalc.loads("input: [1, 9, 9]\nlayers:\n"
                        "  - residual: {body: [conv: {filters: 1, kernel: 1}]}\n"
                        "  - residual: {body: [conv: {filters: 1, kernel: 1}]}\n"
                        "  - conv: {name: shortcut, filters: 1, kernel: 1}\n")
    assert [r.name for r in net.analyse().layers] == ["conv1", "add1", "conv2", "add2", "shortcut"]


def test_second_projection_in_one_scope_gets_its_own_shortcut_name():
    net = cnncalc.loads("input: [2, 9, 9]\nlayers:\n"
                        "  - residual: {body: [conv: {filters: 4, kernel: 1}], shortcut: projection}\n"
                        "  - residual: {body: [conv: {filters: 8, kernel: 1}], shortcut: projection}\n")
    names = [r.name for r in net.analyse().layers]
    assert names == ["conv1", "shortcut.0", "shortcut.1", "add1", "conv2", "shortcut2.0", "shortcut2.1", "add2"]


def test_transparent_concat_puts_branch_layers_in_the_enclosing_scope():
    # docs/format.md § concat: `transparent: true` with branches given as a list drops the whole
    # `<concat>.branchN.` prefix, so a block call `f` holds torchvision's `f.expand1x1`
    # (SqueezeNet's Fire); automatic names count on across the branches (relu1 then relu2) and
    # the record keeps its own name. Named branches keep their names (`f.left.…`).
    text = ("input: [2, 5, 5]\nblocks:\n  fire:\n    layers:\n"
            "      - concat:\n          transparent: {t}\n          branches:\n"
            "            - [conv: {{name: expand1x1, filters: 1, kernel: 1}}, relu]\n"
            "            - [conv: {{name: expand3x3, filters: 1, kernel: 3, padding: 1}}, relu]\n"
            "layers:\n  - fire: {{name: f}}\n")
    names = [r.name for r in cnncalc.loads(text.format(t="true")).analyse().layers]
    assert names == ["f.expand1x1", "f.relu1", "f.expand3x3", "f.relu2", "f.concat1"]
    names = [r.name for r in cnncalc.loads(text.format(t="false")).analyse().layers]
    assert names == ["f.concat1.branch1.expand1x1", "f.concat1.branch1.relu1", "f.concat1.branch2.expand3x3",
                     "f.concat1.branch2.relu1", "f.concat1"]
    named = text.replace("            - [conv: {{name: expand1x1", "            left: [conv: {{name: expand1x1")
    named = named.replace("            - [conv: {{name: expand3x3", "            right: [conv: {{name: expand3x3")
    names = [r.name for r in cnncalc.loads(named.format(t="true")).analyse().layers]
    assert names == ["f.left.expand1x1", "f.left.relu1", "f.right.expand3x3", "f.right.relu1", "f.concat1"]


def test_transparent_concat_names_still_unique():
    # The branches share one scope: the same explicit name in two of them is a clash, at the second.
    text = ("input: [2, 5, 5]\nlayers:\n  - concat:\n      transparent: true\n"
            "      branches: [[conv: {name: c, filters: 1, kernel: 1}], [conv: {name: c, filters: 1, kernel: 1}]]\n")
    with pytest.raises(cnncalc.CnnError, match="the name 'c' is used twice"):
        cnncalc.loads(text).analyse()


def test_a_number_read_from_other_digits_keeps_its_text():
    """yaml_source.WrittenInt: `name: 010` is refused with its text, which copies and pickles keep."""
    import copy
    import pickle

    from cnncalc.yaml_source import WrittenInt, load_yaml_text
    doc = load_yaml_text("a: 010\nb: 8\nc: 1_000\n", "t.yaml")
    assert doc == {"a": 8, "b": 8, "c": 1000}
    assert isinstance(doc["a"], WrittenInt) and doc["a"].text == "010" and type(doc["b"]) is int
    for twin in (copy.deepcopy(doc["a"]), pickle.loads(pickle.dumps(doc["a"]))):
        assert twin == 8 and twin.text == "010"
