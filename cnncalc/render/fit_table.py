"""A table that fits the terminal by hiding whole columns, never by cutting a cell.

rich's Table lays out every cell through its measuring and wrapping engine (about 0.6 ms a row:
a table of 45,000 layers took 26 s) and, when it is wider than the terminal, squeezes every column
and cuts numbers and shapes with "…" (`122,…`, `6×28×…`). This one measures each cell once and
writes each row as one line; when the table is too wide it first shortens the headers that have a
short form, then hides whole columns, least important first (as torchinfo and Keras keep the name,
output and params), and says which; only columns of free text (layer names) are ever folded over
lines, and only when even the essential columns do not fit. Where everything fits, the text is
the same as rich's `Table(box=box.SIMPLE_HEAVY)` (title, blank edge, bold header, rule, rows).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from rich.cells import cell_len, chop_cells
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

# A folded column (names) keeps at least this many cells.
MIN_FOLD = 8


@dataclass(frozen=True)
class FitColumn:
    header: str
    short: str = ""  # a shorter header, used when the full ones do not fit ("": the same)
    right: bool = False  # right-aligned (numbers)
    hide: int = 0  # 0: always shown; 1, 2, …: the order in which columns are hidden when too wide
    fold: bool = False  # free text that may be folded over lines (layer names); never numbers or shapes


def table_width(widths: Sequence[int]) -> int:
    """Cells plus the box: one space of edge and one of padding on each side, a space between."""
    return sum(widths) + 3 * len(widths) + 1


@dataclass
class Plan:
    shown: list[int]  # indices of the columns shown
    headers: list[str]
    widths: list[int]
    hidden: list[str]  # full headers of the columns hidden, in table order


class FitTable:
    """`rows`: one list of cell texts per row, a cell per column. `hint(width, hidden)`: the line
    printed under the table when columns are hidden (their headers, in table order)."""

    def __init__(self, columns: Sequence[FitColumn], rows: Sequence[Sequence[str]], title: str = "",
                 hint: Callable[[int, list[str]], str] | None = None, show_header: bool = True):
        self.show_header = show_header
        self.columns = list(columns)
        self.rows = rows
        self.title = title
        self.hint = hint
        self._content = [max(map(cell_len, cells), default=0) for cells in zip(*rows)] if rows else \
            [0] * len(self.columns)

    def plan(self, width: int) -> Plan:
        """The most columns that fit in `width` cells whole: full headers, then short ones, then one
        more column hidden, and so on; when even the essential ones do not fit, fold the names."""
        order = [i for _, i in sorted((c.hide, i) for i, c in enumerate(self.columns) if c.hide)]
        for k in range(len(order) + 1):
            shown = [i for i in range(len(self.columns)) if i not in order[:k]]
            for short in (False, True):
                plan = self._plan(shown, short)
                if table_width(plan.widths) <= width:
                    return plan
        excess = table_width(plan.widths) - width
        for j, i in enumerate(plan.shown):
            if self.columns[i].fold and excess > 0:
                narrower = max(min(MIN_FOLD, plan.widths[j]), plan.widths[j] - excess)
                excess -= plan.widths[j] - narrower
                plan.widths[j] = narrower
        return plan  # may still be wider than `width`: the terminal wraps it, nothing is cut

    def _plan(self, shown: list[int], short: bool) -> Plan:
        headers = [(self.columns[i].short or self.columns[i].header) if short else self.columns[i].header
                   for i in shown]
        widths = [max(self._content[i], cell_len(h) if self.show_header else 0) for i, h in zip(shown, headers)]
        hidden = [c.header for i, c in enumerate(self.columns) if i not in shown]
        return Plan(shown, headers, widths, hidden)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        plan = self.plan(options.max_width)
        columns = [self.columns[i] for i in plan.shown]
        if self.title:
            yield Text(self.title, style="italic")
        yield Segment.line()  # the box's blank top edge
        if self.show_header:
            for line in _lines(plan.headers, columns, plan.widths):
                yield Segment(line, Style(bold=True))
                yield Segment.line()
            yield Segment(" " + "━" * (table_width(plan.widths) - 2) + "\n")
        shown = plan.shown
        for row in self.rows:
            yield Segment("\n".join(_lines([row[i] for i in shown], columns, plan.widths)) + "\n")
        yield Segment.line()  # the blank bottom edge
        if plan.hidden and self.hint is not None:
            yield Text(self.hint(options.max_width, plan.hidden), style="dim")  # wrapped at words


def _lines(cells: list[str], columns: list[FitColumn], widths: list[int]) -> Iterator[str]:
    """One row as text lines: one line, unless a folded cell is wider than its column."""
    lens = [cell_len(text) for text in cells]
    if all(n <= w for n, w in zip(lens, widths)):
        yield _line(cells, lens, columns, widths)
        return
    pieces = [_fold(text, w) if n > w else [text] for text, n, w in zip(cells, lens, widths)]
    for k in range(max(map(len, pieces))):
        texts = [p[k] if k < len(p) else "" for p in pieces]
        yield _line(texts, [cell_len(t) for t in texts], columns, widths)


def _fold(text: str, width: int) -> list[str]:
    """Pieces of at most `width` cells, broken after a '.' of a dotted name or at a space where one
    is in reach, else after `width` cells."""
    pieces = []
    while cell_len(text) > width:
        head = chop_cells(text, width)[0]
        cut = max(head.rfind("."), head.rfind(" ")) + 1
        piece = head[:cut] if cut > 1 else head
        pieces.append(piece.rstrip(" "))
        text = text[len(piece):].lstrip(" ")
    return pieces + [text]


def _line(cells: list[str], lens: list[int], columns: list[FitColumn], widths: list[int]) -> str:
    parts = [" " * (w - n) + text if c.right else text + " " * (w - n)
             for text, n, c, w in zip(cells, lens, columns, widths)]
    return ("  " + "   ".join(parts)).rstrip()
