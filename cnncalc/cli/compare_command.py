"""`cnncalc compare A B [C …]`: networks side by side (cnncalc.compare), at one or more input sizes."""
from __future__ import annotations

import click

from ..compare import compare as compare_networks, parse_sizes
from ..conventions import NAMES
from ..errors import CnnError
from ..network import DTYPE_BYTES, load, loads
from ..render.compare_view import FORMATS, render_compare
from ..yaml_source import read_stdin_text
from .common import MAX_BATCH, emit


def _loader(spec: str, stdin_text: str | None):
    if spec == "-":
        return lambda shape: loads(stdin_text, "<stdin>", shape)
    return lambda shape: load(spec, shape)


@click.command()
@click.argument("files", metavar="A B [C …]", nargs=-1, required=True)
@click.option("--input", "sizes", metavar="SIZES",
              help="Input sizes to compare at: 224,320,512 (square) or 224x320; channels stay each network's.")
@click.option("--batch", type=click.IntRange(min=1, max=MAX_BATCH), default=1, show_default=True,
              help="Batch size: scales MACs and activation memory, not params.")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32", show_default=True,
              help="Bytes per value for the memory column.")
@click.option("--convention", type=click.Choice(NAMES), default=None,
              help="Count MACs and params as torchinfo, fvcore, ptflops or thop does (docs/conventions.md).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format; latex is a booktabs table for papers.")
def compare(files: tuple[str, ...], sizes: str | None, batch: int, dtype: str, convention: str | None,
            fmt: str) -> None:
    """Networks side by side: params, MACs, memory, receptive field, depth; differences and ratios
    against the first; MACs per shared stage (layer1 … layer4).

    \b
    A, B, … are YAML paths, - (standard input, once) or built-in names (see `cnncalc list`).
    Examples:
      cnncalc compare resnet18 resnet50 --input 224,320
      cnncalc compare resnet50 googlenet --convention ptflops --format latex
    """
    if len(files) < 2:
        raise CnnError("compare needs at least two networks (A B [C …])")
    if files.count("-") > 1:
        raise CnnError("standard input (-) can be read once; name it once")
    parsed = parse_sizes(sizes)
    stdin_text = read_stdin_text() if "-" in files else None
    networks = [(spec, _loader(spec, stdin_text)) for spec in files]
    emit(render_compare(compare_networks(networks, parsed, batch, dtype, convention), fmt))


commands = [compare]
