"""Tables of an Analysis in the four formats: rich table, JSON, CSV, Markdown.

rich (and fit_table, built on it) is imported where a table is drawn: `params --format json`
prints none, and rich's import was a fifth of that command's start-up (issue 14's ≤ 0.2 s)."""
from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from ..i18n import _, tr
from ..records import Analysis, TopDown
from ..conventions import Convention
from .convention_view import convention_json, convention_markdown, convention_table
from .columns import HIDE_ORDER, VIEWS, pair_text, shape_text
from .explain_view import EXPLAIN_FIELDS, explain_lines, select

if TYPE_CHECKING:
    from rich.text import Text

    from .fit_table import FitTable


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n} B"


def _totals_lines(a: Analysis) -> list[tuple[str, str]]:
    t = a.totals

    def per_batch(label: str) -> str:
        return _("{label} (batch {n})").format(label=label, n=a.batch) if a.batch != 1 else label

    return [
        (_("Params (trainable)"), f"{t.params:,}"),
        (_("Non-trainable"), f"{t.non_trainable:,}"),
        (_("Total params"), f"{t.params + t.non_trainable:,}"),
        (_("Connections"), f"{t.connections:,}"),
        (per_batch(_("MACs")), f"{t.macs:,}"),
        (per_batch(_("FLOPs (2·MACs)")), f"{t.flops:,}"),
        (_("Param bytes"), f"{t.param_bytes:,} ({human_bytes(t.param_bytes)})"),
        (per_batch(_("Activation bytes")), f"{t.activation_bytes:,} ({human_bytes(t.activation_bytes)})"),
    ]


def _hidden_hint(width: int, hidden: list[str]) -> str:
    return _("hidden at {width} columns: {columns} (widen the terminal, or --format csv)").format(
        width=width, columns=", ".join(hidden))


def _table(a: Analysis, view: str) -> FitTable:
    """The layer table: cells formatted once, columns hidden (least important first) rather than
    cut where the terminal is too narrow."""
    from .fit_table import FitColumn, FitTable
    columns = VIEWS[view]
    hide = {col.key: n for n, col in enumerate(HIDE_ORDER[view], 1)}
    fit = [FitColumn(_(c.header), _(c.short) if c.short else "", c.numeric, hide.get(c.key, 0), c.key == "name")
           for c in columns]
    texts = [c.text for c in columns]
    rows = [[text(r) for text in texts] for r in a.batch_layers]
    title = _("{name}  input {shape}").format(name=a.name, shape=shape_text(a.input))
    if a.batch != 1:  # the MACs column is for the whole batch, as the totals are
        title += "  " + _("batch {n}").format(n=a.batch)
    return FitTable(fit, rows, title, _hidden_hint)


def _totals_table(a: Analysis) -> FitTable:
    from .fit_table import FitColumn, FitTable
    columns = [FitColumn("", fold=True), FitColumn("", right=True)]
    return FitTable(columns, [list(row) for row in _totals_lines(a)], show_header=False)


def _notes(a: Analysis) -> Text | None:
    if not a.warnings:
        return None
    from rich.text import Text
    return Text("\n".join(_("note: {note}").format(note=tr(w)) for w in a.warnings), style="yellow")


