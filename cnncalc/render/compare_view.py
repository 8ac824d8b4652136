"""`cnncalc compare` in five formats: table, JSON, CSV, Markdown and LaTeX (booktabs). Every format
carries the footnote saying what the MACs column counts. Nothing is counted here: the rows come
from cnncalc.compare; this module formats them and the differences between two of them."""
from __future__ import annotations

import csv
import io
import json

from rich.console import Group
from rich.text import Text

from ..compare import Comparison, Row
from .analysis_view import _hidden_hint
from .columns import pair_text, shape_text
from .fit_table import FitColumn, FitTable

FORMATS = ("table", "json", "csv", "markdown", "latex")


def _three(v: float) -> str:
    """Three significant digits, trailing zeros kept (1.50, 31.4, 143, 1,024)."""
    return f"{v:,.0f}" if v >= 99.95 else f"{v:#.3g}"


def si(n: int) -> str:
    """A count with a metric prefix: 11.7 M, 4.09 G, 948 k."""
    for prefix, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if abs(n) >= size:
            return f"{'-' if n < 0 else ''}{_three(abs(n) / size)} {prefix}"
    return str(n)


def si_bytes(n: int) -> str:
    for prefix, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{_three(n / size)} {prefix}"
    return f"{n} B"


def _hw(r: Row) -> str:
    """The input's height × width (the channels are each network's own)."""
    return shape_text(r.input[1:]) if len(r.input) == 3 else shape_text(r.input)


def _times(value: int, first: int) -> str:
    return f"{value / first:.2f}" if first else "—"


def _signed(n: int) -> str:
    return f"{n:+,}"


def _rf(r: Row) -> str:
    if r.rf is None:
        return "—"
    return "global" if r.rf_global else pair_text(r.rf)


def _first(group: list[Row]) -> Row | None:
    return group[0] if group[0].refused is None else None


def _summary_rows(c: Comparison) -> list[tuple[Row, Row | None]]:
    """(row, the first network's row at the same size, when it has numbers)."""
    return [(r, _first(g)) for g in c.by_size() for r in g]


# -- JSON ----------------------------------------------------------------------------------------
def _row_json(r: Row, first: Row | None, c: Comparison) -> dict:
    out: dict = {"network": r.network, "input": list(r.input)}
    if r.refused is not None:
        out["refused"] = r.refused
        return out
    out.update(params=r.params, macs=r.macs, activation_bytes=r.activation_bytes, param_bytes=r.param_bytes,
               rf=list(r.rf) if r.rf else None, rf_global=r.rf_global, depth=r.depth)
    if first is not None:
        out["vs_first"] = {
            f"{k}_diff": getattr(r, k) - getattr(first, k) for k in ("params", "macs", "activation_bytes")} | {
            f"{k}_ratio": getattr(r, k) / getattr(first, k) if getattr(first, k) else None
            for k in ("params", "macs", "activation_bytes")}
    out["stages"] = {s: {"params": r.stages[s][0], "macs": r.stages[s][1]} for s in c.shared_stages}
    if r.convention is not None:
        out["convention"] = r.convention.to_json()
    return out


def _json(c: Comparison) -> str:
    data = {
        "networks": list(c.networks),
        "inputs": None if c.sizes == (None,) else [list(s) for s in c.sizes],
        "batch": c.batch,
        "dtype": c.dtype,
        "convention": c.convention,
        "footnote": c.footnote,
        "shared_stages": list(c.shared_stages),
        "rows": [_row_json(r, f, c) for r, f in _summary_rows(c)],
    }
    rows = ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in data.pop("rows"))
    head = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in data.items())
    return "{\n" + head + ',\n  "rows": [\n' + rows + "\n  ]\n}"


# -- CSV -----------------------------------------------------------------------------------------
def _csv(c: Comparison) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    stage_cols = [f"{s}_{k}" for s in c.shared_stages for k in ("params", "macs")]
    w.writerow(["network", "input", "params", "macs", "activation_bytes", "param_bytes", "rf", "depth",
                "params_diff", "macs_diff", "params_ratio", "macs_ratio", *stage_cols, "convention", "batch",
                "refused"])
    counted_as = c.convention or "cnncalc"
    for r, first in _summary_rows(c):
        if r.refused is not None:
            w.writerow([r.network, shape_text(r.input)] + [""] * (10 + len(stage_cols)) + [counted_as, c.batch,
                                                                                             r.refused])
            continue
        vs = ["", "", "", ""] if first is None else [
            r.params - first.params, r.macs - first.macs, _times(r.params, first.params), _times(r.macs, first.macs)]
        stages = [v for s in c.shared_stages for v in r.stages[s]]
        w.writerow([r.network, shape_text(r.input), r.params, r.macs, r.activation_bytes, r.param_bytes, _rf(r),
                    r.depth, *vs, *stages, counted_as, c.batch, ""])
    return out.getvalue()


# -- the three text layouts (table, Markdown, LaTeX) share these rows ----------------------------
MAIN_HEADER = ("Network", "Input", "Params", "MACs", "Memory", "RF", "Depth")
DIFF_HEADER = ("Network", "Input", "Δ params", "×", "Δ MACs", "×")


