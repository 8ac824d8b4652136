"""`params`, `rf`, `summary` and `list`: the analysis engine's views."""
from __future__ import annotations

import sys

import click

from .. import cycle_gc, zoo
from ..conventions import NAMES, convention as convention_of
from ..errors import CnnError, ExitCode
from ..network import load
from ..render import FORMATS, render_analysis, render_top_down, render_zoo
from ..render.analysis_view import render_explain
from ..i18n import LANGUAGES, set_language
from .check_command import translated_errors
from .common import emit, network_options, open_network


def explain_options(func):
    """--explain (the worked solution per layer) and --lang (its language)."""
    func = click.option("--lang", type=click.Choice(LANGUAGES), default=None,
                        help="Language of the explanations (default: from LANG, else en).")(func)
    func = click.option("--explain", is_flag=True,
                        help="Show the formula behind every number, with the numbers substituted.")(func)
    return func


def convention_option(func):
    """--convention: another tool's figures, computed from the records (cnncalc.conventions)."""
    return click.option("--convention", type=click.Choice(NAMES), default=None,
                        help="Also give torchinfo's, fvcore's, ptflops's or thop's figures for this network "
                             "(docs/conventions.md); --explain shows each formula.")(func)


def _convention(analysis, name: str | None, fmt: str):
    if name is None:
        return None
    if fmt == "csv":
        raise CnnError("--convention gives whole-network figures, which CSV's one row a layer has no place for; "
                       "use --format table, json or markdown (or `cnncalc compare --format csv`)")
    return convention_of(analysis, name)


def _show(analysis, view: str, fmt: str, explain: bool, lang: str | None, convention_name: str | None = None) -> None:
    conv = _convention(analysis, convention_name, fmt)
    explanations = _explanations(analysis, explain, lang)
    emit(render_analysis(analysis, view, fmt, explanations, conv))
    if explanations is not None and fmt == "table":
        emit(render_explain(analysis, view, explanations))


def _explanations(analysis, explain: bool, lang: str | None):
    set_language(lang)
    if not explain:
        return None
    from ..homework.derive import explain as explain_layer
    return {r.name: explain_layer(r) for r in analysis.layers}

def _exit_if_shapes_differ(net) -> None:
    """An .onnx file whose declared shapes differ from the engine's: the ✗ notes are shown, exit 1."""
    if net.check_failed:
        sys.exit(ExitCode.CHECK_FAILED)


_FILE_HELP = "FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`)."


@click.command()
@network_options
@explain_options
@convention_option
@translated_errors
@cycle_gc.paused_while
def params(file: str, input_shape: str | None, batch: int, dtype: str, fmt: str, explain: bool,
           lang: str | None, convention: str | None) -> None:
    """Per layer: output shape, parameters and connections; then the totals.

    \b
    FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`).
    Example:
      cnncalc params lenet5-1998
      cnncalc params lenet5-1998 --explain --lang zh
    """
    net = open_network(file, input_shape)
    _show(net.analyse(batch=batch, dtype=dtype), "params", fmt, explain, lang, convention)
    _exit_if_shapes_differ(net)


@click.command()
@network_options(memory=False)
@click.option("--layer", help="Show the textbook top-down derivation for this layer.")
@explain_options
@translated_errors
@cycle_gc.paused_while
def rf(file: str, input_shape: str | None, fmt: str, layer: str | None, explain: bool, lang: str | None) -> None:
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
        set_language(lang)  # the top-down table is itself the worked derivation
        emit(render_top_down(net.receptive_field(layer), fmt))
    else:
        _show(net.analyse(), "rf", fmt, explain, lang)
        _exit_if_shapes_differ(net)


@click.command()
@network_options
@explain_options
@convention_option
@translated_errors
@cycle_gc.paused_while
def summary(file: str, input_shape: str | None, batch: int, dtype: str, fmt: str, explain: bool,
           lang: str | None, convention: str | None) -> None:
    """Every column at once: the torchinfo-like view.

    \b
    FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`).
    Example:
      cnncalc summary resnet18 --batch 8
    """
    net = open_network(file, input_shape)
    _show(net.analyse(batch=batch, dtype=dtype), "summary", fmt, explain, lang, convention)
    _exit_if_shapes_differ(net)


@click.command(name="list")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def list_(fmt: str) -> None:
    """The built-in architectures by family: name, input, params, description.

    \b
    Example:
      cnncalc list
    """
    rows = []
    for family, name in zoo.grouped():
        a = load(name).analyse()
        rows.append((family, name, a.input, a.totals.params, a.description))
    emit(render_zoo(rows, fmt))


commands = [params, rf, summary, list_]
