"""`cnncalc import`'s report: what became of the file's nodes, the shape cross-check, the notes."""
from __future__ import annotations

import textwrap


def _dims(shape) -> str:
    return "×".join("?" if d is None else str(d) for d in shape)


def _wrapped(lines: list[str], width: int) -> str:
    """Each line folded at spaces to the terminal, continuations indented two spaces."""
    out = []
    for line in lines:
        indent = "    " if line.startswith("  ") else "  "
        out.append(textwrap.fill(line, width, subsequent_indent=indent, break_long_words=False,
                                 break_on_hyphens=False))
    return "\n".join(out) + "\n"


def render_import(imported, analysis, mismatches, output: str | None, weights_out: str | None,
                  width: int = 10**6) -> str:
    c = imported.coverage
    ops = ", ".join(f"{op} {n}" for op, n in c.ops.most_common())
    lines = [f"imported {imported.source}: {c.nodes} nodes: {c.mapped} mapped to {len(analysis.layers)} layers, "
             f"{c.plumbing} plumbing passed through, {c.folded} constant or shape-arithmetic nodes folded",
             f"  operators left after folding: {ops}"]
    checked = len([r for r in analysis.layers if r.name in imported.expected])
    if mismatches:
        lines.append(f"✗ {len(mismatches)} of {checked} layer shapes differ from onnx.shape_inference's:")
        lines += [f"  ✗ {m.layer}: cnncalc {_dims(m.engine)}, ONNX {_dims(m.onnx)}" for m in mismatches]
    else:
        lines.append(f"✓ {checked} layer shapes agree with onnx.shape_inference")
    lines += [f"note: {n}" for n in imported.notes]
    if output:
        lines.append(f"wrote {output}")
    if weights_out:
        lines.append(f"wrote {weights_out} ({len(imported.weights)} arrays)")
    return _wrapped(lines, width)
