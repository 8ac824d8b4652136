"""`cnncalc forward`'s view: per layer the actual shape, weights and time, ✓/✗ against the engine,
then the output feature map when it is small enough to read. Formats only; computes nothing."""
from __future__ import annotations

import csv
import io
import json

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .columns import shape_text

# Print the output values when there are at most this many (homework-sized maps).
MAX_PRINTED_VALUES = 400


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:.6g}"


def _values(output) -> list | None:
    if output.size > MAX_PRINTED_VALUES:
        return None
    return output.tolist()


def _json_values(output) -> list:
    """The values with inf and NaN as null: JSON has no such numbers (the notes count them)."""
    import numpy as np

    values = output.astype(object)
    values[~np.isfinite(output)] = None
    return values.tolist()


def _map_lines(output) -> list[str]:
    """The output of sample 0: each (H, W) map as aligned rows, or the vector on one line."""
    sample = output[0]
    lines: list[str] = []
    if sample.ndim == 1:
        return ["[" + ", ".join(_number(v) for v in sample) + "]"]
    for c, fmap in enumerate(sample):
        cells = [[_number(v) for v in row] for row in fmap]
        width = max(len(s) for row in cells for s in row)
        if sample.shape[0] > 1:
            lines.append(f"map {c}:")
        lines += ["[" + ", ".join(s.rjust(width) for s in row) + "]" for row in cells]
    return lines


def _row(r) -> dict:
    return {
        "name": r.name, "type": r.type, "output": list(r.shape), "expected_output": list(r.expected_shape),
        "params": r.params, "expected_params": r.expected_params, "ms": round(r.seconds * 1000, 3), "ok": r.ok,
        "ran_inside": r.ran_inside,
    }


def _ms(r) -> str:
    return "fused" if r.ran_inside else f"{r.seconds * 1000:.2f}"


def _fused_note(result) -> list[str]:
    fused = sum(bool(r.ran_inside) for r in result.records)
    if not fused:
        return []
    return [f"{fused} layer{'s' if fused != 1 else ''} (batch norm, activation) ran inside the conv or add before "
            "them (fused): their time is in that row; --no-fuse runs every layer on its own"]


def render_forward(result, fmt: str, notes: list[str] = ()) -> object:
    notes = list(result.notes) + list(notes) + _fused_note(result)
    values = _values(result.output)
    if fmt == "json":
        doc = {
            "name": result.name, "batch": result.batch, "dtype": result.dtype, "ok": result.ok,
            "seconds": round(result.seconds, 6), "peak_bytes_estimate": result.peak_bytes,
            "output_shape": list(result.output.shape), "layers": [_row(r) for r in result.records],
            "notes": notes,
        }
        if values is not None:
            doc["output"] = _json_values(result.output)
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        keys = ["name", "type", "output", "expected_output", "params", "expected_params", "ms", "ok", "ran_inside"]
        writer.writerow(keys)
        for r in result.records:
            row = _row(r)
            row["output"], row["expected_output"] = shape_text(r.shape), shape_text(r.expected_shape)
            writer.writerow([row[k] for k in keys])
        return out.getvalue()
    if fmt == "markdown":
        lines = [f"**{result.name}** — forward pass, batch {result.batch}, {result.dtype}", "",
                 "| Layer | Type | Output | Params | ms | Check |", "|---|---|---|---:|---:|:---:|"]
        for r in result.records:
            lines.append(f"| {r.name} | {r.type} | {shape_text(r.shape)} | {r.params:,} | "
                         f"{_ms(r)} | {_mark(r.ok)} |")
        lines.append("")
        lines.append(_verdict(result))
        if values is not None:
            lines += ["", "Output (sample 0):", "", "```", *_map_lines(result.output), "```"]
        lines += [f"\nnote: {n}" for n in notes]
        return "\n".join(lines) + "\n"
    table = Table(title=f"{result.name}  forward pass, batch {result.batch}, {result.dtype}", title_justify="left",
                  box=None, header_style="bold")
    for header, justify in (("Layer", "left"), ("Type", "left"), ("Output", "left"), ("Params", "right"),
                            ("ms", "right"), ("", "center")):
        table.add_column(header, justify=justify)
    for r in result.records:
        shape = shape_text(r.shape) if r.shape == r.expected_shape else \
            f"{shape_text(r.shape)} (engine: {shape_text(r.expected_shape)})"
        params = f"{r.params:,}" if r.params == r.expected_params else f"{r.params:,} (engine: {r.expected_params:,})"
        table.add_row(r.name, r.type, shape, params, _ms(r),
                      Text(_mark(r.ok), style="green" if r.ok else "bold red"))
    parts: list = [table, Text(_verdict(result), style="green" if result.ok else "bold red")]
    if values is not None:
        parts.append(Text("Output (sample 0):\n" + "\n".join(_map_lines(result.output))))
    for n in notes:
        parts.append(Text(f"note: {n}", style="yellow"))
    return Group(*parts)


def _verdict(result) -> str:
    bad = sum(not r.ok for r in result.records)
    n = len(result.records)
    total = (f"{n} layer{'s' if n != 1 else ''} in {result.seconds * 1000:.1f} ms, "
             f"output {shape_text(result.output.shape)}")
    if bad:
        return f"✗ {bad} layer(s) disagree with the analysis engine; {total}"
    return f"✓ every shape and weight count equals the analysis engine's; {total}"
