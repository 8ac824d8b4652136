"""A small SVG writer on the standard library: elements as text, numbers rounded to 0.1 px, so the
same picture is the same bytes on every machine (the golden tests compare the text)."""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .text_metrics import FONT_FAMILY

# One style sheet for every picture. Inside an HTML page several pictures share it, so a class
# means the same thing in all of them.
STYLE = """
.bg{fill:#ffffff}
.title{font-size:15px;font-weight:bold;fill:#1f2933}
.sub{font-size:12px;fill:#52606d}
.lbl{font-size:12px;fill:#1f2933}
.lbl-b{font-size:12px;font-weight:bold;fill:#1f2933}
.small{font-size:11px;fill:#52606d}
.box rect.b{fill:#f0f4f8;stroke:#486581;stroke-width:1}
.box.conv rect.b{fill:#e3f8ff;stroke:#0b69a3}
.box.pool rect.b{fill:#fff3c4;stroke:#b44d12}
.box.dense rect.b{fill:#e9ddff;stroke:#5a3fc0}
.box.merge rect.b{fill:#ffffff;stroke:#323f4b}
.box.frame>rect.b{fill:none;stroke:#9aa5b1;stroke-dasharray:5 3}
rect.shadow{fill:#ffffff;stroke:#9aa5b1}
.edge{fill:none;stroke:#52606d;stroke-width:1.2}
.face{fill:#e3f8ff;stroke:#0b69a3;stroke-width:1}
.side{fill:#b6e0fe;stroke:#0b69a3;stroke-width:1}
.top{fill:#d1eefc;stroke:#0b69a3;stroke-width:1}
.bar-d{fill:#e9ddff;stroke:#5a3fc0}
.kernel{fill:#f35627;fill-opacity:.35;stroke:#c1331a}
.proj{stroke:#c1331a;stroke-width:.8;stroke-dasharray:3 2}
.axis{stroke:#52606d;stroke-width:1}
.grid{stroke:#e4e7eb;stroke-width:1}
.line-rf{fill:none;stroke:#0b69a3;stroke-width:2}
.line-rf-w{fill:none;stroke:#47a3f3;stroke-width:2;stroke-dasharray:1 3}
.line-jump{fill:none;stroke:#b44d12;stroke-width:1.5;stroke-dasharray:5 3}
.line-input{stroke:#3f9142;stroke-width:1.5;stroke-dasharray:2 3}
.mark{stroke:#c1331a;stroke-width:1.5}
.dot-rf{fill:#0b69a3}
.stripe{fill:#f5f7fa}
.bar-p{fill:#2186eb}
.bar-m{fill:#f0b429}
"""


def num(x: float) -> str:
    """A coordinate: at most one decimal, no trailing zero, never `-0`."""
    text = f"{round(x, 1):.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class Svg:
    """Collects elements; `text()` returns the finished document."""

    def __init__(self, width: float, height: float, title: str, ident: str = "pic"):
        # `ident` keeps element ids apart when several pictures share one HTML page.
        self.width, self.height, self.title, self.ident = width, height, title, ident
        self.parts: list[str] = []

    def add(self, element: str) -> None:
        self.parts.append(element)

    def rect(self, x: float, y: float, w: float, h: float, cls: str, rx: float = 0) -> None:
        corner = f' rx="{num(rx)}"' if rx else ""
        self.add(f'<rect class="{cls}" x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}"{corner}/>')

    def line(self, x1: float, y1: float, x2: float, y2: float, cls: str) -> None:
        self.add(f'<line class="{cls}" x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}"/>')

    def polyline(self, points: list[tuple[float, float]], cls: str, arrow: bool = False) -> None:
        pts = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        end = f' marker-end="url(#{self.ident}-arrow)"' if arrow else ""
        self.add(f'<polyline class="{cls}" points="{pts}"{end}/>')

    def polygon(self, points: list[tuple[float, float]], cls: str) -> None:
        pts = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        self.add(f'<polygon class="{cls}" points="{pts}"/>')

    def circle(self, x: float, y: float, r: float, cls: str) -> None:
        self.add(f'<circle class="{cls}" cx="{num(x)}" cy="{num(y)}" r="{num(r)}"/>')

    def text(self, x: float, y: float, content: str, cls: str = "lbl", anchor: str = "start",
             rotate: bool = False) -> None:
        """`y` is the baseline. `rotate` turns the label to read bottom-up from (x, y)."""
        where = f' transform="rotate(-90 {num(x)} {num(y)})"' if rotate else ""
        align = f' text-anchor="{anchor}"' if anchor != "start" else ""
        self.add(f'<text class="{cls}" x="{num(x)}" y="{num(y)}"{align}{where}>{escape(content)}</text>')

    def open_group(self, cls: str, title: str = "") -> None:
        self.add(f'<g class="{cls}">' + (f"<title>{escape(title)}</title>" if title else ""))

    def close_group(self) -> None:
        self.add("</g>")

    def text_document(self) -> str:
        w, h = num(self.width), num(self.height)
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
                f'font-family={quoteattr(FONT_FAMILY)} role="img">\n'
                f"<title>{escape(self.title)}</title>\n<style>{STYLE}</style>\n"
                f'<defs><marker id="{self.ident}-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
                'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#52606d"/></marker></defs>\n'
                f'<rect class="bg" width="{w}" height="{h}"/>\n')
        return head + "\n".join(self.parts) + "\n</svg>\n"
