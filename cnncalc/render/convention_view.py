"""`--convention`: another tool's figures (cnncalc.conventions) under the totals, in each format."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..conventions import Convention
from ..i18n import _

if TYPE_CHECKING:
    from rich.console import Group


def title(c: Convention) -> str:
    return _("As {tool} {version} counts it (batch {batch}, {bytes} bytes a value):").format(
        tool=c.name, version=c.version, batch=c.batch, bytes=c.dtype_bytes)


def explain_text(f) -> str:
    """figure = formula = the numbers in = value."""
    return f"{f.key} = {f.formula} = {f.expr.text()} = {f.value:,}"


def convention_json(c: Convention, explain: bool) -> dict:
    out = c.to_json()
    if explain:
        out["explain"] = {f.key: f"{f.formula} = {f.expr.text()} = {f.value}" for f in c.figures}
    return out


def convention_table(c: Convention, explain: bool) -> Group:
    from rich.console import Group  # only tables need rich (see analysis_view)
    from rich.text import Text

    from .fit_table import FitColumn, FitTable
    columns = [FitColumn("", fold=True), FitColumn("", right=True)]
    rows = [[f.key, f"{f.value:,}"] for f in c.figures]
    parts: list = [Text(""), Text(title(c), style="bold"), FitTable(columns, rows, show_header=False)]
    if explain:
        parts += [Text(explain_text(f)) for f in c.figures]
    return Group(*parts)


def convention_markdown(c: Convention, explain: bool) -> list[str]:
    lines = ["", f"**{title(c)}**", "", "| figure | value |", "|---|---:|"]
    lines += [f"| {f.key} | {f.value:,} |" for f in c.figures]
    if explain:
        lines += [""] + [f"- `{explain_text(f)}`" for f in c.figures]
    return lines
