"""`cnncalc draw --style maps`: the paper figure. Each feature map a cuboid (channels across, height
up, width receding), on log scales so that LeNet's 32×32 and AlexNet's 224×224 both fit; dense
layers as bars; a windowed layer's kernel drawn on the map it reads, projected to the next."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..i18n import _
from ..records import Analysis
from ..structure import Box, Frame, Lanes, Part, is_follower, stages
from .explain_view import kind_label
from .picture_text import kind_text, local_name, map_label
from .svg import Svg
from .text_metrics import text_width

FONT = 12.0
MARGIN, HEADER = 16.0, 56.0
GAP = 22.0  # between columns
NAME_H, LABEL_H = 18.0, 34.0  # the name above a map, the two label lines below it
ROW_WIDTH = 1800.0  # a longer network wraps onto further rows
RECEDE = 0.8  # the channel axis recedes up and right at 45°, this many px per px of depth


def _log_px(n: int, scale: float, base: float) -> float:
    return base + scale * math.log2(max(n, 1))


@dataclass
class _Map:
    name: str
    shape: tuple[int, ...]
    kind: str  # "" for the input; the kind text of the layer that made it
    kernel: tuple[int, int] | None  # the window of the layer that made it (drawn on the previous map)

    @property
    def is_map(self) -> bool:
        return len(self.shape) == 3

    def body(self) -> tuple[float, float, float]:
        """Front-face width (W) and height (H), and how far the channel axis recedes (C)."""
        if self.is_map:
            c, h, w = self.shape
            return _log_px(w, 17, 10), _log_px(h, 17, 10), _log_px(c, 5, 2) * RECEDE
        return 10.0, _log_px(self.shape[0] if self.shape else 1, 9, 6), 0.0


def _maps(a: Analysis, parts: tuple[Part, ...]) -> list[_Map]:
    """The input, then the output of each top-level part (a block or a merge stands as one map)."""
    maps = [_Map(_("input"), a.input, "", None)]
    for p, scope in stages(parts):
        if isinstance(p, Box) and (p.record.type == "flatten" or all(map(is_follower, p.records))):
            continue  # flatten: the next bar says the length; a batch norm or ReLU alone: the same map again
        if isinstance(p, Box):
            r = p.record
            kernel = r.options.get("kernel")
            window = kernel if isinstance(kernel, tuple) and len(kernel) == 2 else None
            maps.append(_Map(local_name(p.name, scope), p.output, kind_text(r), window))
        elif isinstance(p, Lanes):
            maps.append(_Map(local_name(p.merge.name, scope), p.output, kind_label(p.merge.type), None))
        elif isinstance(p, Frame):
            label = _("block ×{n}").format(n=p.passes) if p.passes > 1 else _("block")
            maps.append(_Map(local_name(p.name, scope), p.output, label, None))
    return maps


def render_maps_svg(a: Analysis, parts: tuple[Part, ...], ident: str = "maps") -> str:
    maps = _maps(a, parts)
    texts = [(m.name, map_label(m.shape), m.kind) for m in maps]
    columns = []
    for m, (name, label, kind) in zip(maps, texts):
        fw, fh, rec = m.body()
        text_w = max(text_width(name, FONT, True), text_width(label, FONT), text_width(kind, 11))
        columns.append((max(fw + rec, text_w), fw, fh, rec))
    # Rows: as many columns as fit ROW_WIDTH; each row as tall as its tallest body.
    rows: list[list[int]] = [[]]
    x = 0.0
    for i, (cw, *_rest) in enumerate(columns):
        if rows[-1] and x + cw > ROW_WIDTH:
            rows.append([])
            x = 0.0
        rows[-1].append(i)
        x += cw + GAP
    title = _("{name}: feature maps").format(name=a.name)
    sub = _("C@H×W; face ∝ log H and log W, depth ∝ log channels; kernel windows in red")
    width = max(max(sum(columns[i][0] for i in row) + GAP * (len(row) - 1) for row in rows) + 2 * MARGIN,
                text_width(title, 15, True) + 2 * MARGIN, text_width(sub, 12) + 2 * MARGIN)
    row_heights = [max(columns[i][2] + columns[i][3] for i in row) for row in rows]
    height = HEADER + sum(NAME_H + h + LABEL_H + GAP for h in row_heights) + MARGIN
    svg = Svg(width, height, title, ident)
    svg.text(MARGIN, 24, title, "title")
    svg.text(MARGIN, 42, sub, "sub")
    top = HEADER
    faces: dict[int, tuple[float, float, float, float]] = {}  # map index → its front face x, y, w, h
    for row, body_h in zip(rows, row_heights):
        x = MARGIN
        base = top + NAME_H + body_h  # every body in a row stands on one line
        for i in row:
            cw, fw, fh, rec = columns[i]
            name, label, kind = texts[i]
            cx = x + cw / 2
            left = cx - (fw + rec) / 2
            _cuboid(svg, left, base - fh, fw, fh, rec, maps[i].is_map)
            faces[i] = (left, base - fh, fw, fh)
            svg.text(cx, top + NAME_H - 6, name, "lbl-b", "middle")
            svg.text(cx, base + 16, label, "lbl", "middle")
            if kind:
                svg.text(cx, base + 30, kind, "small", "middle")
            x += cw + GAP
        top += NAME_H + body_h + LABEL_H + GAP
    for i, m in enumerate(maps):
        prev = maps[i - 1] if i else None
        if m.kernel and prev is not None and prev.is_map and i - 1 in faces and i in faces:
            _window(svg, faces[i - 1], faces[i], m.kernel, prev.shape, same_row=_same_row(rows, i))
    return svg.text_document()


def _same_row(rows: list[list[int]], i: int) -> bool:
    return any(i in row and i - 1 in row for row in rows)


def _cuboid(svg: Svg, x: float, y: float, fw: float, fh: float, rec: float, is_map: bool) -> None:
    if not is_map:
        svg.rect(x, y, fw, fh, "bar-d")
        return
    dy = rec  # the receding axis goes up and right at 45°
    svg.polygon([(x, y), (x + rec, y - dy), (x + fw + rec, y - dy), (x + fw, y)], "top")
    svg.polygon([(x + fw, y), (x + fw + rec, y - dy), (x + fw + rec, y + fh - dy), (x + fw, y + fh)], "side")
    svg.rect(x, y, fw, fh, "face")


def _window(svg: Svg, src: tuple[float, float, float, float], dst: tuple[float, float, float, float],
            kernel: tuple[int, int], in_shape: tuple[int, ...], same_row: bool) -> None:
    """The kernel window on the map it reads (to the scale of the map's size, at least 3 px), and its
    projection onto one unit of the next map. The face is on a log scale, so the window is drawn as
    the same fraction of the face as the kernel is of the map."""
    sx, sy, sw, sh = src
    kh = max(3.0, min(sh, sh * kernel[0] / max(in_shape[1], 1)))
    kw = max(3.0, min(sw, sw * kernel[1] / max(in_shape[2], 1)))
    wx, wy = sx + sw * 0.6 - kw / 2, sy + sh * 0.35 - kh / 2
    wx = max(sx, min(wx, sx + sw - kw))
    wy = max(sy, min(wy, sy + sh - kh))
    svg.rect(wx, wy, kw, kh, "kernel")
    if not same_row:
        return
    dx, dy, dw, dh = dst
    tx, ty = dx + dw * 0.6, dy + dh * 0.35
    svg.line(wx + kw, wy, tx, ty, "proj")
    svg.line(wx + kw, wy + kh, tx, ty, "proj")
