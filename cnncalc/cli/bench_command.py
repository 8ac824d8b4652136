"""`bench`: convolution, pooling and dense computed four ways (or more), timed against the measured GEMM limit.
NumPy (and PyTorch, when present) are imported inside the command, never at CLI start-up."""
from __future__ import annotations

import click

from ..errors import CnnError

_IMPLS = ("naive", "im2col-textbook", "im2col", "winograd", "banded", "torch")


def _ints(value: str | None, option: str, sizes: tuple[int, ...]) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        parts = tuple(int(p) for p in value.replace("x", ",").replace("×", ",").split(","))
    except ValueError:
        parts = ()
    if len(parts) not in sizes or min(parts, default=-1) < 0:
        raise CnnError(f"{option} expects {' or '.join(str(s) for s in sizes)} whole numbers separated by "
                       f"commas, got '{value}'")
    return parts


def _pair(value: str, option: str, minimum: int = 1) -> tuple[int, int]:
    p = _ints(value, option, (1, 2))
    if min(p) < minimum:
        raise CnnError(f"{option} must be ≥ {minimum}, got '{value}'")
    return (p[0], p[0]) if len(p) == 1 else (p[0], p[1])


def _custom_case(layer: str, shape: str, filters: int | None, kernel: str, stride: str | None,
                 padding: str, dilation: str, groups: int, dtype: str):
    from ..bench.suite import Case

    if layer == "all":
        raise CnnError("--shape times one layer: pick --layer conv, pool or dense")
    dims = _ints(shape, "--shape", (2,) if layer == "dense" else (4,))
    if min(dims) < 1:
        raise CnnError(f"--shape sizes must be ≥ 1, got '{shape}'")
    if layer == "dense":
        if not filters:
            raise CnnError("--layer dense needs --filters OUT (the output features)")
        return Case("custom", "dense", dims, filters, dtype=dtype)
    k = _pair(kernel, "--kernel")
    s = _pair(stride, "--stride") if stride else ((k if layer == "pool" else (1, 1)))
    p = _ints(padding, "--padding", (1, 2, 4))
    pad = (p * 4 if len(p) == 1 else (p[0], p[0], p[1], p[1]) if len(p) == 2 else p)
    d = _pair(dilation, "--dilation")
    if layer == "conv":
        if not filters:
            raise CnnError("--layer conv needs --filters K (the output channels)")
        if dims[1] % groups or filters % groups:
            raise CnnError(f"--groups {groups} must divide both the {dims[1]} input channels and the "
                           f"{filters} filters")
    case = Case("custom", layer, dims, filters or 0, k, s, pad, d, groups if layer == "conv" else 1, dtype=dtype)
    ho, wo = case.out_hw()
    if ho < 1 or wo < 1:
        raise CnnError(f"the output would be {ho}×{wo}: kernel {k[0]}×{k[1]} (dilation {d[0]}×{d[1]}) is larger "
                       f"than the {dims[2]}×{dims[3]} input after padding {pad}; pad more or use a smaller kernel")
    return case


@click.command()
@click.option("--layer", type=click.Choice(("conv", "pool", "dense", "all")), default="conv", show_default=True,
              help="Which layers of the suite to time (or which kind --shape is).")
@click.option("--shape", metavar="N,C,H,W", help="Time one layer instead of the suite (N,IN for dense).")
@click.option("--filters", type=click.IntRange(min=1), help="Output channels (conv) or features (dense).")
@click.option("--kernel", default="3", show_default=True, metavar="K|KH,KW",
              help="Window size of the --shape layer (conv or pool): one number, or height,width.")
@click.option("--stride", metavar="S|SH,SW", help="Step of the window. [default: 1; the kernel for pool]")
@click.option("--padding", default="0", show_default=True, metavar="P|PH,PW|T,B,L,R",
              help="Zeros around the input: all sides, height,width, or top,bottom,left,right.")
@click.option("--dilation", default="1", show_default=True, metavar="D|DH,DW",
              help="Spacing between the window's taps (conv).")
@click.option("--groups", type=click.IntRange(min=1), default=1, show_default=True,
              help="Channel groups of the conv: must divide the input channels and --filters.")
@click.option("--pool", "pool_mode", type=click.Choice(("max", "avg")), default="max", show_default=True,
              help="Pooling kind for --shape with --layer pool.")
@click.option("--dtype", type=click.Choice(("float32", "float64")), default="float32", show_default=True,
              help="Array type of every case.")
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True,
              help="Timed rounds per measurement, each timed call right after an untimed one; the median is "
                   "shown.")
@click.option("--impl", "impl_names", type=click.Choice(_IMPLS), multiple=True,
              help="Only these implementations (repeatable). [default: all; winograd on 3×3 stride-1 convs only, "
                   "banded on depthwise convs only]")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "markdown")), default="table",
              show_default=True, help="json is the stable machine interface.")
def bench(layer: str, shape: str | None, filters: int | None, kernel: str, stride: str | None, padding: str,
          dilation: str, groups: int, pool_mode: str, dtype: str, repeat: int, impl_names: tuple[str, ...],
          fmt: str) -> None:
    """Time convolution, pooling and dense layers four ways (and more) against the measured GEMM limit.

    \b
    naive: the definition as Python loops (a partial run, extrapolated per MAC);
    im2col-textbook: zeros + loop over kernel offsets + transpose + dot;
    im2col: cnncalc's own kernels (the forward pass's);
    winograd (3×3 stride-1 convs), banded (depthwise convs): its other kernels;
    torch: torch.nn.functional, if installed.
    Each is checked against a float64 reference (1e-10) on a reduced copy first.
    The GEMM peak is numpy.matmul on the layer's own im2col product, this run.
    See docs/bench.md for the suite and how to read the table.
    Examples:
      cnncalc bench --layer conv
      cnncalc bench --layer all --format json
      cnncalc bench --layer conv --shape 8,64,56,56 --filters 128 --kernel 3 --padding 1
    """
    from dataclasses import replace

    from ..bench import suite
    from .common import emit

    if shape is not None:
        cases = [_custom_case(layer, shape, filters, kernel, stride, padding, dilation, groups, dtype)]
        if cases[0].layer == "pool":
            cases = [replace(cases[0], pool=pool_mode)]
    else:
        cases = suite(layer, dtype)

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..bench.runner import IMPL_ORDER, guard_memory, run, steps
    from ..render.bench_view import render_bench

    names = tuple(n for n in IMPL_ORDER if n in impl_names) if impl_names else IMPL_ORDER
    guard_memory(cases, names)
    with Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("bench", total=steps(cases, names))
        first = [True]

        def progress(label: str) -> None:
            if not first[0]:
                bar.advance(task)
            first[0] = False
            bar.update(task, description=label)

        report = run(cases, repeat=repeat, impl_names=names, progress=progress)
    emit(render_bench(report, fmt))


commands = [bench]
