"""How long `cnncalc draw` takes: each style on the big built-in networks and on generated networks
of 1,000 layers (one that nothing collapses, and a repeat that collapses to ×n).

    python benchmarks/draw.py [--repeats 5] [--out DIR] [NETWORK ...]

Per network: loading and analysing it (what every command pays), then building the drawing
(cnncalc.structure: nesting, folding, group totals, cost rows) and rendering each style, each a
median of --repeats runs after one warm-up, in one process. Prints a table, writes JSON to
benchmarks/results/draw-<time>.json. The whole `cnncalc draw` command is the analysis plus one
drawing plus one style (plus Python's start-up, about 0.2 s, not counted here).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import cnncalc
from cnncalc import zoo
from cnncalc.render.pictures import STYLES, render_picture
from cnncalc.structure import drawing_of

BIG = ("resnet50", "densenet121", "googlenet", "unet")


def generated(layers: int, collapsing: bool) -> str:
    """`layers` layers: conv + ReLU pairs of changing width (nothing to collapse), or one repeat."""
    head = ["name: generated-" + ("repeat" if collapsing else "plain"), "input: [3, 32, 32]", "layers:"]
    if collapsing:
        return "\n".join(head + [f"  - repeat: {{name: stage, times: {layers // 2}, layers: "
                                 "[{conv: {filters: 8, kernel: 3, padding: 1}}, relu]}"]) + "\n"
    body = [line for i in range(layers // 2)
            for line in (f"  - conv: {{filters: {8 + i % 7}, kernel: 3, padding: 1}}", "  - relu")]
    return "\n".join(head + body) + "\n"


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(label: str, load, repeats: int) -> dict:
    net = load()
    analysis = net.analyse()
    row = {"network": label, "layers": len(analysis.layers),
           "analyse_s": median_time(lambda: load().analyse(), repeats)}
    for expand in (False, True):
        drawing = drawing_of(net.graph, analysis, expand)
        key = "expand" if expand else "default"
        row[f"drawing_{key}_s"] = median_time(lambda: drawing_of(net.graph, analysis, expand), repeats)
        for style in STYLES:
            row[f"{style}_{key}_s"] = median_time(lambda: render_picture(drawing, style), repeats)
            row[f"{style}_{key}_bytes"] = len(render_picture(drawing, style).encode("utf-8"))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("networks", nargs="*", help="built-in names (default: the big ones that exist)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = ap.parse_args()
    rows = [measure(n, lambda n=n: cnncalc.load(n), args.repeats)
            for n in (args.networks or [n for n in BIG if n in zoo.names()])]
    with tempfile.TemporaryDirectory() as tmp:
        for collapsing in (False, True):
            path = Path(tmp) / f"gen-{collapsing}.yaml"
            path.write_text(generated(1000, collapsing), encoding="utf-8")
            label = "1,000 layers, " + ("one repeat" if collapsing else "nothing collapses")
            rows.append(measure(label, lambda p=path: cnncalc.load(p), args.repeats))
    header = f"{'network':<32} {'layers':>6} {'analyse':>8} {'drawing':>8} " + " ".join(f"{s:>7}" for s in STYLES)
    print(f"medians of {args.repeats} runs, seconds; default (collapsed, folded) / --expand")
    print(header)
    for r in rows:
        for key in ("default", "expand"):
            name = r["network"] if key == "default" else "  --expand"
            times = " ".join(f"{r[f'{s}_{key}_s']:7.3f}" for s in STYLES)
            print(f"{name:<32} {r['layers']:>6} {r['analyse_s']:8.3f} {r[f'drawing_{key}_s']:8.3f} {times}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"load average before the last run: {load}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"draw-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"repeats": args.repeats, "load_average": load, "rows": rows}, indent=2) + "\n",
                    encoding="utf-8")
    print(f"written {path}")


if __name__ == "__main__":
    main()
