"""Options and helpers shared by the commands."""
from __future__ import annotations

import os

import click

from ..errors import CnnError
from ..network import DTYPE_BYTES, Network, load, loads
from ..quoting import shown
from ..render import TABLE_FORMATS
from ..yaml_source import read_stdin_text


# A batch past this is a typo, and its byte counts would overflow the float that prints them.
MAX_BATCH = 10**9


def parse_input_shape(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    parts = value.replace("x", ",").replace("×", ",").split(",")
    try:
        # Digits counted before int(): Python refuses to convert more than 4,300 of them.
        shape = tuple(int(p) for p in parts) if all(len(p) <= 18 for p in parts) else ()
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise CnnError(f"--input must be C,H,W with whole numbers from 1 to 10^18 (e.g. 3,224,224), "
                       f"got {shown(value)}")
    return shape


def open_network(spec: str, input_shape: str | None) -> Network:
    shape = parse_input_shape(input_shape)
    if spec == "-":
        return loads(read_stdin_text(), "<stdin>", shape)
    return load(spec, shape)


def network_options(func=None, *, memory: bool = True):
    """FILE plus --input, --batch, --dtype and --format, in that order in --help; `memory=False`
    leaves out --batch and --dtype (for `rf`, where they change nothing)."""
    if func is None:
        return lambda f: network_options(f, memory=memory)
    func = click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default="table",
                        show_default=True, help="Output format; json is the stable machine interface.")(func)
    if memory:
        func = click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32", show_default=True,
                            help="Bytes per value for the memory columns.")(func)
        func = click.option("--batch", type=click.IntRange(min=1, max=MAX_BATCH), default=1, show_default=True,
                            help="Batch size: scales MACs and activation bytes, not params.")(func)
    func = click.option("--input", "input_shape", metavar="C,H,W", help="Override the input shape.")(func)
    func = click.argument("file", metavar="FILE")(func)
    return func


def emit(renderable: object) -> None:
    """Print a renderer's output: rich renderables through rich, strings as they are."""
    if isinstance(renderable, str):
        click.echo(renderable, nl=not renderable.endswith("\n"))
    else:
        from rich.console import Console  # only tables need rich: JSON, CSV and Markdown start faster
        # Piped or redirected, there is no terminal to fit: keep every column whole (rich would
        # otherwise squeeze tables into 80 columns and cut numbers) unless COLUMNS says otherwise.
        console = Console(highlight=False)
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console.width = 1000
        # crop=False: a line wider than the terminal (a table whose essential columns do not fit)
        # is wrapped by the terminal, never cut.
        console.print(renderable, crop=False)

