"""The analysis's fast paths (issue 14: deep networks analysed in linear time, a few tens of µs a
layer) give what the slow ones gave. Every expectation is written by hand beside it."""
from __future__ import annotations

import gc
import json
from fractions import Fraction

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc import formula
from cnncalc.cli import main
from cnncalc.formula import Ceil, Floor, Num, product


def analyse(layers: str, input_shape: str = "[1, 32, 32]"):
    return cnncalc.loads(f"input: {input_shape}\nlayers:\n{layers}").analyse()


# -- expressions: values made with the node, ints while whole ------------------------------------
def test_values_are_exact_ints_while_whole_and_fractions_otherwise():
    half = Num(7) / 2
    assert half.value() == Fraction(7, 2) and type(half.value()) is Fraction
    assert (half * 2).value() == 7 and type((half * 2).value()) is int  # 7/2·2 is whole again
    assert type(Floor(half).value()) is int and Floor(half).value() == 3
    assert Ceil(half).value() == 4
    assert type((Num(8) / 2).value()) is int and (Num(8) / 2).value() == 4
    assert (Num(2) - 5).value() == -3
    assert Num(Fraction(6, 2)).value() == 3 and Num(Fraction(6, 2)).text() == "3"
    assert Num(Fraction(1, 3)).text() == "1/3"
    # the text keeps the brackets the value needs: 10 − (4 − 1) = 7, (2 + 3)·4 = 20, 12/(2·3) = 2
    assert (Num(10) - (Num(4) - 1)).text() == "10 − (4 − 1)" and (Num(10) - (Num(4) - 1)).value() == 7
    assert ((Num(2) + 3) * 4).text() == "(2 + 3)·4"
    e = Num(12) / (Num(2) * 3)
    assert e.text() == "12/(2·3)" and e.int_value() == 2
    with pytest.raises(ValueError, match="7/2 is not a whole number"):
        half.int_value()


def test_a_division_by_zero_is_refused_when_written():
    # the value is computed as the node is made, so a formula dividing by zero fails there
    with pytest.raises(ZeroDivisionError):
        Num(1) / 0


def test_shared_small_numbers_are_the_same_numbers():
    # lit() hands out one Num per small int: sharing is safe only because a Num never changes
    assert formula.lit(3) is formula.lit(3) and formula.lit(3).value() == 3
    assert formula.lit(10**6).value() == 10**6 and formula.lit(-7).text() == "-7"
    assert product([2, 3, 4]).value() == 24 and product([]).value() == 1


# -- derivations: rendered when read, the same text ----------------------------------------------
def test_derivations_read_like_a_dict_of_the_formulas():
    # LeNet-5's C1 by hand: (5·5·1 + 1)·6 = 156 params; 28 = ⌊(32 − 5 + 2·0)/1⌋ + 1 per axis
    r = analyse("  - conv: {name: C1, filters: 6, kernel: 5}").layers[0]
    out = "⌊(32 − 5 + 2·0)/1⌋ + 1"
    expected = {"params": "(5·5·1 + 1)·6", "non_trainable": "0", "connections": "(5·5·1 + 1)·6·28·28",
                "macs": "5·5·1·6·28·28", "output": f"H: {out}; W: {out}"}
    assert dict(r.derivations) == expected
    assert r.derivations == expected and len(r.derivations) == 5 and list(r.derivations) == list(expected)
    assert r.derivations.get("params") == "(5·5·1 + 1)·6" and r.derivations.get("rf", "0") == "0"


def test_a_merge_has_no_derivations():
    a = analyse("  - residual: {body: [relu]}")
    add = a.layer("add1")
    assert dict(add.derivations) == {} and len(add.derivations) == 0 and add.derivations.get("params", "0") == "0"


def test_json_and_tables_never_render_a_derivation(monkeypatch):
    """`params --format json` and the table need no formula text: rendering one is an error here."""
    def no_text(self):
        raise AssertionError("a derivation was rendered")
    monkeypatch.setattr(formula.Op, "text", no_text)
    monkeypatch.setattr(formula.Num, "text", no_text)
    runner = CliRunner()
    for fmt in ("json", "table", "csv"):
        result = runner.invoke(main, ["params", "lenet5", "--format", fmt])
        assert result.exit_code == 0, result.output
    monkeypatch.undo()
    explained = runner.invoke(main, ["params", "lenet5", "--format", "json", "--explain"])
    c1 = json.loads(explained.stdout)["layers"][0]
    assert c1["name"] == "C1" and c1["explain"]["params"].startswith("(5·5·1 + 1)·6 = 156")


