"""The `cnncalc check` report: one line per claim (✓/✗), the derivation and hint for a wrong
one, and the score; or the exact JSON of docs/homework.md, or one CSV / Markdown row per answer.
Formats only, computes nothing."""
from __future__ import annotations

import csv
import io
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
    shapes = v.quantity in ("output", "rf")  # shapes and fields: the worked steps, each with its value
    derivation = v.worked if shapes else v.derivation
    if v.claimed is None:
        text = (_("not answered; correct {correct}: {derivation}") if shapes else
                _("not answered; correct {correct} = {derivation}")).format(
            correct=_value(v.correct), derivation=derivation)
    else:
        text = (_("claimed {claimed}; correct {correct}: {derivation}") if shapes else
                _("claimed {claimed}; correct {correct} = {derivation}")).format(
            claimed=_value(v.claimed), correct=_value(v.correct), derivation=derivation)
    lines = [f"✗ {head}: {text}"]
    if v.hint:
        lines.append("    " + _("hint: {hint}").format(hint=v.hint))
    return lines


def _score(report: Report) -> str:
    if report.unanswered:
        return _("Score: {correct}/{total} correct, {blank} not answered").format(
            correct=report.correct, total=report.total, blank=report.unanswered)
    return _("Score: {correct}/{total} correct").format(correct=report.correct, total=report.total)


_CSV_FIELDS = ("layer", "quantity", "claimed", "correct", "ok", "derivation", "hint")


def _csv(report: Report) -> str:
    """The JSON's verdicts as rows (shapes as 6x28x28, not answered as an empty `claimed`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for v in report.verdicts:
        row = v.to_json()
        row = {k: "x".join(map(str, x)) if isinstance(x, list) else x for k, x in row.items()}
        writer.writerow(["" if row[k] is None else str(row[k]).lower() if k == "ok" else row[k] for k in _CSV_FIELDS])
    return out.getvalue()


def _markdown(report: Report) -> str:
    """A table of every answer, the hints for the wrong ones below it, then the score."""
    lines = ["**" + _("Checking answers for {name}").format(name=report.network) + "**", ""]
    if not report.verdicts:
        lines.append(_nothing())
    else:
        headers = (_("layer"), _("quantity"), _("claimed"), _("correct"), _("derivation"))
        lines += ["| | " + " | ".join(headers) + " |", "|:---:|---|---|---:|---:|---|"]
    for v in report.verdicts:
        claimed = _("not answered") if v.claimed is None else _value(v.claimed)
        derivation = "" if v.ok else v.worked if v.quantity in ("output", "rf") else v.derivation
        cells = ["✓" if v.ok else "✗", _layer(v), _quantity(v.quantity), claimed, _value(v.correct), derivation]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    hints = [f"- {_layer(v)} {_quantity(v.quantity)}: " + _("hint: {hint}").format(hint=v.hint)
             for v in report.verdicts if v.hint]
    if hints:
        lines += [""] + hints
    lines += ["", "**" + _score(report) + "**"]
    return "\n".join(lines) + "\n"


def _nothing() -> str:
    return _("Nothing to grade: the answers file has no questions (cnncalc template writes one to fill in).")


def render_check(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv(report)
    if fmt == "markdown":
        return _markdown(report)
    lines = [_("Checking answers for {name}").format(name=report.network), ""]
    for v in report.verdicts:
        lines += _line(v)
    if not report.verdicts:
        lines.append(_nothing())
    lines.append("")
    lines.append(_score(report))
    return "\n".join(lines) + "\n"
