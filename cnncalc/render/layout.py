"""Geometry of the graph picture, and nothing else: boxes of given sizes stacked top to bottom,
lanes side by side that rejoin, frames around groups. It knows no layer, count or SVG; the graph
renderer measures the boxes' text, asks for a layout and draws what comes back.

Edges never cross a box: in a sequence every box is centred on one vertical line, and lanes split
and rejoin along horizontal rails in the free band above and below the lanes, each lane keeping
its own column (an empty lane, the identity, is a line down its own column)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

GAP_Y = 22.0  # between boxes of a sequence (room for the arrow)
GAP_X = 18.0  # between lanes
RAIL = 14.0  # from a split or join rail to the boxes
IDENTITY_W = 16.0  # the column of an empty lane
FRAME_PAD = 10.0


@dataclass
class Leaf:
    key: object
    w: float
    h: float


@dataclass
class Seq:
    items: list["Item"]


@dataclass
class Par:
    lanes: list[Seq]  # an empty Seq is the identity
    join: Leaf


@dataclass
class Group:
    key: object
    title_w: float  # the title sits at the frame's top left, left of the edge through the middle
    title_h: float
    body: Seq


Item = Union[Leaf, Seq, Par, Group]


@dataclass
class Placed:
    """Where everything went: a rectangle per leaf and group key, and the edges as polylines."""

    rects: dict[object, tuple[float, float, float, float]] = field(default_factory=dict)  # x, y, w, h
    edges: list[list[tuple[float, float]]] = field(default_factory=list)  # each ends with an arrow
    lines: list[list[tuple[float, float]]] = field(default_factory=list)  # rails, without arrows
    width: float = 0.0
    height: float = 0.0


def size(item: Item) -> tuple[float, float]:
    """Width and height of an item, memoised on the item (a network of 1,000 layers asks often)."""
    cached = getattr(item, "_size", None)
    if cached is not None:
        return cached
    if isinstance(item, Leaf):
        result = (item.w, item.h)
    elif isinstance(item, Seq):
        sizes = [size(i) for i in item.items]
        result = (max((w for w, _ in sizes), default=0.0),
                  sum(h for _, h in sizes) + GAP_Y * max(len(sizes) - 1, 0))
    elif isinstance(item, Par):
        lanes = [size(lane) if lane.items else (IDENTITY_W, 0.0) for lane in item.lanes]
        width = max(sum(w for w, _ in lanes) + GAP_X * (len(lanes) - 1), item.join.w)
        result = (width, RAIL * 2 + max(h for _, h in lanes) + RAIL * 2 + item.join.h)
    else:
        bw, bh = size(item.body)
        # Wide enough that the title ends before the edge that runs down the middle.
        width = max(bw + 2 * FRAME_PAD, 2 * (item.title_w + FRAME_PAD + 6))
        result = (width, item.title_h + bh + 2 * FRAME_PAD)
    item._size = result  # type: ignore[union-attr]
    return result


def place(root: Seq, margin: float, top: float) -> Placed:
    out = Placed()
    w, h = size(root)
    _place(root, margin, top, w, out)
    out.width, out.height = w + 2 * margin, h + top + margin
    return out


def _place(item: Item, x: float, y: float, width: float, out: Placed) -> None:
    """Place `item` centred in the column [x, x + width) with its top at y."""
    iw, ih = size(item)
    cx = x + width / 2
    left = cx - iw / 2
    if isinstance(item, Leaf):
        out.rects[item.key] = (left, y, iw, ih)
    elif isinstance(item, Seq):
        cy = y
        for n, child in enumerate(item.items):
            _, ch = size(child)
            _place(child, left, cy, iw, out)
            if n:
                out.edges.append([(cx, cy - GAP_Y), (cx, cy)])
            cy += ch + GAP_Y
    elif isinstance(item, Par):
        _place_par(item, left, y, iw, ih, out)
    else:
        out.rects[item.key] = (left, y, iw, ih)
        body_top = y + FRAME_PAD + item.title_h
        out.lines.append([(cx, y), (cx, body_top)])  # the edge enters at the top and goes on to the body
        bw, bh = size(item.body)
        _place(item.body, left, body_top, iw, out)
        out.lines.append([(cx, body_top + bh), (cx, y + ih)])


def _place_par(item: Par, left: float, y: float, iw: float, ih: float, out: Placed) -> None:
    cx = left + iw / 2
    widths = [size(lane)[0] if lane.items else IDENTITY_W for lane in item.lanes]
    inner = sum(widths) + GAP_X * (len(widths) - 1)
    lx = cx - inner / 2
    split_y, lanes_top = y + RAIL, y + 2 * RAIL
    lanes_h = max(size(lane)[1] for lane in item.lanes)
    join_rail = lanes_top + lanes_h + RAIL
    join_top = join_rail + RAIL
    out.lines.append([(cx, y), (cx, split_y)])
    for lane, lw in zip(item.lanes, widths):
        lcx = lx + lw / 2
        if lane.items:
            _place(lane, lx, lanes_top, lw, out)
            bottom = lanes_top + size(lane)[1]
            out.edges.append([(lcx, split_y), (lcx, lanes_top)] if lcx == cx else
                             [(cx, split_y), (lcx, split_y), (lcx, lanes_top)])
            out.lines.append([(lcx, bottom), (lcx, join_rail), (cx, join_rail)])
        else:
            out.lines.append([(cx, split_y), (lcx, split_y), (lcx, join_rail), (cx, join_rail)])
        lx += lw + GAP_X
    out.edges.append([(cx, join_rail), (cx, join_top)])
    _place(item.join, left, join_top, iw, out)
