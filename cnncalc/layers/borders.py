"""Explicit zero padding and cropping: the map grows or shrinks at its borders, nothing is computed.

Both move the receptive field like a 1×1 window with stride 1 whose leading padding is the rows
added (`pad`) or minus the rows removed (`crop`): the field's size and jump stay, its start moves.
"""
from __future__ import annotations

from typing import Any

from ..formula import Num
from ..quoting import shown
from ..shapes import AxisResult, Shape
from .base import Counts, Layer, Option, Output, Window


def sides(v: Any) -> tuple[int, int, int, int]:
    """p, [ph, pw] or [top, bottom, left, right], whole numbers ≥ 0 → (top, bottom, left, right)."""
    def whole(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 0
    if whole(v):
        return (v, v, v, v)
    if isinstance(v, list) and all(whole(x) for x in v):
        if len(v) == 2:
            return (v[0], v[0], v[1], v[1])
        if len(v) == 4:
            return tuple(v)  # type: ignore[return-value]
    raise ValueError(f"must be a whole number ≥ 0, [ph, pw] or [top, bottom, left, right], got {shown(v)}")


def _pad_sides(v: Any) -> tuple[int, int, int, int]:
    try:
        return sides(v)
    except ValueError as exc:
        raise ValueError(f"{exc}; to remove rows and columns use `crop`") from None


def _size(v: Any) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
        return (v, v)
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1
                                                   for x in v):
        return (v[0], v[1])
    raise ValueError(f"must be a whole number ≥ 1 or [height, width], got {shown(v)}")


def _branch_name(v: Any) -> str:
    if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v):
        return str(v)
    raise ValueError(f"must name a branch of the concat the crop is in (`crop: {{to: up}}`), got {shown(v)}")


def _axis(axis: str, size: int, lo: int, hi: int, out: int, sign: int) -> AxisResult:
    """One axis of a pad (sign +1) or crop (sign −1): `size ± lo ± hi`, read as a 1×1 window at
    stride 1 with leading padding ±lo, so the coverage pass and the receptive field need no case."""
    expr = Num(size) + lo + hi if sign > 0 else Num(size) - lo - hi
    unread = () if sign > 0 else tuple(range(lo)) + tuple(range(size - hi, size))
    return AxisResult(axis, out, expr, sign * lo, sign * hi, 1, 1, unread=unread)


class Pad(Layer):
    """Zeros added around each map (PyTorch's ZeroPad2d / F.pad with zeros)."""

    kind = "pad"
    primary = "sides"
    options = {"sides": Option(_pad_sides, doc="zeros added: p, [ph, pw] or [top, bottom, left, right]")}

    def output(self, in_shape: Shape) -> Output:
        c, h, w = self.feature_map(in_shape)
        t, b, l, r = self.sides
        return Output((c, h + t + b, w + l + r), (_axis("H", h, t, b, h + t + b, 1), _axis("W", w, l, r, w + l + r, 1)))

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        return Counts()  # a copy with zeros around: no weights, no edges into a computed unit

    def window(self, in_shape: Shape, out: Output) -> Window:
        return Window((1, 1), (1, 1), (self.sides[0], self.sides[2]))

    def forward(self, x, weights):
        import numpy as np
        t, b, l, r = self.sides
        return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))


class Crop(Layer):
    """Rows and columns removed at the borders: to a sibling branch's size (U-Net's skip
    connections), to a fixed size (centred), or by a number of pixels per side.

    `to` names a branch of the concat whose branch holds this crop; the builder records which
    (`reference`), graph.walk walks that branch first and sets `target`, its output's (H, W), before
    this crop runs. A centred crop removes ⌊(H − h)/2⌋ rows before and the rest after, the split
    `padding: same` uses."""

    kind = "crop"
    primary = "to"
    options = {
        "to": Option(_branch_name, None, "a branch of the enclosing concat: centre crop to its height and width"),
        "size": Option(_size, None, "centre crop to [height, width]"),
        "sides": Option(sides, None, "rows/columns removed: p, [ph, pw] or [top, bottom, left, right]"),
    }
    target: Shape | None = None  # set by graph.walk: the output shape of the branch `to` names

    def check(self) -> None:
        given = [k for k in ("to", "size", "sides") if getattr(self, k) is not None]
        if len(given) != 1:
            raise self.fail("crop takes exactly one of `to: BRANCH` (the size of a sibling concat branch), "
                            "`size: [h, w]` (centred) or `sides: [top, bottom, left, right]`"
                            + (f"; got {', '.join(given)}" if given else ""))

    def removed(self, h: int, w: int) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) removed from an h×w map."""
        if self.sides is not None:
            return self.sides
        if self.size is not None:
            th, tw = self.size
            what = f"size {th}×{tw}"
        else:
            if self.target is None:
                raise self.fail(f"crop `to: {self.to}` has no branch to measure: it must be a layer of a "
                                "concat branch, and name another branch of that concat")
            if len(self.target) != 3:
                raise self.fail(f"crop `to: {self.to}` needs a feature map there, but branch {self.to} ends with a "
                                f"vector of {self.target[0]}")
            th, tw = self.target[1:]
            what = f"branch {self.to}'s {th}×{tw}"
        if th > h or tw > w:
            raise self.fail(f"cannot crop the {h}×{w} map to {what}: it is larger; crop the larger map, "
                            "or pad this one")
        return ((h - th) // 2, h - th - (h - th) // 2, (w - tw) // 2, w - tw - (w - tw) // 2)

    def output(self, in_shape: Shape) -> Output:
        c, h, w = self.feature_map(in_shape)
        t, b, l, r = self.removed(h, w)
        if t + b >= h or l + r >= w:
            raise self.fail(f"cropping {t}+{b} rows and {l}+{r} columns leaves nothing of the {h}×{w} map; "
                            "crop fewer")
        oh, ow = h - t - b, w - l - r
        return Output((c, oh, ow), (_axis("H", h, t, b, oh, -1), _axis("W", w, l, r, ow, -1)))

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        return Counts()

    def window(self, in_shape: Shape, out: Output) -> Window:
        return Window((1, 1), (1, 1), (out.axes[0].pad_lo, out.axes[1].pad_lo))

    def forward(self, x, weights):
        t, b, l, r = self.removed(x.shape[2], x.shape[3])
        return x[:, :, t:x.shape[2] - b, l:x.shape[3] - r]
