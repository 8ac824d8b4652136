"""The `cnncalc check` report: one line per claim (✓/✗), the derivation and hint for a wrong
one, and the score; or the exact JSON of docs/homework.md. Formats only, computes nothing."""
from __future__ import annotations

import json

from ..homework import Report, Verdict
from ..i18n import _


def _value(v: object) -> str:
    if isinstance(v, list):
        return "×".join(str(x) for x in v)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _quantity(q: str) -> str:
    names = {
        "output": _("output"),
        "params": _("params"),
        "non_trainable": _("non-trainable"),
        "connections": _("connections"),
        "macs": _("MACs"),
        "rf": _("receptive field"),
    }
    return names.get(q, q)


def _layer(v: Verdict) -> str:
    return _("totals") if v.layer == "totals" else v.layer


def _line(v: Verdict) -> list[str]:
    head = f"{_layer(v)} {_quantity(v.quantity)}"
    if v.ok:
        return [f"✓ {head}: {_value(v.correct)}"]
    if v.quantity in ("output", "rf"):
        # Shapes and fields: the worked steps, each with its value.
        text = _("claimed {claimed}; correct {correct}: {derivation}").format(
            claimed=_value(v.claimed), correct=_value(v.correct), derivation=v.worked)
    else:
        text = _("claimed {claimed}; correct {correct} = {derivation}").format(
            claimed=_value(v.claimed), correct=_value(v.correct), derivation=v.derivation)
    lines = [f"✗ {head}: {text}"]
    if v.hint:
        lines.append("    " + _("hint: {hint}").format(hint=v.hint))
    return lines


def render_check(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    lines = [_("Checking answers for {name}").format(name=report.network), ""]
    for v in report.verdicts:
        lines += _line(v)
    lines.append("")
    lines.append(_("Score: {correct}/{total} correct").format(correct=report.correct, total=report.total))
    return "\n".join(lines) + "\n"
