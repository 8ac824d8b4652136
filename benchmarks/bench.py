#!/usr/bin/env python
"""Run the `cnncalc bench` suite, print its table, and write its JSON (the schema of
`cnncalc bench --format json`) plus the Markdown table the README shows.

    python benchmarks/bench.py                       # all layers, float32 -> benchmarks/results/
    python benchmarks/bench.py --dtype float64 --layer conv --out /tmp/f64

For numbers that reflect the machine, run it with OpenBLAS free to pick its kernel:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench.py
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

from rich.console import Console

from cnncalc.bench import suite
from cnncalc.bench.runner import run
from cnncalc.render.bench_view import render_bench


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer", choices=("conv", "pool", "dense", "all"), default="all")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).with_name("results"))
    args = ap.parse_args(argv)

    def progress(label: str) -> None:
        print(f"  {label}", file=sys.stderr, flush=True)

    report = run(suite(args.layer, args.dtype), repeat=args.repeat, progress=progress)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{args.layer}-{args.dtype}-{time.strftime('%Y%m%d-%H%M%S')}"
    (args.out / f"{stem}.json").write_text(render_bench(report, "json"), encoding="utf-8")
    (args.out / f"{stem}.md").write_text(render_bench(report, "markdown"), encoding="utf-8")
    Console(highlight=False, width=200).print(render_bench(report, "table"))
    print(args.out / f"{stem}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
