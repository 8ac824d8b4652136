"""`draw` and `report`: the pictures as SVG (or PNG), and the one-page HTML report."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..errors import CnnError
from ..i18n import LANGUAGES, _, set_language
from ..quoting import shown
from ..render.html_report import render_report
from ..render.pictures import STYLES, default_style, render_picture
from ..structure import drawing_of
from .common import open_network

_LANG = click.option("--lang", type=click.Choice(LANGUAGES), default=None,
                     help="Language of the labels (default: from LANG, else en).")
_EXPAND = click.option("--expand", is_flag=True,
                       help="Draw every pass of a repeat and every layer in its own box (graph, cost).")
_INPUT = click.option("--input", "input_shape", metavar="C,H,W", help="Override the input shape.")
PNG_HINT = "pip install 'cnncalc[png]'"


def _checked_output(output: str | None) -> Path | None:
    """The output path, refused before any work when its folder does not exist."""
    if output is None or output == "-":
        return None
    path = Path(output)
    if not path.parent.is_dir():
        raise CnnError(f"cannot write {shown(output)}: the folder {shown(str(path.parent))} does not exist")
    if path.is_dir():
        raise CnnError(f"cannot write {shown(output)}: it is a folder; give a file name such as out.svg")
    return path


def _write(path: Path | None, data: bytes) -> None:
    """All at once, through a temporary file: a failed run leaves no half-written picture."""
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CnnError(f"cannot write {shown(str(path))}: {exc.strerror or exc}") from None


def rasterize(svg: str) -> bytes:
    """PNG from SVG through the optional `png` extra (CairoSVG); one line saying how to get it."""
    try:
        import cairosvg  # type: ignore[import-not-found]
    except (ImportError, OSError):  # OSError: the package is there but the Cairo library is not
        raise CnnError(f"--format png needs the optional rasterizer ({PNG_HINT}); "
                       "or write SVG, which every browser opens") from None
    return cairosvg.svg2png(bytestring=svg.encode("utf-8"))


@click.command()
@click.argument("file", metavar="FILE")
@_INPUT
@click.option("-o", "--output", metavar="PATH", help="Write the picture here (default: standard output).")
@click.option("--style", type=click.Choice(STYLES), default=None,
              help="maps: the paper figure; graph: every path; rf: receptive-field growth; cost: params and "
                   "MACs per layer. Default: maps for a network with one path, graph otherwise.")
@click.option("--format", "fmt", type=click.Choice(["svg", "png"]), default=None,
              help="svg, or png with the optional rasterizer; default: from the -o suffix, else svg.")
@_EXPAND
@_LANG
def draw(file: str, input_shape: str | None, output: str | None, style: str | None, fmt: str | None,
         expand: bool, lang: str | None) -> None:
    """Draw the network as SVG: feature maps, graph, receptive field or cost.

    \b
    FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`).
    Examples:
      cnncalc draw lenet5-1998 -o lenet.svg
      cnncalc draw resnet18 --style graph -o resnet18.svg
      cnncalc draw vgg16 --style rf -o vgg16-rf.svg
    """
    path = _checked_output(output)
    if fmt is None:
        fmt = "png" if path is not None and path.suffix.lower() == ".png" else "svg"
    if fmt == "png" and path is None:
        raise CnnError("--format png writes a file: add -o picture.png")
    set_language(lang)
    net = open_network(file, input_shape)
    drawing = drawing_of(net.graph, net.analyse(), expand)
    svg = render_picture(drawing, style or default_style(drawing))
    _write(path, rasterize(svg) if fmt == "png" else svg.encode("utf-8"))


# A layer's receptive-field derivation walks back to the input, one step per windowed layer: at a
# thousand layers, every layer's walk together is megabytes of text (and 70 s to write). Past this
# many steps the report names the command that prints the walk instead.
MAX_RF_STEPS = 64


def _explanations(analysis, file: str) -> dict[str, dict[str, str]]:
    from ..homework.derive import COUNT_FIELDS, worked
    out = {}
    for r in analysis.layers:
        fields = {q: worked(r, q) for q in ("output", *COUNT_FIELDS)}
        steps = max(len(chain) for chain in r.rf.chains)
        fields["rf"] = worked(r, "rf") if steps <= MAX_RF_STEPS else _(
            "{size}, a walk of {n} layers back to the input: cnncalc rf {file} --layer {layer}").format(
            size="×".join(map(str, r.rf.size)), n=steps, file=file, layer=r.name)
        out[r.name] = fields
    return out


def _default_rf_layer(analysis) -> str | None:
    """The deepest layer whose field is defined and not the whole input: its derivation says most."""
    for r in reversed(analysis.layers):
        if r.rf.size[0] is not None and not r.rf.is_global and r.rf.chain:
            return r.name
    return None


@click.command()
@click.argument("file", metavar="FILE")
@_INPUT
@click.option("-o", "--output", metavar="PATH", help="Write the page here (default: standard output).")
@click.option("--layer", help="The layer whose receptive-field derivation the page shows "
                              "(default: the deepest one whose field is not the whole input).")
@_EXPAND
@_LANG
def report(file: str, input_shape: str | None, output: str | None, layer: str | None, expand: bool,
           lang: str | None) -> None:
    """One self-contained HTML page: table, totals, the four pictures, every derivation.

    \b
    FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`).
    Example:
      cnncalc report resnet18 -o resnet18.html
    """
    path = _checked_output(output)
    set_language(lang)
    net = open_network(file, input_shape)
    analysis = net.analyse()
    explain = _explanations(analysis, file)
    layer = layer or _default_rf_layer(analysis)
    top_down = net.receptive_field(layer) if layer else None
    drawing = drawing_of(net.graph, analysis, expand)
    captions = {"maps": _("Feature maps"), "graph": _("Graph"), "rf": _("Receptive field by depth"),
                "cost": _("Params and MACs")}
    pictures = [(captions[s], render_picture(drawing, s, f"{s}-pic")) for s in STYLES]
    _write(path, render_report(analysis, pictures, explain, top_down).encode("utf-8"))


commands = [draw, report]
