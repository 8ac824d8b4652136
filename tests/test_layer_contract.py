"""The layer contract, for every kind in the registry and the two merges: each test fails with a
message naming the kind and what it lacks, so adding a kind without one of these is caught here.
docs/architecture.md's "Adding a layer kind" lists exactly these checks."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import cnncalc
from cnncalc.cli import main
from cnncalc.errors import CnnError
from cnncalc.forward import run_forward
from cnncalc.graph import iter_layers
from cnncalc.i18n import LOCALE_DIR, parse_po
from cnncalc.layers import KINDS, Add, Concat, Layer, Multiply
from cnncalc.layers.base import Counts, Output
from cnncalc.render.explain_view import _KIND_LABELS

pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")

import test_forward
import test_oracle_networks
from torch_reference import MERGES, ORACLE

ROOT = Path(__file__).resolve().parent.parent
MERGE_KINDS = {cls.kind: cls for cls in (Concat, Add, Multiply)}
ALL_KINDS = {**KINDS, **MERGE_KINDS}
QUESTIONS = ("output", "counts", "window", "forward")


# -- the four questions -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_kind_declares_output_counts_window_and_forward(kind):
    cls = KINDS[kind]
    missing = [q for q in QUESTIONS if getattr(cls, q) is getattr(Layer, q)]
    assert not missing, f"layer kind {kind} declares no {', '.join(missing)} (itself or through a family base)"


@pytest.mark.parametrize("kind", MERGE_KINDS)
def test_merge_declares_merge_and_forward(kind):
    cls = MERGE_KINDS[kind]
    assert "merge" in vars(cls), f"merge kind {kind} declares no `merge` (its output shape rule)"
    assert cls.forward is not Layer.forward, f"merge kind {kind} declares no `forward`"


class _NoCounts(Layer):
    kind = "halfbaked"

    def output(self, in_shape):
        return Output(in_shape)

    def window(self, in_shape, out):
        return None

    def forward(self, x, weights):
        return x


class _NoForward(_NoCounts):
    kind = "halfbaked"

    def counts(self, in_shape, out):
        return Counts()

    forward = Layer.forward


NET_WITH_HALFBAKED = "input: [1, 4, 4]\nlayers:\n  - halfbaked\n"


def test_engine_refuses_a_kind_without_counts(monkeypatch, runner):
    monkeypatch.setitem(KINDS, "halfbaked", _NoCounts)
    with pytest.raises(CnnError, match="layer kind halfbaked declares no counts"):
        cnncalc.loads(NET_WITH_HALFBAKED).analyse()
    res = runner.invoke(main, ["params", "-"], input=NET_WITH_HALFBAKED)
    assert res.exit_code == 2 and "declares no counts" in res.output and "Traceback" not in res.output


def test_forward_refuses_a_kind_without_forward(monkeypatch):
    monkeypatch.setitem(KINDS, "halfbaked", _NoForward)
    with pytest.raises(CnnError, match="layer kind halfbaked declares no forward pass"):
        run_forward(cnncalc.loads(NET_WITH_HALFBAKED).graph, dtype="float64")


@pytest.mark.parametrize("question", ["output", "window"])
def test_every_unanswered_question_is_named(question):
    layer = _NoCounts("h", {})
    with pytest.raises(CnnError, match=f"layer kind halfbaked declares no .*`{question}`"):
        getattr(Layer, question)(layer, (1, 4, 4), *(() if question == "output" else (Output((1, 4, 4)),)))


# -- PyTorch oracle inside a whole network ------------------------------------------------------
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_oracle_has_a_pytorch_form(kind):
    table = MERGES if kind in MERGE_KINDS else ORACLE
    assert kind in table, f"tests/torch_reference.py has no PyTorch form for layer kind {kind}"


def _kinds_compared_with_pytorch() -> set[str]:
    """Every kind in a network that a whole-network float64 comparison runs."""
    graphs = [cnncalc.load(name, shape).graph for name, shape, _ in test_forward.NETS]
    graphs += [cnncalc.loads(text).graph for text in test_oracle_networks.NETS.values()]
    return {layer.kind for g in graphs for layer in iter_layers(g.nodes)}


@pytest.fixture(scope="module")
def compared() -> set[str]:
    return _kinds_compared_with_pytorch()


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_kind_is_compared_with_pytorch_in_a_whole_network(kind, compared):
    assert kind in compared, (f"no whole-network PyTorch comparison contains layer kind {kind}; add it to a network "
                              "in tests/test_oracle_networks.py")


# -- docs, --explain, zh ------------------------------------------------------------------------
def _format_sections() -> dict[str, str]:
    """docs/format.md's level-3 sections: kind name (each of `### a, b — title`) → section text."""
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    sections = {}
    for part in re.split(r"^(?=### )", text, flags=re.MULTILINE)[1:]:
        heading = part.splitlines()[0][4:].split(" — ")[0]
        for name in heading.split(","):
            sections[name.strip()] = part
    return sections


def _docs_entry(kind: str) -> str | None:
    """A kind's documentation: its own section, or its row in a table of kinds ("| `relu` | … |"),
    or for `add` the residual section that makes it."""
    sections = _format_sections()
    if kind in ("add", "multiply"):  # the merges that `residual` and `gate` make
        section = sections.get("residual" if kind == "add" else "gate", "")
        return section if f"`{kind}`" in section else None
    if kind in sections:
        return sections[kind]
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `{re.escape(kind)}` \|.*$", text, flags=re.MULTILINE)
    return row.group(0) if row else None


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_kind_is_documented_with_its_options(kind):
    entry = _docs_entry(kind)
    assert entry is not None, \
        f"docs/format.md has no entry for layer kind {kind} (a `### {kind}` section or a table row)"
    undocumented = [o for o in ALL_KINDS[kind].options if f"`{o}`" not in entry]
    assert not undocumented, f"docs/format.md's entry for {kind} does not document its options {undocumented}"


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_kind_has_an_explain_label(kind):
    assert kind in _KIND_LABELS, f"layer kind {kind} has no label in cnncalc/render/explain_view.py _KIND_LABELS"


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_kind_has_a_zh_label(kind):
    catalog = parse_po((LOCALE_DIR / "zh" / "LC_MESSAGES" / "cnncalc.po").read_text(encoding="utf-8"))
    assert catalog.get(kind, kind) != kind, f"the zh catalog (cnncalc.po) has no label for layer kind {kind}"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explain_labels_every_layer(runner, lang):
    """`params --explain` names every layer with its kind's label, in both languages."""
    from cnncalc import i18n
    i18n.set_language(lang)
    try:
        for name, text in test_oracle_networks.NETS.items():
            net = cnncalc.loads(text)
            res = runner.invoke(main, ["params", "-", "--explain", "--lang", lang], input=text)
            assert res.exit_code == 0, res.output
            for record in net.analyse().layers:
                assert f"{record.name} ({i18n._(record.type)})" in res.output, (name, record.name, lang)
    finally:
        i18n.set_language("en")
