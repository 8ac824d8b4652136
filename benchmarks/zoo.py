"""The zoo's networks: `cnncalc params NAME` wall time, and the forward pass against PyTorch.

    python benchmarks/zoo.py [NAME ...] [--batch 8] [--repeats 5] [--dtype float32] [--out DIR]

Per network: the wall time of `cnncalc params NAME --format json` as a new process (median of
--repeats; Python's start and imports included, as a user sees it), and, at a reduced input (the
one tests/test_zoo_torchvision.py compares at), the median time of cnncalc's forward pass and of
PyTorch's on the same weights (tests/torch_reference.py's model built from the same graph, runs
interleaved, an untimed 0.2 s pause between libraries, PyTorch with NumPy's BLAS thread count).
The ratio is cnncalc's median / PyTorch's, both measured in this run. Prints a table and writes
JSON to --out (benchmarks/results by default). Without names: the networks of issue 11's zoo.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name → the reduced input of the forward comparison (tests/test_zoo_torchvision.py's)
REDUCED = {
    "resnext50_32x4d": (3, 32, 32), "densenet121": (3, 32, 32), "squeezenet1_1": (3, 35, 35),
    "inception_v3": (3, 75, 75), "inception_v3_aux": (768, 17, 17), "mobilenet_v2": (3, 32, 32),
    "convnext_tiny": (3, 32, 32),
}


def params_wall(name: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cnncalc", "params", name, "--format", "json"], check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def forward_times(name: str, shape, batch: int, repeats: int, dtype: str):
    import numpy as np
    import torch

    import cnncalc
    from cnncalc.forward import run_forward
    from torch_reference import TorchNet

    net = cnncalc.load(name, shape)
    weights = run_forward(net.graph, batch=1, dtype=dtype, seed=0).weights
    x = np.random.default_rng(0).standard_normal((batch, *shape)).astype(dtype)
    model = TorchNet(net.graph, weights).eval()
    xt = torch.from_numpy(x)
    samples: dict[str, list[float]] = {"cnncalc": [], "pytorch": []}
    outs = {}

    def ours():
        return run_forward(net.graph, x, weights, dtype=dtype).output

    def theirs():
        with torch.inference_mode():
            return model(xt).numpy()

    for round_ in range(repeats + 1):  # round 0 warms up
        for label, fn in (("cnncalc", ours), ("pytorch", theirs)):
            time.sleep(0.2)
            t0 = time.perf_counter()
            outs[label] = fn()
            if round_:
                samples[label].append(time.perf_counter() - t0)
    ours_s, theirs_s = (statistics.median(samples[k]) for k in ("cnncalc", "pytorch"))
    err = float(np.max(np.abs(outs["cnncalc"] - outs["pytorch"])) / max(1e-30, np.max(np.abs(outs["pytorch"]))))
    return ours_s, theirs_s, err


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", default=list(REDUCED))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    import torch
    from threadpoolctl import threadpool_info

    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    torch.set_num_threads(blas[0]["num_threads"] if blas else 1)
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs; torch threads {torch.get_num_threads()}; "
          f"forward: batch {args.batch}, {args.dtype}, median of {args.repeats} after a warm-up\n")
    rows = []
    for name in args.names:
        wall = params_wall(name, args.repeats)
        shape = REDUCED.get(name)
        ours, theirs, err = forward_times(name, shape, args.batch, args.repeats, args.dtype) if shape else (
            None, None, None)
        rows.append({"name": name, "params_wall_s": wall, "reduced_input": list(shape) if shape else None,
                     "cnncalc_forward_s": ours, "pytorch_forward_s": theirs,
                     "ratio": ours / theirs if shape else None, "max_rel_diff": err})
        r = rows[-1]
        fwd = (f"{'×'.join(map(str, shape)):>10} {ours * 1e3:>10.1f} {theirs * 1e3:>10.1f} {r['ratio']:>6.2f}×"
               if shape else f"{'—':>10}")
        print(f"{name:<18} {wall:>7.2f} s   {fwd}")
    print("\ncolumns: params wall time (new process, median); reduced input; cnncalc and PyTorch forward (ms,"
          " medians); ratio = cnncalc / PyTorch")
    doc = {"load_average": load, "cpus": os.cpu_count(), "batch": args.batch, "dtype": args.dtype,
           "repeats": args.repeats, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"zoo-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main()
