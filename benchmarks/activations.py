#!/usr/bin/env python
"""Time issue 11's elementwise kernels and GELU (cnncalc.kernels.elementwise) against PyTorch's on one
MobileNet-sized activation, print a table and write JSON (medians of `--repeat` runs, ratios
measured in the same run, the three timed in turn so that load falls on them alike).

    python benchmarks/activations.py                       # float32, 8×96×56×56 -> benchmarks/results/
    python benchmarks/activations.py --dtype float64 --shape 1,384,56,56 --out /tmp/act

NumPy's ufuncs run on one thread; PyTorch is timed on one thread too (`torch.set_num_threads(1)`)
so the ratio compares the kernels, not the thread counts. "in place" writes into its input (what
the forward pass does when nothing else holds that array); "new" allocates the output.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import numpy as np

from cnncalc.kernels import elementwise as ew
from cnncalc.kernels.dense import dense_per_position


def _interleaved_medians(fns, repeat: int) -> list[float]:
    """Median seconds of each function, the functions timed in turn within each round: on a
    shared machine a burst of load then falls on all of them alike, not on one."""
    for fn in fns:
        fn()  # warm: first-touch pages, caches
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            start = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - start)
    return [statistics.median(ts) for ts in times]


def cases(x: np.ndarray):
    """(name, ours new, ours in place or None, PyTorch on a tensor) for each kernel."""
    c = x.shape[1]
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal(c).astype(x.dtype), rng.standard_normal(c).astype(x.dtype)
    gamma = w.reshape(c, 1, 1)
    lin = rng.standard_normal((4 * c, c)).astype(x.dtype)

    def inplace(f):
        return lambda y: f(y, out=y)

    import torch
    F = torch.nn.functional
    tw, tb, tg, tl = (torch.from_numpy(a) for a in (w, b, gamma, lin))
    return [
        ("relu6", ew.relu6, inplace(ew.relu6), F.relu6),
        ("hardtanh", lambda y: ew.hardtanh(y, -1, 1), lambda y: ew.hardtanh(y, -1, 1, out=y), F.hardtanh),
        ("hardsigmoid", ew.hardsigmoid, inplace(ew.hardsigmoid), F.hardsigmoid),
        ("hardswish", ew.hardswish, inplace(ew.hardswish), F.hardswish),
        ("silu", ew.silu, inplace(ew.silu), F.silu),
        ("mish", ew.mish, inplace(ew.mish), F.mish),
        ("gelu", ew.gelu, inplace(ew.gelu), F.gelu),
        ("elu", ew.elu, inplace(ew.elu), F.elu),
        ("prelu (per channel)", lambda y: ew.prelu(y, w), lambda y: ew.prelu(y, w, out=y), lambda t: F.prelu(t, tw)),
        ("layernorm (channels)", lambda y: ew.layer_norm(y, w, b, 1e-6), lambda y: ew.layer_norm(y, w, b, 1e-6, out=y),
         lambda t: F.layer_norm(t.permute(0, 2, 3, 1), (c,), tw, tb, 1e-6).permute(0, 3, 1, 2)),
        ("layer_scale", lambda y: ew.layer_scale(y, gamma), lambda y: ew.layer_scale(y, gamma, out=y),
         lambda t: tg * t),
        ("dense per position (C→4C)", lambda y: dense_per_position(y, lin), None,
         lambda t: F.linear(t.permute(0, 2, 3, 1), tl).permute(0, 3, 1, 2)),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--shape", default="8,96,56,56", help="N,C,H,W")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).with_name("results"))
    args = ap.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.split(","))
    x = (np.random.default_rng(1).standard_normal(shape) * 3).astype(args.dtype)
    try:
        import torch
    except ImportError:
        print("PyTorch is needed for the comparison (pip install -e '.[test]')", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    t = torch.from_numpy(x.copy())
    rows = []
    for name, new, in_place, ref in cases(x):
        scratch = x.copy()
        fns = [lambda: new(x), lambda: ref(t)] + ([lambda: in_place(scratch)] if in_place else [])
        with torch.no_grad():
            ours, theirs, *rest = _interleaved_medians(fns, args.repeat)
        ours_in_place = rest[0] if rest else None
        rows.append({"kernel": name, "numpy_s": ours, "numpy_in_place_s": ours_in_place, "torch_s": theirs,
                     "ratio_to_torch": ours / theirs})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.dtype} {'×'.join(map(str, shape))}, median of {args.repeat}, PyTorch on 1 thread, "
          f"load {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'kernel':28} {'NumPy ms':>9} {'in place':>9} {'PyTorch':>9} {'ratio':>6}")
    for r in rows:
        ip = f"{r['numpy_in_place_s'] * 1e3:9.2f}" if r["numpy_in_place_s"] is not None else f"{'—':>9}"
        print(f"{r['kernel']:28} {r['numpy_s'] * 1e3:9.2f} {ip} {r['torch_s'] * 1e3:9.2f} {r['ratio_to_torch']:6.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"activations-{args.dtype}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"dtype": args.dtype, "shape": shape, "repeat": args.repeat, "torch_threads": 1,
                                "load_average": load, "cpus": os.cpu_count(),
                                "numpy": np.__version__, "torch": torch.__version__, "results": rows}, indent=1),
                    encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
