"""Automatic names of structural entries (docs/format.md § Naming), checked against the document."""
from __future__ import annotations

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
