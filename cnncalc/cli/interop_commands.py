"""`import` (an ONNX file as a cnncalc network) and `export` (a network as ONNX or PyTorch)."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile

import click

from ..errors import CnnError, ExitCode, Where
from ..quoting import cut
from .common import emit, open_network


def write_atomically(path: str, write) -> None:
    """`write(file)` into a temporary file beside `path`, renamed over it only when complete: an
    error never leaves half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CnnError("the folder to write into does not exist", Where(cut(path, 100)))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".cnncalc-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is for the temporary name only
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@click.command(name="import")
@click.argument("model", metavar="MODEL.onnx")
@click.option("-o", "--output", metavar="NET.yaml", help="Write the network here (default: standard output).")
@click.option("--weights-out", metavar="NET.npz",
              help="Write the file's weights, named by layer path, for `cnncalc forward --weights`.")
def import_(model: str, output: str | None, weights_out: str | None) -> None:
    """Read an ONNX model as a cnncalc network (YAML), with its weights.

    \b
    Residual, concat and gate structure comes from the graph, names from
    the node names. An operator cnncalc cannot map stops the import (exit
    2) with a list of them; shapes that differ from onnx.shape_inference's
    are ✗ (exit 1). Every command that takes FILE also takes an .onnx file.
    Example:
      cnncalc import resnet18.onnx -o resnet18.yaml --weights-out resnet18.npz
    """
    from ..network import load_onnx
    from ..render.interop_view import render_import

    if not model.lower().endswith(".onnx"):
        raise CnnError("give an .onnx file", Where(cut(model, 100)))
    net = load_onnx(model)
    analysis = net.analyse()
    imported = net.imported
    if output is not None:
        write_atomically(output, lambda f: f.write(imported.yaml_text.encode("utf-8")))
    if weights_out is not None:
        import numpy as np
        write_atomically(weights_out, lambda f: np.savez(f, **imported.weights))
    mismatches = imported.mismatches(analysis)
    # Folded to the terminal (COLUMNS or its size); piped, one line each, as the other views.
    width = shutil.get_terminal_size((10**6, 24)).columns if sys.stderr.isatty() or "COLUMNS" in os.environ \
        else 10**6
    report = render_import(imported, analysis, mismatches, output, weights_out, width)
    if output is None:
        click.echo(imported.yaml_text, nl=False)
        click.echo(report, err=True, nl=False)
    else:
        emit(report)
    sys.exit(ExitCode.CHECK_FAILED if mismatches else ExitCode.OK)


@click.command()
@click.argument("file", metavar="FILE")
@click.option("--to", "target", type=click.Choice(["onnx", "pytorch"]), required=True, help="What to write.")
@click.option("-o", "--output", metavar="PATH", help="Output file (required for onnx; pytorch: default stdout).")
@click.option("--weights", "weights_file", metavar="FILE.npz",
              help="Weights by layer path (as `cnncalc forward --weights`); default: seeded as forward --seed 0.")
@click.option("--input", "input_shape", metavar="C,H,W", help="Override the input shape.")
def export(file: str, target: str, output: str | None, weights_file: str | None, input_shape: str | None) -> None:
    """Write a network as an ONNX model or as PyTorch source.

    \b
    ONNX: initializers named by layer path (conv1.weight, …), weights from
    --weights or seeded. PyTorch: an nn.Module whose state_dict keys are
    cnncalc's layer paths.
    Examples:
      cnncalc export resnet18 --to onnx -o resnet18.onnx
      cnncalc export resnet18 --to pytorch -o resnet18_model.py
    """
    net = open_network(file, input_shape)
    net.analyse()  # every shape checked before anything is written
    if target == "pytorch":
        from ..interop.pytorch_export import export_pytorch
        source = export_pytorch(net.graph)
        if output is None:
            click.echo(source, nl=False)
        else:
            write_atomically(output, lambda f: f.write(source.encode("utf-8")))
        return
    if output is None:
        raise CnnError("--to onnx needs -o FILE.onnx")
    from ..interop.onnx_export import export_onnx, graph_weights
    supplied = None
    if weights_file is not None:
        from ..forward import load_npz
        supplied = load_npz(weights_file)
    elif net.imported is not None:
        supplied = net.imported.weights
    model = export_onnx(net.graph, graph_weights(net.graph, supplied))
    write_atomically(output, lambda f: f.write(model.SerializeToString()))
    click.echo(f"wrote {output}: {len(model.graph.node)} nodes, {len(model.graph.initializer)} initializers "
               f"(opset {model.opset_import[0].version})")


commands = [import_, export]
