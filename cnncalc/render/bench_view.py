"""`cnncalc bench` views: rich table, JSON (the exact schema of issue 4) and Markdown.
Formats the runner's records; computes nothing."""
from __future__ import annotations

import json

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

HEADERS = ("case", "impl", "median", "GFLOP/s", "%peak", "×naive", "×textbook", "÷torch", "col buffer")


def _num(v: float | None, fmt: str, suffix: str = "") -> str:
    return "—" if v is None else f"{v:{fmt}}{suffix}"


def _time(s: float) -> str:
    if s >= 1:
        return f"{s:,.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def _bytes(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _rows(report) -> list[tuple[str, ...]]:
    rows, last = [], None
    for r in report.results:
        first = r.case != last
        last = r.case
        rows.append((
            r.case if first else "",
            r.impl,
            _time(r.median_s) + ("*" if r.extrapolated else ""),
            _num(r.gflops, ".3g" if r.gflops < 1 else ",.1f"),
            _num(r.pct_of_peak, ".0f" if r.pct_of_peak is None or r.pct_of_peak >= 1 else ".2g", "%"),
            _num(r.speedup_vs_naive, ",.0f"),
            _num(r.speedup_vs_textbook, ".2f"),
            _num(r.ratio_to_torch, ".2f"),
            _bytes(r.column_bytes),
        ))
    return rows


def _machine_lines(report) -> list[str]:
    m = report.machine
    return [f"CPU {m.cpu}, {m.cores} cores · NumPy {m.numpy} · BLAS {m.blas}, kernel {m.blas_kernel}"]


def _case_lines(report) -> list[str]:
    return [f"{c.name}: {c.layer} {c.describe()}, {c.dtype}" for c in report.cases]


def _peak_lines(report) -> list[str]:
    return [f"GEMM {p.case}: {p.m}×{p.k} · {p.k}×{p.n} {p.dtype} → {p.gflops:,.1f} GFLOP/s" for p in report.peaks]


def _legend(report) -> list[str]:
    return [
        f"median of {report.repeat} rounds, each timing every impl once, right after an untimed call of its own, "
        "NumPy's and torch's taking turns to go first, a pause before each impl (spinning threads); "
        "* = extrapolated per MAC from a partial run",
        "% peak: of numpy.matmul on the layer's own im2col product (M, N, K), measured in this run; "
        "× naive / × textbook: speed-up over those; ÷ torch: median over the rounds of this time / torch's in "
        "the same round (< 1 is faster)",
        "col buffer: memory the call needs beyond its output: what it allocates (tracemalloc), plus, for im2col, "
        "the scratch buffers its kernel keeps between calls",
        "pool GFLOP/s counts one operation per window element",
    ]


def _json(report) -> str:
    m = report.machine
    doc = {
        "machine": {"cpu": m.cpu, "cores": m.cores, "numpy": m.numpy, "blas": m.blas, "blas_kernel": m.blas_kernel},
        "results": [{
            "case": r.case, "layer": r.layer, "impl": r.impl, "median_s": r.median_s, "gflops": r.gflops,
            "pct_of_peak": r.pct_of_peak, "ratio_to_torch": r.ratio_to_torch, "extrapolated": r.extrapolated,
        } for r in report.results],
        "peaks": [{"case": p.case, "gflops": p.gflops} for p in report.peaks],
    }
    return json.dumps(doc, indent=2) + "\n"


def _markdown(report) -> str:
    lines = [f"- {line}" for line in _machine_lines(report) + list(report.machine.warnings)]
    lines.append("")
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|" + "|".join("---" if i < 2 else "--:" for i in range(len(HEADERS))) + "|")
    for row in _rows(report):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    lines.append("")
    lines += [f"- {line}" for line in _case_lines(report) + _peak_lines(report) + report.notes + _legend(report)]
    return "\n".join(lines) + "\n"


def _table(report):
    parts: list = [Text(line, style="bold") for line in _machine_lines(report)]
    parts += [Text(f"warning: {w}", style="bold yellow") for w in report.machine.warnings]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="left" if i < 2 else "right", no_wrap=True)
    last = None
    for row, r in zip(_rows(report), report.results):
        if last is not None and r.case != last:
            table.add_section()
        last = r.case
        table.add_row(*row, style="bold" if r.impl == "im2col" else None)
    parts.append(table)
    parts += [Text(line, style="dim") for line in _case_lines(report) + _peak_lines(report)]
    parts += [Text(f"note: {n}", style="dim") for n in report.notes]
    parts += [Text(line, style="dim") for line in _legend(report)]
    parts.append(Text(f"{report.wall_s:.1f} s in all", style="dim"))
    return Group(*parts)


def render_bench(report, fmt: str = "table"):
    if fmt == "json":
        return _json(report)
    if fmt == "markdown":
        return _markdown(report)
    return _table(report)
