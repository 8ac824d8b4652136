"""`cnncalc forward`: run the network on real arrays (NumPy) and check the engine's numbers."""
from __future__ import annotations

import math
import os
import sys
from typing import Callable

import click

from ..errors import CnnError, ExitCode, Where
from ..network import Network, load, loads
from ..quoting import cut
from ..render import FORMATS
from ..yaml_source import read_stdin_text
from .common import MAX_BATCH
from .common import emit, parse_input_shape

# Show a progress bar when the run is likely to take more than about a second.
PROGRESS_MACS = 3_000_000_000
MAX_SEED = 2**63 - 1


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
    # float() also reads nan, inf and 1e999 (inf): a limit must be a finite number of bytes ≥ 1
    if not math.isfinite(n) or unit not in units or n * units[unit] < 1:
        raise CnnError(f"--max-memory must be a size such as 4G, 512M or 1000000 (at least 1 byte), "
                       f"got '{cut(value)}'")
    return int(n * units[unit])


def _parse_seed(value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_SEED):
        raise CnnError(f"--seed must be a whole number from 0 to 2^63 − 1, got '{cut(value)}'")
    return int(text)


def _check_save_path(path: str) -> None:
    """Before the run: the output goes to exactly this path, so it must name a .npy file in a
    directory that exists (NumPy itself would append .npy to any other name)."""
    where = Where(cut(path, 100))
    if not path.lower().endswith(".npy"):
        raise CnnError("--save-output writes NumPy's .npy format; give a name ending in .npy (such as y.npy)",
                       where)
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise CnnError(f"--save-output: there is no directory '{cut(parent)}'; create it or save elsewhere", where)
    if os.path.isdir(path):
        raise CnnError("--save-output names a directory; give a file name ending in .npy", where)


def _save(path: str, array) -> None:
    import numpy as np

    try:
        with open(path, "wb") as f:
            np.save(f, array)
    except OSError as exc:
        raise CnnError(f"--save-output cannot write it: {exc.strerror or exc}", Where(cut(path, 100))) from None


def _builder(file: str) -> Callable[[tuple[int, ...] | None], Network]:
    """FILE read once (standard input can be read only once): the network built at an input shape."""
    if file == "-":
        text = read_stdin_text()
        return lambda shape: loads(text, "<stdin>", shape)
    return lambda shape: load(file, shape)


def _shape(shape) -> str:
    return "×".join(map(str, shape))


@click.command()
@click.argument("file", metavar="FILE")
@click.option("--input", "input_shape", metavar="C,H,W|FILE.npy",
              help="Override the input shape, or run on this array (a .npy file, as --input-file).")
@click.option("--batch", type=click.IntRange(min=1, max=MAX_BATCH), default=1, show_default=True, help="Batch size.")
@click.option("--seed", default="0", show_default=True, metavar="S",
              help="Seed of the random input and weights: a whole number from 0 to 2^63 − 1.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True,
              help="Array type of the input, weights and every layer's output.")
@click.option("--input-file", "--input-npy", "input_file", metavar="FILE.npy",
              help="Input array (.npy), (N, C, H, W) or (C, H, W); default: the YAML's input_data or seeded random.")
@click.option("--weights", "weights_file", metavar="FILE.npz",
              help="Weights (.npz) named by layer path: conv1.weight, layer1.0.bn1.running_var, …; every array "
                   "must match a layer and every layer with weights must get them (else exit 2).")
@click.option("--partial-weights", is_flag=True,
              help="Allow a --weights file that leaves layers out or has arrays no layer takes: those "
                   "layers are initialised from --seed, and the report says which.")
@click.option("--save-output", metavar="FILE.npy", help="Write the network's output array to FILE.npy.")
@click.option("--max-memory", metavar="SIZE",
              help="Refuse runs estimated above this (default: half the available memory).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--conv-path", type=click.Choice(["auto", "im2col", "winograd", "winograd4"]), default="auto",
              show_default=True, help="Algorithm of 3×3 stride-1 convolutions: auto (docs/forward.md § The kernels), "
                                      "im2col (depthwise convs too), winograd (F(2×2, 3×3)) or winograd4 "
                                      "(F(4×4, 3×3)).")
@click.option("--threads", type=click.IntRange(min=1, max=256), default=None,
              help="Threads that run the batch's slices [default: as many as NumPy's BLAS uses].")
@click.option("--no-fuse", is_flag=True,
              help="Run every layer on its own (by default a conv runs the batch norm and activation after it).")
