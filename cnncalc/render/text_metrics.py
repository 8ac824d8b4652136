"""How wide a label is, before any browser draws it: the pictures size every box to its text.

The widths are DejaVu Sans's advance widths (regular and bold, in thousandths of an em), read
once from the font files Debian ships; the SVG asks for DejaVu Sans first, then Verdana, whose
letters are as wide or wider than most sans-serif fonts. A character not in the table counts as
a full em when East Asian wide (Chinese labels) and 0.85 em otherwise, and every width gets a
margin, so a label measured here is never narrower than the one a browser draws.
"""
from __future__ import annotations

import unicodedata

# Chinese labels fall back, glyph by glyph, to a CJK font (WenQuanYi on Debian, YaHei on Windows).
FONT_FAMILY = "DejaVu Sans, Verdana, Arial, WenQuanYi Micro Hei, Microsoft YaHei, PingFang SC, sans-serif"
_CHARS = (' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`'
          'abcdefghijklmnopqrstuvwxyz{|}~×·→−…≥≤⊕⊗²–—σ')
_REGULAR = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636,
    636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295,
    295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838,
    500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521,
    392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838, 838, 318, 838, 838, 1000, 838, 838, 838, 838, 401,
    500, 1000, 634,
)
_BOLD = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696, 696,
    696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821, 837, 372,
    372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838,
    500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595,
    478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838, 838, 380, 838, 838, 1000, 838, 838, 838, 838, 438,
    500, 1000, 779,
)
_WIDTHS = {False: dict(zip(_CHARS, _REGULAR)), True: dict(zip(_CHARS, _BOLD))}
MARGIN = 1.06  # browsers round glyph positions; a label is allowed 6% more than its sum


def _char_width(ch: str, bold: bool) -> int:
    known = _WIDTHS[bold].get(ch)
    if known is not None:
        return known
    return 1000 if unicodedata.east_asian_width(ch) in "WF" else 850


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width in pixels of `text` at font size `size`, with the margin."""
    return sum(_char_width(ch, bold) for ch in text) * size / 1000 * MARGIN
