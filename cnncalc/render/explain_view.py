"""`--explain`: the worked solution per layer, as a text block after the table (formats only)."""
from __future__ import annotations

import unicodedata

from ..i18n import _, tr
from ..records import Analysis

# Which fields each view explains, in order.
EXPLAIN_FIELDS = {
    "params": ("output", "params", "non_trainable", "connections"),
    "rf": ("output", "rf"),
    "summary": ("output", "params", "non_trainable", "connections", "macs", "rf"),
}


def field_label(field: str) -> str:
    return {
        "output": _("output size"),
        "params": _("params"),
        "non_trainable": _("non-trainable"),
        "connections": _("connections"),
        "macs": _("MACs"),
        "rf": _("receptive field"),
    }.get(field, field)


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


# Layer kinds as textbooks name them (identity in English: the kind is its own name).
_KIND_LABELS = ("conv", "maxpool", "avgpool", "globalavgpool", "globalmaxpool", "adaptiveavgpool", "subsample",
                "dense", "flatten", "batchnorm", "lrn", "dropout", "rbf", "concat", "add", "relu", "leaky_relu",
                "sigmoid", "tanh", "gelu", "softmax", "identity",
                "relu6", "hardtanh", "hardsigmoid", "hardswish", "silu", "mish", "elu", "prelu", "layernorm",
                "layer_scale", "stochastic_depth",
                "pad", "crop", "slice", "shuffle", "multiply", "convtranspose", "upsample")


def kind_label(kind: str) -> str:
    return _(kind) if kind in _KIND_LABELS else kind


def select(explanations: dict[str, str], view: str) -> dict[str, str]:
    """The view's fields, without the trivial zeros of weightless layers."""
    return {f: explanations[f] for f in EXPLAIN_FIELDS[view] if f in explanations and explanations[f] != "0"}


def explain_lines(a: Analysis, explain: dict[str, dict[str, str]], markdown: bool = False) -> list[str]:
    lines = [("### " if markdown else "") + _("Worked solution (formula = value, per layer)"), ""]
    if a.batch != 1:  # the table's MACs are for the batch; a layer's formula is for one sample
        lines[1:1] = [_("MACs per sample; the table's MACs are {n} times these (batch {n})").format(n=a.batch), ""]
    for r in a.layers:
        fields = explain.get(r.name, {})
        kind = kind_label(r.type)
        lines.append(f"**{r.name}** ({kind})" if markdown else f"{r.name} ({kind})")
        width = max((_width(field_label(f)) for f in fields), default=0)
        for f, text in fields.items():
            label = field_label(f)
            lines.append(f"- {label}: {text}" if markdown else f"  {_pad(label, width)}  {text}")
        for note in r.notes:
            lines.append(("- " if markdown else "  ") + _("note: {note}").format(note=tr(note)))
        lines.append("")
    return lines
