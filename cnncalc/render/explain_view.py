"""`--explain`: the worked solution per layer, as a text block after the table (formats only)."""
from __future__ import annotations

from ..i18n import _
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


def select(explanations: dict[str, str], view: str) -> dict[str, str]:
    """The view's fields, without the trivial zeros of weightless layers."""
    return {f: explanations[f] for f in EXPLAIN_FIELDS[view] if f in explanations and explanations[f] != "0"}


def explain_lines(a: Analysis, explain: dict[str, dict[str, str]], markdown: bool = False) -> list[str]:
    lines = [("### " if markdown else "") + _("Worked solution (formula = value, per layer)"), ""]
    for r in a.layers:
        fields = explain.get(r.name, {})
        lines.append(f"**{r.name}** ({r.type})" if markdown else f"{r.name} ({r.type})")
        width = max((len(field_label(f)) for f in fields), default=0)
        for f, text in fields.items():
            label = field_label(f)
            lines.append(f"- {label}: {text}" if markdown else f"  {label.ljust(width)}  {text}")
        for note in r.notes:
            lines.append(("- " if markdown else "  ") + _("note: {note}").format(note=note))
        lines.append("")
    return lines