def forward(file: str, input_shape: str | None, batch: int, seed: str, dtype: str, input_file: str | None,
            weights_file: str | None, partial_weights: bool, save_output: str | None, max_memory: str | None,
            fmt: str, conv_path: str, threads: int | None, no_fuse: bool) -> None:
    """Run FILE on real arrays (NumPy) and check every layer against the analysis engine.

    \b
    Per layer: the actual output shape, the actual trainable weight elements, the time, and ✓ where
    both equal the engine's numbers (✗ and exit code 1 otherwise).
    FILE is a YAML path, - for standard input, a built-in name (see `cnncalc list`) or an .onnx
    file (run with its own weights unless --weights is given).
    Examples:
      cnncalc forward feature-map-example
      cnncalc forward resnet18 --input 3,64,64 --batch 2 --dtype float64
    """
    import numpy as np

    from .. import forward as fw
    from ..render.forward_view import render_forward

    # Every option is checked before FILE is read or anything is allocated.
    limit = _parse_bytes(max_memory)
    from ..kernels.conv import set_conv_path
    set_conv_path(conv_path)
    seed_value = _parse_seed(seed)
    if save_output is not None:
        _check_save_path(save_output)
    if input_shape is not None and input_shape.lower().endswith(".npy"):
        if input_file is not None:
            raise CnnError("give the input array once: --input FILE.npy or --input-file FILE.npy")
        input_file, input_shape = input_shape, None
    override = parse_input_shape(input_shape)
    build = _builder(file)
    net = build(override)
    notes = []
    if override is not None:
        try:
            declared = build(None).graph.input_shape
        except CnnError:
            declared = None
        if override != declared:
            said = _shape(declared) if declared else "one"
            notes.append(f"run at input {_shape(override)} instead of the declared {said}")
    itemsize = np.dtype(dtype).itemsize
    extra, extra_what = 0, []
    header = None
    if input_file is not None:
        # The header first: its shape decides the network's input and the memory the data needs.
        header = fw.read_npy_header(input_file)
        chw = header.shape[-3:]
        if override is None and chw != net.graph.input_shape:
            notes.append(f"run at input {_shape(chw)} (the input array's) instead of the declared "
                         f"{_shape(net.graph.input_shape)}")
            net = build(chw)
        elif chw != net.graph.input_shape:
            raise CnnError(f"the input array is {_shape(header.shape)}, but --input says {_shape(override)}; "
                           "give one of them to match the other", Where(cut(input_file, 100)))
        batch = header.shape[0] if len(header.shape) == 4 else 1
        if header.dtype.itemsize != itemsize or header.dtype.kind != "f" or header.fortran_order:
            extra += header.nbytes  # kept beside its converted copy
            extra_what.append("the input array as read")
    headers = None
    if weights_file is not None:
        headers = fw.read_npz_headers(weights_file)
        extra += sum(h.nbytes for h in headers.values())
        extra_what.append("the weights file's arrays")
    analysis = net.analyse(batch=batch)
    if headers is not None:
        fw.check_weights_file(net.graph, analysis, {k: h.shape for k, h in headers.items()}, partial_weights,
                              weights_file)
    fw.guard_memory(net.graph, analysis, batch, itemsize, limit, extra, " + ".join(extra_what),
                    threads=fw.forward_threads(threads), fuse=not no_fuse)
    x = fw.load_npy(input_file) if input_file is not None else None
    weights = fw.load_npz(weights_file) if weights_file is not None else None
    if weights is None and net.imported is not None:
        weights = net.imported.weights
        notes.append("weights from the ONNX file")
    progress = None
    on_layer = None
    from rich.console import Console

    console = Console(stderr=True)
    if analysis.totals.macs >= PROGRESS_MACS and fmt == "table" and console.is_terminal:
        from rich.progress import Progress

        # On standard error, and started by the first layer: a run refused before it starts
        # prints nothing but its error line.
        progress = Progress(transient=True, console=console)
        task = progress.add_task(f"forward {net.name}", total=len(analysis.layers))

        def on_layer(_name: str) -> None:
            progress.start()  # a no-op once started
            progress.advance(task)
    try:
        result = fw.run_forward(net.graph, x, weights, batch, seed_value, dtype, limit, on_layer, partial_weights,
                                weights_file, threads, not no_fuse)
    finally:
        if progress is not None:
            progress.stop()
    if save_output:
        _save(save_output, result.output)
        notes.append(f"output saved to {save_output}")
    emit(render_forward(result, fmt, notes))
    sys.exit(ExitCode.OK if result.ok else ExitCode.CHECK_FAILED)


commands = [forward]
