"""The spatial rule shared by every windowed layer (conv, pooling, subsampling): docs/design.md § Shapes."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .errors import CnnError
from .formula import Ceil, Expr, Floor, Num, lit
from .i18n import Msg, msg

Shape = tuple[int, ...]
Padding = str | tuple[int, int, int, int]  # "same" or (top, bottom, left, right)


@dataclass(frozen=True)
class AxisResult:
    """Output size along one axis, how it was derived, and the padding actually applied."""

    axis: str  # "H" or "W"
    size: int
    expr: Expr
    pad_lo: int
    pad_hi: int
    k_eff: int
    stride: int
    notes: tuple[Msg, ...] = field(default=())
    # Notes on input rows/columns this layer never reads, and which ones: the analysis keeps such a
    # note only when no other path of the network reads them either (notes are about the network).
    coverage: tuple[Msg, ...] = field(default=())
    unread: tuple[int, ...] = field(default=())


def effective_kernel(k: int, d: int) -> tuple[int, Expr]:
    """k' = d·(k−1)+1, with its derivation when dilation is on."""
    k_eff = d * (k - 1) + 1
    return k_eff, (Num(d) * (Num(k) - 1) + 1 if d != 1 else Num(k))


def window_axis(axis: str, size: int, k: int, s: int, d: int, padding: Padding,
                ceil_mode: bool = False) -> AxisResult:
    k_eff, k_expr = effective_kernel(k, d)
    if padding == "same":
        return _same_axis(axis, size, k_eff, s, d)
    lo, hi = (padding[0], padding[1]) if axis == "H" else (padding[2], padding[3])
    span = size + lo + hi - k_eff
    first_out = (-(-span // s) if ceil_mode else span // s) + 1
    if first_out <= 0:  # docs/design.md: out ≤ 0 is the error (ceil_mode may still fit one window)
        need = -(-(k_eff - size) // 2)
        kernel = f"kernel {k}" + (f" (dilated to {k_eff})" if d != 1 else "")
        raise CnnError(msg(
            "{kernel} is larger than the input {dim} {size} after padding {pads}; use padding ≥ {need} on each side "
            "or a smaller kernel", kernel=kernel, dim="height" if axis == "H" else "width", size=size,
            pads=f"{lo}+{hi}", need=need))
    pads = Num(2) * lo if lo == hi else Num(lo) + hi
    inner = (Num(size) - k_expr + pads) / s
    notes: list[Msg] = []
    if ceil_mode:
        out = -(-span // s) + 1
        expr: Expr = Ceil(inner) + 1
        if (out - 1) * s >= size + lo:
            # PyTorch: the last window must start inside the input or the left padding.
            out -= 1
            expr = Ceil(inner)
            notes.append(msg("{axis}: ceil_mode would start a last window in the right padding; it is dropped "
                             "(as PyTorch does)", axis=axis))
        elif span % s:
            notes.append(msg("{axis}: ceil_mode adds a last window that overhangs the input by {n}", axis=axis,
                             n=s - span % s))
    else:
        out = span // s + 1
        expr = Floor(inner) + 1
    coverage, unread = _coverage(axis, size, lo, hi, k_eff, s, d, out)
    return AxisResult(axis, out, expr, lo, hi, k_eff, s, tuple(notes), coverage, unread)


def _coverage(axis: str, size: int, lo: int, hi: int, k_eff: int, s: int, d: int,
              out: int) -> tuple[tuple[Msg, ...], tuple[int, ...]]:
    """The input positions no window of this layer reads, and the notes that explain why."""
    read = bytearray(size)
    for tap in range(0, k_eff, d):  # tap t of every window: positions t − lo + u·s, u < out
        first = tap - lo
        if first < 0:
            first += -(first // s) * s  # the first window whose tap t lands inside the input
        last = min(tap - lo + (out - 1) * s, size - 1)
        if first <= last:
            count = (last - first) // s + 1
            read[first:first + (count - 1) * s + 1:s] = b"\x01" * count
    if read.count(0) == 0:  # the usual case, said at C speed: every position read
        return (), ()
    unread = tuple(p for p in range(size) if not read[p])
    what = "rows" if axis == "H" else "columns"
    notes: list[Msg] = []
    span = size + lo + hi - k_eff
    # The last span % s positions of the padded input are never read; only those that are
    # real input (not bottom/right padding) lose information.
    lost = span % s - hi
    if lost > 0:
        notes.append(msg(
            "{axis}: {size} + {pads} − {k} = {span} is not a multiple of stride {s}: the last {lost} input {what} "
            "are never covered", axis=axis, size=size, pads=lo + hi, k=k_eff, span=span, s=s, lost=lost, what=what))
    if k_eff < s:
        notes.append(msg("{axis}: kernel {k} < stride {s}: {skip} of every {s2} input {what} are skipped",
                         axis=axis, k=k_eff, s=s, skip=s - k_eff, s2=s, what=what))
    elif d > 1 and not notes:
        notes.append(msg("{axis}: dilation {d} leaves {n} input {what} unread", axis=axis, d=d, n=len(unread),
                         what=what))
    return tuple(notes), unread



def _same_axis(axis: str, size: int, k_eff: int, s: int, d: int) -> AxisResult:
    out = -(-size // s)
    total = max((out - 1) * s + k_eff - size, 0)
    lo, hi = total // 2, total - total // 2
    notes = []
    if lo != hi:
        notes.append(msg("{axis}: padding same adds {total}: {lo} before, {hi} after (TensorFlow's rule)",
                         axis=axis, total=total, lo=lo, hi=hi))
    coverage, unread = _coverage(axis, size, lo, hi, k_eff, s, d, out)
    return AxisResult(axis, out, Ceil(lit(size) / s), lo, hi, k_eff, s, tuple(notes), coverage, unread)


@lru_cache(maxsize=4096)
def sliding_axes(h: int, w: int, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
                 padding: Padding, ceil_mode: bool) -> tuple[tuple[AxisResult, AxisResult], tuple[Msg, ...]]:
    """Both axes of a window sliding over an H×W input, and their notes, remembered: the layers of
    a repeated block have the same geometry pass after pass (ResNet's blocks, VGG's stages, issue
    14's deep benchmark), and an AxisResult never changes once made, so they share one (a kernel
    larger than its input raises, and nothing is remembered)."""
    axes = (window_axis("H", h, kernel[0], stride[0], dilation[0], padding, ceil_mode),
            window_axis("W", w, kernel[1], stride[1], dilation[1], padding, ceil_mode))
    return axes, axis_notes(axes)


def axis_notes(axes: tuple[AxisResult, ...]) -> tuple[Msg, ...]:
    """Notes of both axes, with an H note and its identical W twin said once ("H, W: …")."""
    h = list(axes[0].notes)
    w = list(axes[1].notes) if len(axes) > 1 else []
    both, only_h = [], []
    for note in h:
        twin = next((n for n in w if _same_but_axis(note, n)), None)
        if twin is None:
            only_h.append(note)
            continue
        w.remove(twin)
        params = dict(note.params, axis="H, W")
        if "what" in params:
            params["what"] = "rows/columns"
        both.append(msg(note.template, **params))
    return tuple(both + only_h + w)


def _same_but_axis(a: Msg, b: Msg) -> bool:
    ignore = ("axis", "what")
    return a.template == b.template and \
        {k: v for k, v in a.params.items() if k not in ignore} == {k: v for k, v in b.params.items() if k not in ignore}
