"""Where a forward pass's time goes, per layer kind: cnncalc's per-layer times (`run_forward`'s
records; a fused layer's time is in its conv's or add's row) beside PyTorch's per-operator times
(torch.profiler on the same network and weights), medians of runs interleaved the same way.

    python benchmarks/forward_profile.py [--net resnet18] [--batch 8] [--input 3,224,224] [--repeats 7] [--out DIR]

Like benchmarks/forward.py it re-runs itself with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset. PyTorch's
profiler adds a little to each of its operators; its total is given beside the unprofiled time.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
from pathlib import Path

PINNING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# PyTorch operators by the cnncalc kind they compute (tests/torch_reference.py builds them).
TORCH_KINDS = {
    "aten::conv2d": "conv", "aten::batch_norm": "batchnorm", "aten::relu": "relu", "aten::relu_": "relu",
    "aten::max_pool2d": "maxpool", "aten::add": "add", "aten::add_": "add", "aten::linear": "dense",
    "aten::adaptive_avg_pool2d": "globalavgpool", "aten::mean": "globalavgpool", "aten::flatten": "flatten",
    "aten::gelu": "gelu", "aten::layer_norm": "layernorm",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", default="resnet18")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--input", default="3,224,224")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = ap.parse_args()
    if any(k in os.environ for k in PINNING):
        env = {k: v for k, v in os.environ.items() if k not in PINNING}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)

    import numpy as np
    import torch
    from torch.profiler import ProfilerActivity, profile

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import cnncalc
    from cnncalc.bench.machine import machine_info
    from forward import torch_backends  # benchmarks/forward.py, beside this script
    from cnncalc.forward import forward_threads, run_forward
    from torch_reference import TorchNet

    threads = forward_threads()
    torch.set_num_threads(threads)
    shape = tuple(int(v) for v in args.input.split(","))
    graph = cnncalc.load(args.net, shape).graph
    weights = run_forward(graph, batch=1).weights
    x = np.random.default_rng(0).standard_normal((args.batch, *shape)).astype(np.float32)
    model = TorchNet(graph, weights).eval()
    xt = torch.from_numpy(x)

    ours: dict[str, list[float]] = collections.defaultdict(list)
    theirs: dict[str, list[float]] = collections.defaultdict(list)
    walks, plain = [], []
    for round_ in range(args.repeats + 1):  # round 0 warms up
        time.sleep(0.2)
        result = run_forward(graph, x, weights)
        kinds: dict[str, float] = collections.Counter()
        for r in result.records:
            kinds[r.type] += r.seconds
        time.sleep(0.2)
        t0 = time.perf_counter()
        with torch.inference_mode():
            model(xt)
        seconds = time.perf_counter() - t0
        time.sleep(0.2)
        with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
            model(xt)
        if not round_:
            continue
        walks.append(result.seconds)
        plain.append(seconds)
        for kind, s in kinds.items():
            ours[kind].append(s)
        per_kind: dict[str, float] = collections.Counter()
        for event in prof.key_averages():
            kind = TORCH_KINDS.get(event.key)
            if kind:
                per_kind[kind] += event.cpu_time_total / 1e6
        for kind in set(per_kind) | set(ours):
            theirs[kind].append(per_kind.get(kind, 0.0))

    med = statistics.median
    rows = sorted(set(ours) | set(theirs), key=lambda k: -med(ours.get(k, [0.0])))
    machine = {"cpu": machine_info().cpu, "torch_backends": torch_backends(torch)}
    print(f"CPU: {machine['cpu']}; PyTorch's CPU kernels: {machine['torch_backends']}")
    print(f"{args.net}, batch {args.batch}, float32, {threads} threads; load average {os.getloadavg()[0]:.2f}")
    print(f"{'kind':<14} {'cnncalc ms':>11} {'PyTorch ms':>11}")
    for kind in rows:
        a, b = med(ours.get(kind, [0.0])) * 1000, med(theirs.get(kind, [0.0])) * 1000
        print(f"{kind:<14} {a:>11.1f} {b:>11.1f}")
    print(f"{'total':<14} {med(walks) * 1000:>11.1f} {med(plain) * 1000:>11.1f}   (PyTorch unprofiled; ratio "
          f"{med(walks) / med(plain):.2f})")
    doc = {"net": args.net, "batch": args.batch, "threads": threads, "repeats": args.repeats, "machine": machine,
           "cnncalc_ms": {k: med(v) * 1000 for k, v in ours.items()},
           "pytorch_ms": {k: med(v) * 1000 for k, v in theirs.items()},
           "cnncalc_walk_ms": med(walks) * 1000, "pytorch_ms_unprofiled": med(plain) * 1000}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"forward-profile-{args.net}-b{args.batch}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main()
