"""Forward-pass benchmark: cnncalc's NumPy engine against PyTorch on a zoo network, same weights.

    python benchmarks/forward.py [--net resnet18|vgg16|…] [--batch 8] [--input 3,224,224] [--repeats 7]
                                 [--conv-path auto|im2col|winograd|winograd4] [--keep-env] [--out DIR]

Default: ResNet-18 at batch 8, 3×224×224, float32 and float64 (`--dtypes float32` for one); medians
of --repeats timed rounds after one warm-up, each round one run of each library, which goes first
alternating from round to round. "ratio" is the median over rounds of cnncalc's time / PyTorch's in
the same round (with its quartiles): a slow spell of the shared machine lasts seconds and lands on
both sides of a round, where a ratio of two medians keeps it when it lands on one side more often
(both are printed). The machine's GEMM peak (numpy.matmul, 2048³, each dtype) is
measured in the same run and printed beside it. PyTorch
runs with as many threads as NumPy's BLAS (threadpoolctl), and there is an untimed 0.2 s pause
whenever the benchmark switches library, because idle worker threads of one library slow the
other on a 2-core machine.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: the project's machines set them, which pins an older
OpenBLAS kernel (~40% slower). Unless --keep-env is given, the script re-executes itself once with
both unset, for this command only; the original values are printed next to the BLAS kernel that
threadpoolctl names. Targets (issue 14): float32 ≤ 0.85× PyTorch's time at batch 8 (ResNet-18,
VGG-16 at batch 4), ≤ 1.0× at batch 1; float64 faster than PyTorch.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

PINNING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
ORIGINAL_ENV = "CNNCALC_BENCH_ORIGINAL_ENV"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--input", default="3,224,224")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--net", default="resnet18")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--threads", type=int, default=0, help="BLAS and torch threads (default: as NumPy's BLAS has)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: the process's CPU time (with --threads 1, what a busy shared machine cannot "
                         "inflate by preempting the run)")
    ap.add_argument("--conv-path", default="auto", help="auto, im2col, winograd or winograd4 (as cnncalc forward)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    ap.add_argument("--keep-env", action="store_true", help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as they are")
    args = ap.parse_args()

    if not args.keep_env and any(k in os.environ for k in PINNING) and ORIGINAL_ENV not in os.environ:
        env = dict(os.environ)
        env[ORIGINAL_ENV] = ";".join(f"{k}={os.environ[k]}" for k in PINNING if k in os.environ)
        for k in PINNING:
            env.pop(k, None)
        os.execve(sys.executable, [sys.executable, *sys.argv], env)

    import numpy as np
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import cnncalc
    from cnncalc.bench.machine import machine_info
    from cnncalc.bench.runner import paired_ratio
    from cnncalc.forward import run_forward
    from cnncalc.kernels.conv import set_conv_path
    from torch_reference import TorchNet

    if args.threads:
        threadpool_limits(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    threads = args.threads or (blas[0]["num_threads"] if blas else 1)
    torch.set_num_threads(threads)
    original = os.environ.get(ORIGINAL_ENV)
    cpu = machine_info().cpu
    backends = torch_backends(torch)
    print(f"CPU: {cpu}; numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs")
    print(f"PyTorch's CPU kernels: {backends}")
    for info in blas:
        print(f"BLAS: {info.get('internal_api')} {info.get('version')} kernel={info.get('architecture')} "
              f"threads={info.get('num_threads')} ({Path(info.get('filepath', '')).name})")
    print(f"torch threads: {torch.get_num_threads()}; clock: {args.clock}")
    if original:
        print(f"environment: {original.replace(';', ', ')} unset for this run (pass --keep-env to keep them)")
    else:
        print("environment: " + (", ".join(f"{k}={os.environ[k]}" for k in PINNING if k in os.environ) or
                                 "OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE not set"))

    set_conv_path(args.conv_path)
    print(f"conv path: {args.conv_path}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    shape = tuple(int(v) for v in args.input.split(","))
    net = cnncalc.load(args.net, shape)
    print(f"{args.net}, batch {args.batch}, input {'×'.join(map(str, shape))}, {args.repeats} timed runs each\n")
    peaks = {}
    for dtype in args.dtypes.split(","):
        a = np.random.default_rng(1).standard_normal((2048, 2048)).astype(dtype)
        a @ a
        runs = []
        for _ in range(3):
            t0 = clock()
            a @ a
            runs.append(clock() - t0)
        peaks[dtype] = 2 * 2048 ** 3 / min(runs) / 1e9
        print(f"GEMM peak {dtype}: {peaks[dtype]:.1f} GFLOP/s (numpy.matmul 2048³, best of 3)")
    rows = []
    for dtype in args.dtypes.split(","):
        first = run_forward(net.graph, batch=1, dtype=dtype, seed=0)
        weights = first.weights
        x = np.random.default_rng(0).standard_normal((args.batch, *shape)).astype(dtype)
        model = TorchNet(net.graph, weights).eval()
        xt = torch.from_numpy(x)

        walks: list[float] = []

        def ours():
            result = run_forward(net.graph, x, weights, dtype=dtype)
            walks.append(result.seconds)
            return result.output

        def theirs():
            with torch.inference_mode():
                return model(xt).numpy()

        # Interleaved (cnncalc, PyTorch, cnncalc, …) so both libraries see the same machine: on a
        # shared 2-core VM, slow spells last seconds and would otherwise land on one side only.
        samples: dict[str, list[float]] = {"cnncalc": [], "pytorch": []}
        outs = {}
        sides = (("cnncalc", ours), ("pytorch", theirs))
        for round_ in range(args.repeats + 1):  # round 0 is the warm-up
            for label, fn in sides if round_ % 2 == 0 else sides[::-1]:
                time.sleep(0.2)  # untimed: let the other library's worker threads go idle
                t0 = clock()
                outs[label] = fn()
                if round_:
                    samples[label].append(clock() - t0)
        times = {label: statistics.median(s) for label, s in samples.items()}
        # run_forward's own layer time is wall time: with --clock cpu it is left out (nan).
        walk = statistics.median(walks[1:]) if args.clock == "wall" else float("nan")
        # Largest difference relative to the largest |output| (the accuracy target's measure).
        err = float(np.max(np.abs(outs["cnncalc"] - outs["pytorch"])) / np.max(np.abs(outs["pytorch"])))
        per_round = [a / b for a, b in zip(samples["cnncalc"], samples["pytorch"])]
        ratio = paired_ratio(samples["cnncalc"], samples["pytorch"])
        quartiles = statistics.quantiles(per_round, n=4) if len(per_round) > 1 else [ratio] * 3
        rows.append((dtype, times["cnncalc"], walk, times["pytorch"], ratio, (quartiles[0], quartiles[2]),
                     times["cnncalc"] / times["pytorch"], walk / times["pytorch"], err))

    print(f"{'dtype':<8} {'cnncalc (s)':>12} {'of it, layers':>14} {'pytorch (s)':>12} {'ratio':>7} {'quartiles':>13} "
          f"{'of medians':>11} {'layers':>7}  max |diff| / max |out|")
    for dtype, a, w, b, ratio, (q1, q3), medians, wratio, err in rows:
        print(f"{dtype:<8} {a:>12.3f} {w:>14.3f} {b:>12.3f} {ratio:>6.2f}× {f'{q1:.2f}–{q3:.2f}×':>13} "
              f"{medians:>10.2f}× {wratio:>6.2f}×  {err:.2e}")
    print("\ncnncalc (s): run_forward end to end, its checks included (the analysis is kept from the warm-up")
    print("run, as for any network run again in one process); of it, layers: the")
    print("network's layers alone (what PyTorch's time covers). ratio: median over rounds of cnncalc's time /")
    print("PyTorch's in the same round (quartiles beside it); of medians: cnncalc's median / PyTorch's;")
    print("layers: the layers' median / PyTorch's.")
    print(f"load average {os.getloadavg()[0]:.2f} after the runs")
    print("targets: float32 ratio ≤ 0.85 at batch 8 (≤ 1.0 at batch 1), float64 ratio < 1.0 (cnncalc faster)")
    doc = {
        "net": args.net, "batch": args.batch, "input": list(shape), "repeats": args.repeats,
        "conv_path": args.conv_path, "threads": threads, "clock": args.clock, "gemm_peak_gflops": peaks,
        "load_average_after": os.getloadavg()[0],
        "machine": {"cpu": cpu, "cpus": os.cpu_count(), "numpy": np.__version__, "torch": torch.__version__,
                    "torch_backends": backends,
                    "blas": [{k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                             for info in blas],
                    "environment": original or "as is"},
        "results": [{"dtype": d, "cnncalc_median_s": a, "cnncalc_layers_median_s": None if w != w else w,
                     "pytorch_median_s": b, "ratio": r, "ratio_quartiles": list(q), "ratio_of_medians": rm,
                     "layers_ratio": None if wr != wr else wr, "max_rel_diff": e}
                    for d, a, w, b, r, q, rm, wr, e in rows],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"forward-{args.net}-b{args.batch}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(path)


def torch_backends(torch) -> str:
    """What PyTorch computes with on this CPU: its vector ISA, oneDNN (its float32 convolutions) and
    MKL (its GEMMs, float64 convolutions included). The verdict depends on them: on an Intel Xeon with
    AVX-512, MKL's float64 GEMMs and oneDNN's float32 convolutions run far faster than on the AMD
    EPYC of the same project (docs/forward.md § Performance)."""
    parts = [torch.backends.cpu.get_cpu_capability()]
    if torch.backends.mkldnn.is_available():
        parts.append("oneDNN")
    if torch.backends.mkl.is_available():
        parts.append("MKL")
    return ", ".join(parts)


if __name__ == "__main__":
    main()
