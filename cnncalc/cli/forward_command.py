"""`cnncalc forward`: run the network on real arrays (NumPy) and check the engine's numbers."""
from __future__ import annotations

import sys

import click

from ..errors import CnnError, ExitCode
from ..render import FORMATS
from .common import emit, open_network, parse_input_shape

# Show a progress bar when the run is likely to take more than about a second.
PROGRESS_MACS = 3_000_000_000


def _parse_bytes(value: str | None) -> int | None:
    if value is None:
        return None
    units = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "G": 1 << 30, "GB": 1 << 30,
             "T": 1 << 40, "TB": 1 << 40}
    text = value.strip().upper().replace("IB", "B")
    number = text.rstrip("KMGTB")
    unit = text[len(number):]
    try:
        n = float(number)
    except ValueError:
        n = -1
    if n <= 0 or unit not in units:
        raise CnnError(f"--max-memory must be a size such as 4G, 512M or 1000000, got '{value}'")
    return int(n * units[unit])


@click.command()
@click.argument("file", metavar="FILE")
@click.option("--input", "input_shape", metavar="C,H,W|FILE.npy",
              help="Override the input shape, or run on this array (a .npy file, as --input-file).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random input and weights.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option("--input-file", "--input-npy", "input_file", type=click.Path(exists=True, dir_okay=False),
              help="Input array (.npy), (N, C, H, W) or (C, H, W); default: the YAML's input_data or seeded random.")
@click.option("--weights", "weights_file", type=click.Path(exists=True, dir_okay=False),
              help="Weights (.npz) named by layer path: conv1.weight, layer1.0.bn1.running_var, …; every array "
                   "must match a layer and every layer with weights must get them (else exit 2).")
@click.option("--partial-weights", is_flag=True,
              help="Allow a --weights file that leaves layers out or has arrays no layer takes: those "
                   "layers are initialised from --seed, and the report says which.")
@click.option("--save-output", type=click.Path(dir_okay=False), help="Write the network's output array (.npy).")
@click.option("--max-memory", metavar="SIZE",
              help="Refuse runs estimated above this (default: half the available memory).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def forward(file: str, input_shape: str | None, batch: int, seed: int, dtype: str, input_file: str | None,
            weights_file: str | None, partial_weights: bool, save_output: str | None, max_memory: str | None,
            fmt: str) -> None:
    """Run FILE on real arrays (NumPy) and check every layer against the analysis engine.

    \b
    Per layer: the actual output shape, the actual trainable weight elements, the time, and ✓ where
    both equal the engine's numbers (✗ and exit code 1 otherwise).
    FILE is a YAML path, - for standard input, or a built-in name (see `cnncalc list`).
    Examples:
      cnncalc forward feature-map-example
      cnncalc forward resnet18 --input 3,64,64 --batch 2 --dtype float64
    """
    import numpy as np

    from ..forward import run_forward
    from ..render.forward_view import render_forward

    limit = _parse_bytes(max_memory)
    if input_shape is not None and input_shape.lower().endswith(".npy"):
        if input_file is not None:
            raise CnnError("give the input array once: --input FILE.npy or --input-file FILE.npy")
        input_file, input_shape = input_shape, None
    net = open_network(file, input_shape)
    x = None
    if input_file is not None:
        try:
            x = np.load(input_file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CnnError(f"cannot read {input_file} as a .npy array: {exc}") from None
        if input_shape is None and x.ndim in (3, 4) and tuple(x.shape[-3:]) != net.graph.input_shape:
            net = open_network(file, ",".join(map(str, x.shape[-3:])))
    weights = None
    if weights_file is not None:
        try:
            with np.load(weights_file, allow_pickle=False) as z:
                weights = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise CnnError(f"cannot read {weights_file} as a .npz archive: {exc}") from None
    analysis = net.analyse(batch=batch)
    layers = len(analysis.layers)
    on_layer = None
    progress = None
    if analysis.totals.macs >= PROGRESS_MACS and fmt == "table":
        from rich.progress import Progress
        progress = Progress(transient=True, console=None)
        task = progress.add_task(f"forward {net.name}", total=layers)
        on_layer = lambda _name: progress.advance(task)  # noqa: E731
        progress.start()
    try:
        result = run_forward(net.graph, x, weights, batch, seed, dtype, limit, on_layer, partial_weights,
                             weights_file)
    finally:
        if progress is not None:
            progress.stop()
    notes = []
    if input_shape is not None and parse_input_shape(input_shape) != _declared_input(file):
        notes.append(f"run at input {input_shape} instead of the declared one")
    if save_output:
        np.save(save_output, result.output)
        notes.append(f"output saved to {save_output}")
    emit(render_forward(result, fmt, notes))
    sys.exit(ExitCode.OK if result.ok else ExitCode.CHECK_FAILED)


def _declared_input(file: str):
    try:
        return open_network(file, None).graph.input_shape if file != "-" else None
    except CnnError:
        return None


commands = [forward]
