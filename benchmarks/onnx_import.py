"""ONNX import benchmark: every zoo network exported by PyTorch, imported by cnncalc.

    python benchmarks/onnx_import.py [--nets resnet50,vgg16] [--repeats 3] [--out DIR]

Each network runs as tests/torch_reference.py's TorchNet on seeded weights at its declared input
and is exported by torch.onnx.export (TorchScript, batch norm kept). Then `cnncalc import`
runs in a fresh process per repeat: wall time (median) and peak resident memory (the child's
VmHWM) are measured, beside the file's size and the memory of a process that
only imports the same modules (the baseline). Also the operator coverage: the file's nodes, how
many were mapped to layers, passed through as plumbing, or folded as constant arithmetic.
Prints a table and writes onnx_import.json under --out.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The child reads its own peak from /proc (VmHWM): getrusage's ru_maxrss would carry over the
# memory of the parent it was forked from (torch included) across exec.
CHILD = """
import sys, time
t, cpu = time.perf_counter(), time.process_time()
{body}
seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(seconds, cpu, int(hwm.split()[1]) * 1024)
"""
BASELINE = "import numpy, onnx, yaml, cnncalc.network, cnncalc.interop.onnx_import"
IMPORT = ("from cnncalc.network import load_onnx\n"
          "a = load_onnx(sys.argv[1]).analyse()\n"
          "assert a.totals.params > 0")


def run_child(body: str, *args: str) -> tuple[float, float, int]:
    """(wall and CPU seconds inside the child, the child's peak resident memory in bytes)."""
    out = subprocess.run([sys.executable, "-c", CHILD.format(body=body), *args], check=True, capture_output=True,
                         text=True).stdout
    seconds, cpu, peak = out.strip().splitlines()[-1].split()
    return float(seconds), float(cpu), int(peak)


def export(name: str, folder: Path) -> Path:
    import torch
    sys.path.insert(0, str(ROOT / "tests"))
    from torch_reference import TorchNet
    from cnncalc.interop.onnx_export import graph_weights
    from cnncalc.network import load

    class Exportable(TorchNet):
        def merge(self, layer, xs, source):
            return xs[0] + xs[1] if layer.kind == "add" else super().merge(layer, xs, source)

    net = load(name)
    model = Exportable(net.graph, graph_weights(net.graph, seed=0)).eval()
    path = folder / f"{name}.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *net.graph.input_shape),), str(path), dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
    return path


def main() -> None:
    from cnncalc import zoo
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nets", default=",".join(n for n in zoo.names() if n != "lenet5-1998"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = ap.parse_args()
    from cnncalc.network import load_onnx

    rows = []
    _, _, baseline = run_child(BASELINE)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.nets.split(","):
            path = export(name, Path(tmp))
            size = path.stat().st_size
            runs = [run_child(IMPORT, str(path)) for _ in range(args.repeats)]
            start = time.perf_counter()
            imported = load_onnx(path).imported
            c = imported.coverage
            rows.append({"net": name, "file_bytes": size, "nodes": c.nodes, "mapped": c.mapped,
                         "plumbing": c.plumbing, "folded": c.folded, "layers": len(imported.weights),
                         "median_s": statistics.median(t for t, _c, _m in runs),
                         "median_cpu_s": statistics.median(c for _t, c, _m in runs),
                         "peak_rss_bytes": max(m for _t, _c, m in runs), "baseline_rss_bytes": baseline,
                         "in_process_s": time.perf_counter() - start})
    print(f"{'network':<22}{'file MB':>9}{'nodes':>7}{'mapped':>8}{'plumb':>7}{'folded':>8}{'wall s':>8}{'cpu s':>7}"
          f"{'peak MB':>9}{'−base':>8}{'÷file':>7}")
    for r in rows:
        extra = r["peak_rss_bytes"] - r["baseline_rss_bytes"]
        print(f"{r['net']:<22}{r['file_bytes'] / 1e6:>9.1f}{r['nodes']:>7}{r['mapped']:>8}{r['plumbing']:>7}"
              f"{r['folded']:>8}{r['median_s']:>8.2f}{r['median_cpu_s']:>7.2f}{r['peak_rss_bytes'] / 1e6:>9.0f}"
              f"{extra / 1e6:>8.0f}{extra / r['file_bytes']:>7.2f}")
    print(f"baseline (imports only): {baseline / 1e6:.0f} MB; −base and ÷file: peak memory above it, and that over "
          "the file's size")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "onnx_import.json").write_text(json.dumps({"repeats": args.repeats, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
