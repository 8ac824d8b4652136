"""Issue 11's networks: `cnncalc params NAME` wall time, and the forward pass against PyTorch.

    python benchmarks/zoo_modern.py [--input 3,64,64] [--batch 2] [--repeats 5] [--out DIR]

For each of mobilenet_v3_large, efficientnet_b0, shufflenet_v2_x1_0 and regnet_y_400mf: the
median wall time of `cnncalc params NAME` run as a fresh process (Python's start included: what
a user waits for), and, at the reduced input the tests use, the median times of cnncalc's NumPy
forward pass and of the PyTorch transcription in tests/torchvision_like.py on the same weights
(float32, one warm-up, the two interleaved); the ratio is cnncalc's / PyTorch's. Both run on one
thread (NumPy's BLAS through threadpoolctl, torch.set_num_threads), so that on a shared machine
neither waits for a second core the other does not get. Prints a table and writes
zoo_modern.json under --out.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

NETS = ("mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0", "regnet_y_400mf")


def params_seconds(name: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cnncalc", "params", name], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forward_seconds(name: str, shape: tuple[int, int, int], batch: int, repeats: int) -> tuple[float, float]:
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    import cnncalc
    from cnncalc.forward import run_forward
    from torchvision_like import MODELS, torchvision_name

    net = cnncalc.load(name, shape)
    x = np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32)
    weights = run_forward(net.graph, x, dtype="float32", seed=1).weights
    model = MODELS[name]().eval()
    model.load_state_dict({torchvision_name(k): torch.from_numpy(v) for k, v in weights.items()}, strict=False)
    tx = torch.from_numpy(x)
    ours, theirs = [], []
    torch.set_num_threads(1)
    with torch.no_grad(), threadpool_limits(1):
        model(tx)
        for _ in range(repeats):
            start = time.perf_counter()
            run_forward(net.graph, x, weights, dtype="float32")
            ours.append(time.perf_counter() - start)
            time.sleep(0.2)  # idle worker threads of one library slow the other on 2 cores
            start = time.perf_counter()
            model(tx)
            theirs.append(time.perf_counter() - start)
            time.sleep(0.2)
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", default="3,64,64")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    shape = tuple(int(v) for v in args.input.split(","))
    rows = []
    for name in NETS:
        p = params_seconds(name, args.repeats)
        ours, torch_s = forward_seconds(name, shape, args.batch, args.repeats)
        rows.append({"net": name, "params_s": p, "forward_s": ours, "torch_s": torch_s, "ratio": ours / torch_s})
    print(f"{'network':<22}{'params (s)':>11}{'forward (s)':>13}{'PyTorch (s)':>13}{'ratio':>7}")
    for r in rows:
        print(f"{r['net']:<22}{r['params_s']:>11.3f}{r['forward_s']:>13.4f}{r['torch_s']:>13.4f}{r['ratio']:>7.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {"input": list(shape), "batch": args.batch, "dtype": "float32", "repeats": args.repeats, "results": rows}
    (args.out / "zoo_modern.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
