"""`cnncalc draw --style graph`: every layer (or block) as a box with its kind, output shape and
params; residual and concat paths side by side; repeats drawn once and marked ×n."""
from __future__ import annotations

from ..i18n import _
from ..records import Analysis
from ..structure import Box, Frame, Lanes, Part, common_scope
from . import layout
from .columns import shape_text
from .explain_view import kind_label
from .picture_text import kind_class, kind_text, local_name, params_text
from .svg import Svg
from .text_metrics import text_width

FONT = 12.0
LINE_H = 16.0
PAD_X, PAD_Y = 8.0, 6.0
MARGIN, HEADER = 16.0, 52.0


def _box_lines(part: Box, scope: str) -> list[tuple[str, str]]:
    """(class, text) per line: name, kind (and the folded followers), shape and params."""
    r = part.record
    kinds = kind_text(r) + "".join(" + " + kind_label(f.type) for f in part.records[1:])
    last = shape_text(part.output)
    lines = [("lbl-b", local_name(part.name, scope)), ("lbl", kinds)]
    lines.append(("lbl", f"{last} · {params_text(part.params)}" if part.params else last))
    return lines


def _join_lines(part: Lanes, scope: str) -> list[tuple[str, str]]:
    kinds = kind_label(part.merge.type) + "".join(" + " + kind_label(f.type) for f in part.followers)
    return [("lbl-b", local_name(part.merge.name, scope)), ("lbl", f"{kinds} → {shape_text(part.output)}")]


def _frame_title(part: Frame, scope: str) -> str:
    name = local_name(part.name, scope)
    if part.passes > 1:
        first = local_name(part.first_pass, scope)
        last = _numbered_end(part.last_pass)
        title = _("{name} ×{n} · {params}").format(name=f"{first}–{last}", n=part.passes,
                                                   params=params_text(part.params))
        if not part.exact:  # DenseNet's layers: one structure, growing shapes
            shown = local_name(part.first_pass, part.first_pass.rsplit(".", 1)[0])
            title += " · " + _("shapes of {name}").format(name=shown)
        return title
    return f"{name} · {params_text(part.params)}"


def _numbered_end(name: str) -> str:
    """The number that ends a pass's name (`6` of `denselayer6`), for `denselayer1–6`."""
    last = name.rsplit(".", 1)[-1]
    digits = last[len(last.rstrip("0123456789")):]
    return digits or last


class _Builder:
    """Turns parts into layout items, measuring every label; `labels` keeps what to write where."""

    def __init__(self):
        self.labels: dict[int, tuple[str, list[tuple[str, str]], str]] = {}  # key → (css class, lines, tooltip)
        self.frames: dict[int, tuple[str, int, str]] = {}  # key → (title, passes, tooltip)

    def _leaf(self, lines: list[tuple[str, str]], cls: str, tooltip: str) -> layout.Leaf:
        key = len(self.labels) + len(self.frames)
        self.labels[key] = (cls, lines, tooltip)
        w = max(text_width(t, FONT, c == "lbl-b") for c, t in lines) + 2 * PAD_X
        return layout.Leaf(key, w, len(lines) * LINE_H + 2 * PAD_Y)

    def sequence(self, parts: tuple[Part, ...], scope: str) -> layout.Seq:
        # Names inside the deepest scope every part shares (`block.0` rather than `0.block.0`).
        shared = common_scope([p.merge.name if isinstance(p, Lanes) else p.name for p in parts])
        if len(parts) > 1 and (shared.startswith(scope + ".") or (shared and not scope)):
            scope = shared
        return layout.Seq([self.item(p, scope) for p in parts])

    def item(self, part: Part, scope: str) -> layout.Item:
        if isinstance(part, Box):
            return self._leaf(_box_lines(part, scope), kind_class(part.record.type), part.record.name)
        if isinstance(part, Lanes):
            lanes = [self.sequence(lane, lane_scope or scope) for lane, lane_scope in zip(part.lanes, part.lane_scopes)]
            return layout.Par(lanes, self._leaf(_join_lines(part, scope), "merge", part.merge.name))
        key = len(self.labels) + len(self.frames)
        title = _frame_title(part, scope)
        self.frames[key] = (title, part.passes, part.name)
        body = self.sequence(part.parts, part.first_pass or part.name)
        return layout.Group(key, text_width(title, FONT, True), LINE_H + 2, body)


def render_graph_svg(a: Analysis, parts: tuple[Part, ...], ident: str = "graph") -> str:
    b = _Builder()
    root = b.sequence(parts, "")
    placed = layout.place(root, MARGIN, HEADER)
    title = _("{name}: layers and their outputs").format(name=a.name)
    sub = _("input {shape} · {params} · boxes: name, kind, output, params").format(
        shape=shape_text(a.input), params=params_text(a.totals.params))
    width = max(placed.width, text_width(title, 15, True) + 2 * MARGIN, text_width(sub, 12) + 2 * MARGIN)
    svg = Svg(width, placed.height, title, ident)
    svg.text(MARGIN, 24, title, "title")
    svg.text(MARGIN, 42, sub, "sub")
    dx = (width - placed.width) / 2  # a narrow network is centred under its title
    for key, (title_text, passes, tooltip) in b.frames.items():
        x, y, w, h = placed.rects[key]
        for k in range(min(passes, 3) - 1, 0, -1):  # a repeat drawn once: its other passes as cards behind
            svg.rect(x + dx + 4 * k, y - 4 * k, w, h, "shadow", 6)
        svg.open_group("box frame", tooltip)
        svg.rect(x + dx, y, w, h, "b", 6)
        svg.text(x + dx + layout.FRAME_PAD, y + layout.FRAME_PAD + FONT, title_text, "lbl-b")
        svg.close_group()
    for points in placed.lines:
        svg.polyline([(px + dx, py) for px, py in points], "edge")
    for points in placed.edges:
        svg.polyline([(px + dx, py) for px, py in points], "edge", arrow=True)
    for key, (cls, lines, tooltip) in b.labels.items():
        x, y, w, h = placed.rects[key]
        svg.open_group(f"box {cls}", tooltip)
        svg.rect(x + dx, y, w, h, "b", 4)
        for n, (tcls, text) in enumerate(lines):
            svg.text(x + dx + w / 2, y + PAD_Y + n * LINE_H + FONT, text, tcls, "middle")
        svg.close_group()
    return svg.text_document()