def _main_cells(c: Comparison) -> list[list[str]]:
    rows = []
    for r, first in _summary_rows(c):
        if r.refused is not None:
            rows.append([r.network, _hw(r), "cannot take this input", "", "", "", ""])
            continue
        rows.append([r.network, _hw(r), si(r.params), si(r.macs), si_bytes(r.activation_bytes), _rf(r), str(r.depth)])
    return rows


def _diff_cells(c: Comparison) -> list[list[str]]:
    rows = []
    for group in c.by_size():
        first = _first(group)
        for r in group[1:]:
            if first is not None and r.refused is None:
                rows.append([r.network, _hw(r), _signed(r.params - first.params), _times(r.params, first.params),
                             _signed(r.macs - first.macs), _times(r.macs, first.macs)])
    return rows


def _stage_cells(c: Comparison) -> tuple[list[str], list[list[str]]]:
    header = ["Stage", "Input", *c.networks]
    rows = []
    for group in c.by_size():
        for s in c.shared_stages:
            rows.append([s, _hw(group[0]),
                         *(si(r.stages[s][1]) if r.refused is None else "—" for r in group)])
    return header, rows


def _refusals(c: Comparison) -> list[str]:
    return [f"{r.network} at {shape_text(r.input)}: {r.refused}" for r in c.rows if r.refused is not None]


def _titles(c: Comparison) -> tuple[str, str, str]:
    first = c.networks[0]
    return ("Networks side by side", f"Against {first} at the same input: difference (exact) and ratio ×",
            "MACs per stage (top-level scopes every network has)")


def _table(c: Comparison) -> Group:
    main_t, diff_t, stage_t = _titles(c)
    right = {"Params", "×", "MACs", "Memory", "RF", "Depth", "Δ params", "Δ MACs"}
    # Too narrow even so (long names), Depth then RF are hidden and named before a name is folded.
    hide = {"Depth": 1, "RF": 2}

    def fit(header, rows, title, folded=("Network", "Stage")):
        columns = [FitColumn(h, right=h in right or h in c.networks, hide=hide.get(h, 0) if header is MAIN_HEADER
                             else 0, fold=h in folded) for h in header]
        return FitTable(columns, rows, title, _hidden_hint)

    parts: list = [fit(MAIN_HEADER, _main_cells(c), main_t)]
    diffs = _diff_cells(c)
    if diffs:
        parts.append(fit(DIFF_HEADER, diffs, diff_t))
    if c.shared_stages:
        header, rows = _stage_cells(c)
        parts.append(fit(header, rows, stage_t))
    elif len(c.networks) > 1:
        parts.append(Text("No top-level scope (layer1 …) is shared by every network: no per-stage breakdown."))
    parts += [Text(f"cannot take: {line}", style="yellow") for line in _refusals(c)]
    parts.append(Text(f"note: {c.footnote}"))
    return Group(*parts)


def _markdown(c: Comparison) -> str:
    main_t, diff_t, stage_t = _titles(c)

    def table(header, rows, title):
        aligns = ["---" if i < 2 else "---:" for i in range(len(header))]
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
        return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows] + [""]

    lines = table(MAIN_HEADER, _main_cells(c), main_t)
    if _diff_cells(c):
        lines += table(DIFF_HEADER, _diff_cells(c), diff_t)
    if c.shared_stages:
        lines += table(*_stage_cells(c), stage_t)
    lines += [f"- cannot take: {line}" for line in _refusals(c)]
    lines.append(f"\n{c.footnote}")
    return "\n".join(lines) + "\n"


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "×": r"$\times$", "·": r"$\cdot$", "Δ": r"$\Delta$", "—": "---", "…": r"\ldots{}", "−": "-"}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex(c: Comparison) -> str:
    """A `table` float for a paper (needs \\usepackage{booktabs}); the footnote as the last row."""
    cells = _main_cells(c)
    spec = "ll" + "r" * (len(MAIN_HEADER) - 2)
    lines = [r"% cnncalc compare: needs \usepackage{booktabs}", r"\begin{table}[t]", r"\centering",
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(h) for h in MAIN_HEADER) + r" \\", r"\midrule"]
    for row in cells:
        if row[2] == "cannot take this input":
            row = [*row[:2], rf"\multicolumn{{{len(MAIN_HEADER) - 2}}}{{l}}{{cannot take this input}}"]
            lines.append(" & ".join(latex_escape(x) for x in row[:2]) + " & " + row[2] + r" \\")
        else:
            lines.append(" & ".join(latex_escape(x) for x in row) + r" \\")
    note = latex_escape(c.footnote)
    lines += [r"\bottomrule",
              rf"\multicolumn{{{len(MAIN_HEADER)}}}{{p{{0.95\linewidth}}}}{{\footnotesize {note}}} \\",
              r"\end{tabular}",
              rf"\caption{{{latex_escape(' vs. '.join(c.networks))}}}",
              r"\end{table}"]
    return "\n".join(lines) + "\n"


def render_compare(c: Comparison, fmt: str) -> object:
    return {"json": _json, "csv": _csv, "markdown": _markdown, "latex": _latex}.get(fmt, _table)(c)
