"""`params`, `rf`, `summary` and `list`: the analysis engine's views."""
from __future__ import annotations

import click

from .. import zoo
from ..network import load
from ..render import FORMATS, render_analysis, render_top_down, render_zoo
from .common import emit, network_options, open_network

_FILE_HELP = "FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`)."


@click.command()
@network_options
def params(file: str, input_shape: str | None, batch: int, dtype: str, fmt: str) -> None:
    """Per layer: output shape, parameters and connections; then the totals.

    \b
    FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`).
    Example:
      cnncalc params lenet5-1998
    """
    analysis = open_network(file, input_shape).analyse(batch=batch, dtype=dtype)
    emit(render_analysis(analysis, "params", fmt))


@click.command()
@network_options
@click.option("--layer", help="Show the textbook top-down derivation for this layer.")
def rf(file: str, input_shape: str | None, batch: int, dtype: str, fmt: str, layer: str | None) -> None:
    """Receptive field per layer: size, jump, start and effective padding.

    \b
    Start is the input index of the centre of the first unit's field (pixel i has its centre at i).
    FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`).
    Examples:
      cnncalc rf vgg16
      cnncalc rf rf-example --layer pool3
    """
    net = open_network(file, input_shape)
    if layer:
        emit(render_top_down(net.receptive_field(layer), fmt))
    else:
        emit(render_analysis(net.analyse(batch=batch, dtype=dtype), "rf", fmt))


@click.command()
@network_options
def summary(file: str, input_shape: str | None, batch: int, dtype: str, fmt: str) -> None:
    """Every column at once: the torchinfo-like view.

    \b
    FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`).
    Example:
      cnncalc summary resnet18 --batch 8
    """
    analysis = open_network(file, input_shape).analyse(batch=batch, dtype=dtype)
    emit(render_analysis(analysis, "summary", fmt))


@click.command(name="list")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def list_(fmt: str) -> None:
    """The built-in architectures: name, input, params, description.

    \b
    Example:
      cnncalc list
    """
    rows = []
    for name in zoo.names():
        net = load(name)
        a = net.analyse()
        rows.append((name, "×".join(map(str, a.input)), a.totals.params, a.description))
    emit(render_zoo(rows, fmt))


commands = [params, rf, summary, list_]