def render_analysis(a: Analysis, view: str, fmt: str, explain: dict[str, dict[str, str]] | None = None,
                    convention: Convention | None = None) -> object:
    """A rich renderable for `table`, a string for the other formats.

    `convention` (from `--convention`) adds another tool's figures after the totals: a
    "convention" object in JSON, a section in the table and in Markdown (CSV has none: the command
    refuses the pair).

    `explain` (layer name → field → "formula = value", from `--explain`) adds the worked
    solution: an "explain" object per layer in JSON, `explain_*` columns in CSV, a section in
    Markdown. For `table` the worked solution is a separate plain string, `render_explain`
    (formulas are long: plain text wraps in the terminal instead of being cut by the table)."""
    columns = VIEWS[view]
    if fmt == "html":
        from .html_report import render_table_html  # it builds on this module's helpers
        return render_table_html(a, view, explain)
    if explain is not None:
        explain = {name: select(fields, view) for name, fields in explain.items()}
    if fmt == "json":
        data = a.to_json(stream_layers=True)
        data["batch"] = a.batch
        data["notes"] = [str(w) for w in a.warnings]
        if explain is not None:
            data["layers"] = (dict(layer, explain=explain.get(layer["name"], {})) for layer in data["layers"])
        if convention is not None:
            data["convention"] = convention_json(convention, explain is not None)
        return json_one_item_a_line(data, "layers")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        extra = list(EXPLAIN_FIELDS[view]) if explain is not None else []
        writer.writerow([c.key for c in columns] + [f"explain_{f}" for f in extra])
        raw = [c.raw for c in columns]
        writer.writerows([get(r) for get in raw] + [explain.get(r.name, {}).get(f, "") for f in extra]
                         for r in a.batch_layers)
        totals = a.totals.to_json()
        if any(c.key in totals for c in columns):  # the rf view has no counts to total
            total = ["total" if c.key == "name" else totals.get(c.key, "") for c in columns]
            writer.writerow(total + [""] * len(extra))
        return out.getvalue()
    if fmt == "markdown":
        title = _("{name}  input {shape}").format(name=a.name, shape=shape_text(a.input))
        lines = ["**" + title.replace("  ", "** — ", 1), ""]
        lines.append("| " + " | ".join(_(c.header) for c in columns) + " |")
        lines.append("|" + "|".join("---:" if c.numeric else "---" for c in columns) + "|")
        for r in a.batch_layers:
            lines.append("| " + " | ".join(c.text(r).replace("|", "\\|") for c in columns) + " |")
        lines += ["", f"| {_('Total')} | |", "|---|---:|"]
        lines += [f"| {label} | {value} |" for label, value in _totals_lines(a)]
        lines += ["\n" + _("note: {note}").format(note=tr(w)) for w in a.warnings]
        if convention is not None:
            lines += convention_markdown(convention, explain is not None)
        if explain is not None:
            lines += [""] + explain_lines(a, explain, markdown=True)
        return "\n".join(lines) + "\n"
    from rich.console import Group
    parts = [_table(a, view), _totals_table(a)]
    if convention is not None:
        parts.append(convention_table(convention, explain is not None))
    notes = _notes(a)
    if notes is not None:
        parts.append(notes)
    return Group(*parts)


def json_one_item_a_line(data: dict, key: str) -> str:
    """`data` as indented JSON, except that each item of the list `data[key]` (a layer) is one
    line. Python's json module indents only in pure Python (2.9 s for 45,000 layers); one layer a
    line goes through its C encoder, and reads and greps well."""
    # One encoder (json.dumps makes one a call); `data[key]` may be an iterator (Analysis.to_json's
    # stream_layers), read once. Nothing here is circular, so the check for it is left out.
    encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
    items = [encode(item) for item in data[key]]
    listed = "[\n" + ",\n".join("    " + item for item in items) + "\n  ]" if items else "[]"

    def value(v: object) -> str:  # a list of numbers on one line ("input": [1, 32, 32]), the rest indented
        if isinstance(v, list) and all(isinstance(x, int | float) for x in v):
            return json.dumps(v)
        return json.dumps(v, indent=2, ensure_ascii=False).replace("\n", "\n  ")

    parts = [f"  {json.dumps(k)}: " + (listed if k == key else value(v)) for k, v in data.items()]
    return "{\n" + ",\n".join(parts) + "\n}"


def render_explain(a: Analysis, view: str, explain: dict[str, dict[str, str]]) -> str:
    """The `--explain` block of the table view: per layer, formula = value, then its notes."""
    return "\n".join(explain_lines(a, {name: select(f, view) for name, f in explain.items()}))


def _step_rows(steps) -> list[tuple[str, str, str]]:
    def formula(s) -> str:  # one formula when both axes read alike, else "height ; width"
        texts = [e.text() for e in s.expr]
        return texts[0] if texts[0] == texts[1] else " ; ".join(texts)

    return [(s.layer, formula(s), pair_text(s.size)) for s in steps]


