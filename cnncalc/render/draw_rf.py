"""`cnncalc draw --style rf`: receptive-field size and jump against depth, the input size as a
line, and the first layer whose field covers the whole input marked."""
from __future__ import annotations

from ..i18n import _
from ..records import Analysis
from .svg import Svg
from .text_metrics import text_width

FONT = 12.0
MARGIN, HEADER = 16.0, 50.0
LEGEND_H = 24.0
PLOT_H = 320.0
AXIS_W = 56.0  # room for the y tick labels
NAMES_UP_TO = 40  # layers; beyond this the x axis is numbered instead of named


def _nice_step(span: float, ticks: int = 6) -> int:
    raw = max(span / ticks, 1)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if step >= raw:
            return step
    return int(raw)


def _covers(size: tuple, is_global: bool, image: tuple[int, ...]) -> bool:
    return is_global or (None not in size and all(s >= i for s, i in zip(size, image)))


def render_rf_svg(a: Analysis, ident: str = "rf") -> str:
    layers = a.layers
    image = a.input[1:] if len(a.input) == 3 else (1, 1)
    n = len(layers)
    sizes_h = [r.rf.size[0] for r in layers]
    sizes_w = [r.rf.size[1] for r in layers]
    jumps = [r.rf.jump[0] for r in layers]
    two_axes = sizes_h != sizes_w
    first = next((i for i, r in enumerate(layers) if _covers(r.rf.size, r.rf.is_global, image)), None)
    top_value = max([*image, *(v for v in sizes_h + sizes_w + jumps if v is not None), 1])
    step = _nice_step(top_value)
    y_max = step * (-(-top_value // step) + (1 if top_value % step == 0 else 0))
    named = n <= NAMES_UP_TO
    spacing = max(18.0, min(600.0 / max(n, 1), 40.0)) if named else max(1.0, min(1000.0 / max(n, 1), 18.0))
    plot_w = max(spacing * max(n, 1), 420.0)
    names_h = max((text_width(r.name, 11) for r in layers), default=0) + 10 if named else 24.0
    plot_x, plot_y = MARGIN + AXIS_W, HEADER + LEGEND_H + 10

    def px(i: int) -> float:  # layer i (0-based) at the middle of its slot
        return plot_x + (i + 0.5) * plot_w / max(n, 1)

    def py(v: float) -> float:
        return plot_y + PLOT_H - v / y_max * PLOT_H

    title = _("{name}: receptive field by depth").format(name=a.name)
    sub = _("size and jump in input pixels, per layer (x: depth)")
    legend = [("line-rf", _("RF size (H)") if two_axes else _("RF size")), ("line-jump", _("jump"))]
    if two_axes:
        legend.insert(1, ("line-rf-w", _("RF size (W)")))
    legend.append(("line-input", _("input {size}").format(size="×".join(map(str, image)))))
    if first is not None:
        legend.append(("mark", _("{layer} first covers the input (layer {n})").format(
            layer=layers[first].name, n=first + 1)))
    legend_w = sum(text_width(t, FONT) + 34 for _cls, t in legend)
    width = max(plot_x + plot_w + MARGIN, MARGIN + legend_w, text_width(title, 15, True) + 2 * MARGIN,
                text_width(sub, 12) + 2 * MARGIN)
    height = plot_y + PLOT_H + names_h + 22 + MARGIN
    svg = Svg(width, height, title, ident)
    svg.text(MARGIN, 24, title, "title")
    svg.text(MARGIN, 42, sub, "sub")
    lx = MARGIN
    for cls, text in legend:  # one row: a sample of each line, then its words
        y = HEADER + 12
        if cls == "mark":
            svg.line(lx + 12, y - 9, lx + 12, y + 3, cls)
        else:
            svg.line(lx, y - 4, lx + 24, y - 4, cls)
        svg.text(lx + 30, y, text)
        lx += text_width(text, FONT) + 34
    # Grid and y axis.
    v = 0
    while v <= y_max:
        svg.line(plot_x, py(v), plot_x + plot_w, py(v), "grid")
        svg.text(plot_x - 6, py(v) + 4, f"{v:,}", "small", "end")
        v += step
    svg.line(plot_x, plot_y, plot_x, plot_y + PLOT_H, "axis")
    svg.line(plot_x, plot_y + PLOT_H, plot_x + plot_w, plot_y + PLOT_H, "axis")
    # The x axis: names bottom-up under each layer, or every k-th layer's number.
    if named:
        for i, r in enumerate(layers):
            svg.text(px(i) + 4, plot_y + PLOT_H + 6, r.name, "small", "end", rotate=True)
    else:
        k = _nice_step(n, 10)
        for i in range(0, n, k):
            svg.text(px(i), plot_y + PLOT_H + 16, str(i + 1), "small", "middle")
    svg.text(plot_x + plot_w / 2, height - MARGIN + 4, _("layer (depth)"), "small", "middle")
    svg.line(plot_x, py(image[0]), plot_x + plot_w, py(image[0]), "line-input")
    if first is not None:
        svg.line(px(first), plot_y, px(first), plot_y + PLOT_H, "mark")
    for values, cls in ((jumps, "line-jump"), (sizes_h, "line-rf")) + (((sizes_w, "line-rf-w"),) if two_axes else ()):
        for run in _runs(values):
            svg.polyline([(px(i), py(values[i])) for i in run], cls)
    if named:
        for i, v in enumerate(sizes_h):
            if v is not None:
                svg.circle(px(i), py(v), 2.5, "dot-rf")
    return svg.text_document()


def _runs(values: list) -> list[list[int]]:
    """Indices of the defined values, in unbroken runs (an undefined field breaks the line)."""
    runs: list[list[int]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(i)
    return [r for r in runs if r]
