"""`cnncalc draw --style cost`: params and MACs per layer (per block for long networks) as
horizontal bars, each with its count and its share of the network's total."""
from __future__ import annotations

from ..i18n import _
from ..records import Analysis
from ..structure import CostRow
from .explain_view import kind_label
from .svg import Svg
from .text_metrics import text_width

FONT = 12.0
MARGIN, HEADER = 16.0, 56.0
ROW_H = 20.0
BAR_H = 12.0
BAR_W = 260.0  # the longest bar of a panel
GAP = 24.0


def _value_text(count: int, share: float) -> str:
    """`48,120 (80.2%)`; a share too small to show in tenths is `<0.1%`, not a misleading 0.0%."""
    percent = "0%" if share == 0 else "<0.1%" if share < 0.001 else f"{share:.1%}"
    return f"{count:,} ({percent})"


def render_cost_svg(a: Analysis, rows: list[CostRow], grouped: bool, ident: str = "cost") -> str:
    names = [f"{r.name} ({_('block') if r.kind == 'block' else kind_label(r.kind)})" for r in rows]
    name_w = max((text_width(t, FONT) for t in names), default=0.0) + 10
    panels = []
    for key, header, cls in (("params", _("params"), "bar-p"), ("macs", _("MACs"), "bar-m")):
        shares = [r.params_share if key == "params" else r.macs_share for r in rows]
        texts = [_value_text(getattr(r, key), share) for r, share in zip(rows, shares)]
        top = max(shares, default=0.0) or 1.0
        text_w = max((text_width(t, FONT) for t in texts), default=0.0)
        panels.append((header, cls, texts, shares, top, max(BAR_W + 6 + text_w, text_width(header, FONT, True))))
    title = _("{name}: where the params and MACs are").format(name=a.name)
    sub = (_("per block or layer group; share of the network's total") if grouped
           else _("per layer with params or MACs; share of the network's total"))
    width = max(MARGIN + name_w + sum(p[5] + GAP for p in panels) + MARGIN,
                text_width(title, 15, True) + 2 * MARGIN, text_width(sub, 12) + 2 * MARGIN)
    height = HEADER + 20 + ROW_H * max(len(rows), 1) + MARGIN
    svg = Svg(width, height, title, ident)
    svg.text(MARGIN, 24, title, "title")
    svg.text(MARGIN, 42, sub, "sub")
    y0 = HEADER + 20
    for i, name in enumerate(names):
        if i % 2:
            svg.rect(MARGIN, y0 + i * ROW_H, width - 2 * MARGIN, ROW_H, "stripe")
        svg.text(MARGIN + name_w - 10, y0 + i * ROW_H + 14, name, "lbl", "end")
    x = MARGIN + name_w
    for header, cls, texts, shares, top, panel_w in panels:
        svg.text(x, HEADER + 12, header, "lbl-b")
        for i, (text, share) in enumerate(zip(texts, shares)):
            y = y0 + i * ROW_H
            bar = BAR_W * share / top
            if bar > 0:
                svg.rect(x, y + (ROW_H - BAR_H) / 2, max(bar, 1.0), BAR_H, cls)
            svg.text(x + bar + 6, y + 14, text, "lbl")
        x += panel_w + GAP
    return svg.text_document()