def render_top_down(td: TopDown, fmt: str) -> object:
    """The textbook walk; one walk per axis where the axes' fields came through different layers."""
    walks = [("", td.steps)] if not td.per_axis else list(zip(("H", "W"), td.per_axis))
    if fmt == "html":
        from .html_report import render_top_down_html
        return render_top_down_html(td)
    if fmt == "json":
        def steps_json(steps):
            return [{"layer": l, "formula": f, "rf": list(s.size)} for (l, f, _), s in zip(_step_rows(steps), steps)]
        data = {"layer": td.layer, "size": list(td.size), "global": td.is_global, "steps": steps_json(td.steps)}
        if td.units is not None:
            data["unit"] = list(td.units)
        if td.per_axis:
            data["per_axis"] = {axis: steps_json(steps) for axis, steps in walks}
        return json_one_item_a_line(data, "steps")
    exact = td.units is not None  # through upsampling: the exact walk of one unit, not the recursion
    header = ("step", "layer", "RF = last − first + 1" if exact else "RF = (RF_next − 1)·s + k", "RF")
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["axis", "step", "layer", "formula", "rf"] if td.per_axis else ["step", "layer", "formula", "rf"])
        for axis, steps in walks:
            for i, row in enumerate(_step_rows(steps), 1):
                w.writerow(([axis] if td.per_axis else []) + [i, *row])
        return out.getvalue()
    global_text = _("{layer} sees its whole input, so its field is the whole input: {size} (global)").format(
        layer=td.layer, size=pair_text(td.size))
    if fmt == "markdown":
        lines = []
        for axis, steps in walks:
            if td.is_global:
                break
            if axis:
                lines.append(f"\n{axis}:\n")
            lines += ["| " + " | ".join(header) + " |", "|---:|---|---|---:|"]
            lines += [f"| {i} | {l} | {f} | {s} |" for i, (l, f, s) in enumerate(_step_rows(steps), 1)]
        lines.append(global_text if td.is_global else f"\nReceptive field of {td.layer}: **{pair_text(td.size)}**")
        return "\n".join(lines) + "\n"
    from rich.console import Group
    from rich.text import Text

    from .fit_table import FitColumn, FitTable
    if td.is_global:
        return Text(global_text, style="bold")
    parts: list[object] = []
    for axis, steps in walks:
        if exact:
            title = _("Receptive field of {layer}'s unit {unit}, top-down: the units of each layer's input that reach "
                      "it, first to last (upsampling and transposed convolution have no single recursion)").format(
                layer=td.layer, unit=pair_text(td.units))
        else:
            title = _("Receptive field of {layer}, top-down: RF_L = k_L, then RF_i = (RF_i+1 − 1)·s_i + k_i").format(
                layer=td.layer)
        parts.append(Text(f"{title} ({axis})" if axis else title))
        columns = [FitColumn(_(h), right=h in ("step", "RF"), fold=h == "layer") for h in header]
        parts.append(FitTable(columns, [[str(i), *row] for i, row in enumerate(_step_rows(steps), 1)]))
    result = _("Receptive field of {layer}: {size}").format(layer=td.layer, size=pair_text(td.size))
    parts.append(Text(result, style="bold"))
    return Group(*parts)


def render_zoo(rows: list[tuple[str, str, tuple[int, ...], int, str]], fmt: str) -> object:
    """rows: (family, name, input shape, params, description), grouped by family in order."""
    if fmt == "json":  # one architecture a line; the input as a list, as `params --format json` gives it
        items = [json.dumps({"name": n, "input": list(i), "params": p, "description": d, "family": f},
                            ensure_ascii=False) for f, n, i, p, d in rows]
        return "[\n" + ",\n".join("  " + item for item in items) + "\n]" if items else "[]"
    texts = [(f, n, shape_text(i), p, d) for f, n, i, p, d in rows]
    if fmt == "csv":  # family last: the columns before it keep their places
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["name", "input", "params", "description", "family"])
        w.writerows([(n, i, p, d, f) for f, n, i, p, d in texts])
        return out.getvalue()
    if fmt == "markdown":
        lines = ["| family | name | input | params | description |", "|---|---|---|---:|---|"]
        lines += [f"| {f} | {n} | {i} | {p:,} | {d} |" for f, n, i, p, d in texts]
        return "\n".join(lines) + "\n"
    from rich import box
    from rich.table import Table
    from rich.text import Text
    table = Table(box=box.SIMPLE_HEAVY)
    for h, j in (("Name", "left"), ("Input", "left"), ("Params", "right"), ("Description", "left")):
        # Only the description may wrap; a name, a shape or a number is never cut.
        table.add_column(h, justify=j, no_wrap=h != "Description")
    family = None
    for f, n, i, p, d in texts:
        if f != family:  # a family's name on a line of its own above its networks
            if family is not None:
                table.add_row()
            table.add_row(Text(f, style="bold"))
            family = f
        table.add_row("  " + n, i, f"{p:,}", d)
    return table
