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
Runs are interleaved; the load average is printed before and after, since the machine is shared,
and every time is given twice: wall, and CPU (user + system: this process's for the library, the
child's for the command), which other jobs inflate far less than wall time. Each analysis is freed
before the next run.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
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


def timed_run(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of a fresh process: its user + system time, which other jobs on a shared
    machine cannot inflate the way they inflate its wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed_analysis(cnncalc, text: str, name: str) -> tuple[float, float, int]:
    """(wall, CPU) seconds of `cnncalc.loads(text).analyse()` in this process, and its layers."""
    start, cpu = time.perf_counter(), time.process_time()
    analysis = cnncalc.loads(text, name).analyse()
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return wall_s, cpu_s, len(analysis.layers)  # the analysis is freed on return, after the timing


def median_pair(runs: list[tuple[float, ...]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = ap.parse_args()
    compileall.compile_dir(str(ROOT / "cnncalc"), quiet=1)

    import cnncalc
    cli = [sys.executable, "-m", "cnncalc"]
    load_before = os.getloadavg()[0]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_before:.2f}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for passes in (500, 5000, 50000):
            text = network_text(passes)
            path = Path(tmp) / f"deep{passes}.yaml"
            path.write_text(text, encoding="utf-8")
            lib, cmd = [], []
            for _ in range(args.repeats):
                wall_s, cpu_s, layers = timed_analysis(cnncalc, text, path.name)
                lib.append((wall_s, cpu_s))
                cmd.append(timed_run([*cli, "params", str(path), "--format", "json"]))
            (lib_wall, lib_cpu), (cli_wall, cli_cpu) = median_pair(lib), median_pair(cmd)
            rows.append({"layers": layers, "bytes": len(text), "library_s": lib_wall, "library_cpu_s": lib_cpu,
                         "cli_json_s": cli_wall, "cli_json_cpu_s": cli_cpu})
    base, resnet, imp = [], [], []
    for _ in range(max(5, args.repeats)):
        base.append(timed_run([sys.executable, "-c", "pass"]))
        resnet.append(timed_run([*cli, "params", "resnet50", "--format", "json"]))
        imp.append(timed_run([sys.executable, "-c", "import cnncalc.cli"]))
    (python_s, python_cpu), (resnet_s, resnet_cpu), (import_s, import_cpu) = map(median_pair, (base, resnet, imp))
    start_up = {"python_s": python_s, "python_cpu_s": python_cpu, "resnet50_json_s": resnet_s,
                "resnet50_json_cpu_s": resnet_cpu, "import_cli_s": import_s, "import_cli_cpu_s": import_cpu}

    print(f"\n{'':>8} {'load + analyse':^30} {'params --format json':^22}")
    print(f"{'layers':>8} {'wall (s)':>9} {'CPU (s)':>9} {'µs/layer':>10} {'wall (s)':>10} {'CPU (s)':>10}")
    for r in rows:
        print(f"{r['layers']:>8,} {r['library_s']:>9.3f} {r['library_cpu_s']:>9.3f} "
              f"{1e6 * r['library_s'] / r['layers']:>10.1f} {r['cli_json_s']:>10.3f} {r['cli_json_cpu_s']:>10.3f}")
    print(f"\ntarget: 100,000 layers in under 5 s (medians of {args.repeats}; CPU = user + system)")
    print(f"cnncalc params resnet50 --format json: {resnet_s:.3f} s wall, {resnet_cpu:.3f} s CPU (target ≤ 0.2 s "
          f"wall); python -c pass: {python_s:.3f} s; python -c 'import cnncalc.cli': {import_s:.3f} s "
          f"(medians of {len(base)})")
    load_after = os.getloadavg()[0]
    print(f"load average after: {load_after:.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"analysis-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"networks": rows, "start_up": start_up, "repeats": args.repeats,
                               "load_average": [load_before, load_after]}, indent=2) + "\n", encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
