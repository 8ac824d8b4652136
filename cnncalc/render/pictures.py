"""The four pictures of `cnncalc draw` and the report, by style name."""
from __future__ import annotations

from ..structure import Drawing
from .draw_cost import render_cost_svg
from .draw_graph import render_graph_svg
from .draw_maps import render_maps_svg
from .draw_rf import render_rf_svg

STYLES = ("maps", "graph", "rf", "cost")


def default_style(drawing: Drawing) -> str:
    """The paper figure for a network with one path, the graph for one with branches."""
    return "maps" if drawing.sequential else "graph"


def render_picture(drawing: Drawing, style: str, ident: str = "") -> str:
    """The SVG text of one style. `ident` keeps ids apart when several share an HTML page."""
    a = drawing.analysis
    if style == "maps":
        return render_maps_svg(a, drawing.parts, ident or "maps")
    if style == "graph":
        return render_graph_svg(a, drawing.parts, ident or "graph")
    if style == "rf":
        return render_rf_svg(a, ident or "rf")
    return render_cost_svg(a, list(drawing.cost), drawing.cost_grouped, ident or "cost")
