"""Analysis scaling benchmark: generated networks of growing depth, and the CLI's start-up.

    python benchmarks/analysis.py [--repeats 3] [--out DIR]

Networks: `repeat` of [conv 3×3 (16 filters, padding 1), relu] on a 16×32×32 input, so 1,000,
10,000 and 100,000 layers (50,000 passes: the most the 100,000-layer limit of docs/format.md
allows). For each: the library's `cnncalc.loads` + analyse time (in this process, medians), and
the wall time of `cnncalc params FILE --format json` (a fresh process each run, medians). Then
the wall time of `cnncalc params resnet50 --format json` next to `python -c pass` (Python's own
start), and the import of the CLI alone.

Bytecode: the project's machines set PYTHONDONTWRITEBYTECODE=1, which makes every run compile
cnncalc from source (~0.1 s); an installed package has its .pyc files. The script compiles them
once (`compileall`) before timing, so the numbers are those of an installed package.
Runs are interleaved; the load average is printed, since the machine is shared.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = "[{conv: {filters: 16, kernel: 3, padding: 1}}, relu]"


def network_text(passes: int) -> str:
    return (f"name: deep{passes}\ninput: [16, 32, 32]\nlayers:\n"
            f"  - repeat: {{name: stage, times: {passes}, layers: {BLOCK}}}\n")


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = ap.parse_args()
    compileall.compile_dir(str(ROOT / "cnncalc"), quiet=1)

    import cnncalc
    cli = [sys.executable, "-m", "cnncalc"]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for passes in (500, 5000, 50000):
            text = network_text(passes)
            path = Path(tmp) / f"deep{passes}.yaml"
            path.write_text(text, encoding="utf-8")
            lib, cmd = [], []
            for _ in range(args.repeats):
                start = time.perf_counter()
                analysis = cnncalc.loads(text, path.name).analyse()
                lib.append(time.perf_counter() - start)
                cmd.append(wall([*cli, "params", str(path), "--format", "json"]))
            layers = len(analysis.layers)
            rows.append({"layers": layers, "bytes": len(text), "library_s": statistics.median(lib),
                         "cli_json_s": statistics.median(cmd)})
    base, resnet, imp = [], [], []
    for _ in range(max(5, args.repeats)):
        base.append(wall([sys.executable, "-c", "pass"]))
        resnet.append(wall([*cli, "params", "resnet50", "--format", "json"]))
        imp.append(wall([sys.executable, "-c", "import cnncalc.cli"]))
    start_up = {"python_s": statistics.median(base), "resnet50_json_s": statistics.median(resnet),
                "import_cli_s": statistics.median(imp)}

    print(f"\n{'layers':>8} {'load+analyse (s)':>17} {'per layer (µs)':>15} {'params --format json (s)':>25}")
    for r in rows:
        print(f"{r['layers']:>8,} {r['library_s']:>17.3f} {1e6 * r['library_s'] / r['layers']:>15.1f} "
              f"{r['cli_json_s']:>25.3f}")
    print(f"\ncnncalc params resnet50 --format json: {start_up['resnet50_json_s']:.3f} s wall (target ≤ 0.2 s); "
          f"python -c pass: {start_up['python_s']:.3f} s; python -c 'import cnncalc.cli': "
          f"{start_up['import_cli_s']:.3f} s (medians of {len(base)})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"analysis-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"networks": rows, "start_up": start_up, "repeats": args.repeats,
                               "load_average": os.getloadavg()[0]}, indent=2) + "\n", encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