# -- receptive field: ints while whole, halves as Fractions --------------------------------------
def test_a_half_pixel_start_and_back():
    # start_out = start_in + ((k'−1)/2 − pad_lo)·j_in: 0 + (1/2 − 0)·1 = 1/2, then 1/2 + 1/2 = 1
    a = analyse("  - conv: {filters: 1, kernel: 2}\n  - conv: {filters: 1, kernel: 2}", "[1, 8, 8]")
    first, second = a.layers
    assert first.rf.start == (Fraction(1, 2), Fraction(1, 2)) and second.rf.start == (1, 1)
    assert first.rf.pad == (0, 0) and second.rf.size == (3, 3)  # P = (2 − 1)/2 − 1/2 = 0; 1 + 1 + 1 = 3
    layers = json.loads(CliRunner().invoke(main, ["rf", "-", "--format", "json"], input=(
        "input: [1, 8, 8]\nlayers:\n  - conv: {filters: 1, kernel: 2}\n  - conv: {filters: 1, kernel: 2}\n"
    )).stdout)["layers"]
    assert [layer["rf"]["start"] for layer in layers] == [[0.5, 0.5], [1, 1]]


# -- remembered window geometry ------------------------------------------------------------------
def test_remembered_geometry_still_depends_on_every_argument():
    # the same conv on 8×8 (out 6 = 8 − 3 + 1), then on 2×2: a kernel larger than its input
    ok = analyse("  - conv: {filters: 1, kernel: 3}", "[1, 8, 8]")
    assert ok.layers[0].output == (1, 6, 6)
    with pytest.raises(cnncalc.CnnError, match="kernel 3 is larger than the input height 2"):
        analyse("  - conv: {filters: 1, kernel: 3}", "[1, 2, 2]")
    # stride 2 on 8: ⌊(8 − 3)/2⌋ + 1 = 3, and the last row is never read: (8 − 3) mod 2 = 1
    strided = analyse("  - conv: {filters: 1, kernel: 3, stride: 2}", "[1, 8, 8]").layers[0]
    assert strided.output == (1, 3, 3) and any("never covered" in str(n) for n in strided.notes)
    assert analyse("  - conv: {filters: 1, kernel: 3}", "[1, 8, 8]").layers[0].notes == ()


def test_a_command_gives_the_cycle_collector_back():
    assert gc.isenabled()
    for command in ("params", "rf", "summary"):
        assert CliRunner().invoke(main, [command, "lenet5", "--format", "json"]).exit_code == 0
        assert gc.isenabled(), command
    CliRunner().invoke(main, ["params", "nosuchnet"])
    assert gc.isenabled()


def test_the_pause_ends_with_everything_old_and_still_collectable(monkeypatch):
    """cycle_gc moves what the block made into the oldest generation (gc.freeze then gc.unfreeze):
    nothing stays frozen, a cycle made inside is still collected, and a process's own frozen
    objects stay frozen."""
    import weakref

    from cnncalc import cycle_gc

    class Node:
        pass

    gc.disable()  # no collection may move anything meanwhile
    try:
        kept = [[i] for i in range(1_000)]
        assert not any(o is kept for o in gc.get_objects(generation=2))
        cycle_gc._promote_all()
        assert any(o is kept for o in gc.get_objects(generation=2)) and gc.get_freeze_count() == 0
    finally:
        gc.enable()
    promoted = []
    monkeypatch.setattr(cycle_gc, "_promote_all", lambda: promoted.append(True))
    with cycle_gc.paused():
        node = Node()
        node.me = node  # a cycle: only the collector frees it
        gone = weakref.ref(node)
        del node
    assert promoted == [True] and gc.isenabled()
    monkeypatch.undo()
    gc.collect()
    assert gone() is None
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        with cycle_gc.paused():
            analyse("  - relu")
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()
