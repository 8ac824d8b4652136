"""The spatial rule shared by every windowed layer (conv, pooling, subsampling): docs/design.md § Shapes."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import CnnError
from .formula import Ceil, Expr, Floor, Num, lit

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
    notes: tuple[str, ...] = field(default=())
    # Notes on input rows/columns this layer never reads, and which ones: the analysis keeps such a
    # note only when no other path of the network reads them either (notes are about the network).
    coverage: tuple[str, ...] = field(default=())
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
        raise CnnError(
            f"{kernel} is larger than the input {'height' if axis == 'H' else 'width'} {size} after padding "
            f"{lo}+{hi}; use padding ≥ {need} on each side or a smaller kernel"
        )
    pads = Num(2) * lo if lo == hi else Num(lo) + hi
    inner = (Num(size) - k_expr + pads) / s
    notes: list[str] = []
    if ceil_mode:
        out = -(-span // s) + 1
        expr: Expr = Ceil(inner) + 1
        if (out - 1) * s >= size + lo:
            # PyTorch: the last window must start inside the input or the left padding.
            out -= 1
            expr = Ceil(inner)
            notes.append(f"{axis}: ceil_mode would start a last window in the right padding; it is dropped (as PyTorch does)")
        elif span % s:
            notes.append(f"{axis}: ceil_mode adds a last window that overhangs the input by {s - span % s}")
    else:
        out = span // s + 1
        expr = Floor(inner) + 1
    coverage, unread = _coverage(axis, size, lo, hi, k_eff, s, d, out)
    return AxisResult(axis, out, expr, lo, hi, k_eff, s, tuple(notes), coverage, unread)


def _coverage(axis: str, size: int, lo: int, hi: int, k_eff: int, s: int, d: int,
              out: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
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
    unread = tuple(p for p in range(size) if not read[p])
    if not unread:
        return (), ()
    what = "rows" if axis == "H" else "columns"
    notes: list[str] = []
    span = size + lo + hi - k_eff
    # The last span % s positions of the padded input are never read; only those that are
    # real input (not bottom/right padding) lose information.
    lost = span % s - hi
    if lost > 0:
        notes.append(
            f"{axis}: {size} + {lo + hi} − {k_eff} = {span} is not a multiple of stride {s}: "
            f"the last {lost} input {what} are never covered"
        )
    if k_eff < s:
        notes.append(f"{axis}: kernel {k_eff} < stride {s}: {s - k_eff} of every {s} input {what} are skipped")
    elif d > 1 and not notes:
        notes.append(f"{axis}: dilation {d} leaves {len(unread)} input {what} unread")
    return tuple(notes), unread



def _same_axis(axis: str, size: int, k_eff: int, s: int, d: int) -> AxisResult:
    out = -(-size // s)
    total = max((out - 1) * s + k_eff - size, 0)
    lo, hi = total // 2, total - total // 2
    notes = []
    if lo != hi:
        notes.append(f"{axis}: padding same adds {total}: {lo} before, {hi} after (TensorFlow's rule)")
    coverage, unread = _coverage(axis, size, lo, hi, k_eff, s, d, out)
    return AxisResult(axis, out, Ceil(lit(size) / s), lo, hi, k_eff, s, tuple(notes), coverage, unread)


def axis_notes(axes: tuple[AxisResult, ...]) -> tuple[str, ...]:
    """Notes of both axes, with an H note and its identical W twin said once ("H, W: …")."""
    h = [n[3:] for n in axes[0].notes]
    w = [n[3:] for n in axes[1].notes] if len(axes) > 1 else []
    both = [f"H, W: {n}".replace("rows", "rows/columns") for n in h if n.replace("rows", "columns") in w]
    only_h = [f"H: {n}" for n in h if n.replace("rows", "columns") not in w]
    only_w = [f"W: {n}" for n in w if n not in [x.replace("rows", "columns") for x in h]]
    return tuple(both + only_h + only_w)
