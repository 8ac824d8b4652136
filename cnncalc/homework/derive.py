"""Worked derivations per layer and quantity, as text with the numbers substituted.

The count formulas are the engine's own (`LayerRecord.derivations`, rendered from the expression
tree that produced the value). The receptive field is written as the textbook top-down
recursion, nested into one expression: `RF_L = k_L`, then `RF_i = (RF_{i+1} − 1)·s_i + k_i`.
Every formula here evaluates, with `cnncalc.arith.evaluate`, to the value it explains.
"""
from __future__ import annotations

from ..formula import Expr, Num, product
from ..i18n import _
from ..receptive_field import axis_chain_as_steps, top_down, unit_walk
from ..records import COUNT_FIELDS, Analysis, LayerRecord


def dims_text(dims) -> str:
    return "×".join(str(d) for d in dims)


def rf_exprs(record: LayerRecord) -> tuple[Expr, Expr] | None:
    """The top-down RF as one nested expression per axis (each axis along its own path); None when
    the field is global, not aligned or not defined (no single recursion gives it)."""
    rf = record.rf
    if rf.is_global or not rf.aligned or rf.undefined or any(rf.global_axes) or not rf.textbook:
        return None
    out = []
    for chain in rf.chains:
        if not chain:
            out.append(Num(1))
            continue
        r: Expr = Num(chain[-1].kernel)
        for step in reversed(chain[:-1]):
            r = (r - 1) * step.stride + step.kernel
        out.append(r)
    return out[0], out[1]


def rf_wrong_end(record: LayerRecord) -> tuple[int, int] | None:
    """The classic slip: the top-down recursion walked from the input upwards,
    RF = k_1, then RF = (RF − 1)·s_l + k_l for l = 2…L (each layer's own stride instead of the earlier ones)."""
    chain = record.rf.chain
    if record.rf.is_global or len(chain) < 2 or not record.rf.textbook:
        return None
    out = []
    for a in (0, 1):
        r = chain[0].kernel[a]
        for step in chain[1:]:
            r = (r - 1) * step.stride[a] + step.kernel[a]
        out.append(r)
    return out[0], out[1]


def rf_stride_ignored(record: LayerRecord) -> tuple[int, int] | None:
    """RF = 1 + Σ (k − 1): every stride taken as 1."""
    chain = record.rf.chain
    if record.rf.is_global or not chain or not record.rf.textbook:
        return None
    return tuple(1 + sum(s.kernel[a] - 1 for s in chain) for a in (0, 1))  # type: ignore[return-value]


def _axes_text(exprs: tuple[Expr, Expr], with_value: bool) -> str:
    h, w = exprs
    def one(e: Expr) -> str:
        value = e.int_value()
        return f"{e.text()} = {value:,}" if with_value and e.text() != str(value) else e.text()
    if h.text() == w.text():
        return one(h)
    return f"H: {one(h)}; W: {one(w)}"


def formula(record: LayerRecord, quantity: str) -> str:
    """The formula alone (it evaluates to the value; `H: …; W: …` when the axes differ)."""
    return _formula(record, quantity, with_value=False)


def worked(record: LayerRecord, quantity: str) -> str:
    """`formula = value`, as a worked solution writes it."""
    return _formula(record, quantity, with_value=True)


def _formula(record: LayerRecord, quantity: str, with_value: bool) -> str:
    if quantity in COUNT_FIELDS:
        text = record.derivations.get(quantity, "0")
        value = getattr(record, quantity)
        if with_value and text != str(value):
            return f"{text} = {value:,}"
        return text
    if quantity == "output":
        if record.axes:
            axes = list(record.axes)
            if len(axes) == 2 and axes[0].expr.text() == axes[1].expr.text():
                parts = ["H, W: " + axes[0].expr.text() + (f" = {axes[0].size}" if with_value else "")]
            else:
                parts = [f"{a.axis}: {a.expr.text()}" + (f" = {a.size}" if with_value else "") for a in axes]
            if len(record.output) == 3:
                parts.insert(0, "C = " + str(record.output[0]))
            return "; ".join(parts)
        if record.type == "flatten":
            text = product(record.input).text()
            return f"{text} = {record.output[0]:,}" if with_value else text
        if tuple(record.input) == tuple(record.output):
            return _("same as the input: {shape}").format(shape=dims_text(record.output))
        return dims_text(record.output)
    if quantity == "rf":
        exprs = rf_exprs(record)
        if exprs is None and not with_value and _walks_a_unit(record):
            # The exact walk's last step: the field spans input pixels first … last.
            ends = _unit_walks(record)
            return _axes_text((ends[0][-1].expr(), ends[1][-1].expr()), False)
        if exprs is None:
            return _rf_without_recursion(record)
        if with_value:
            return rf_steps(record)
        return _axes_text(exprs, with_value)
    raise KeyError(quantity)


def _rf_without_recursion(record: LayerRecord) -> str:
    rf = record.rf
    if rf.undefined:
        return _("not defined: {reason}").format(reason=rf.undefined)
    if rf.is_global:
        return _("global: the whole input, {size}").format(size=dims_text(rf.size))
    if not rf.aligned:
        return _("not aligned: the paths' fields differ from unit to unit; the largest is {size}").format(
            size=dims_text(rf.size))
    if _walks_a_unit(record):
        return _unit_walk_text(record)
    return _("H, W: {size} (global on one axis: that axis is the whole input)").format(size=dims_text(rf.size))


def rf_steps(record: LayerRecord) -> str:
    """The textbook walk, one step per layer: `5 (C3) → (5 − 1)·2 + 2 = 10 (S2) → … = 14 (C1)`;
    one walk per axis (`H: … ; W: …`) when the axes' fields come through different layers."""
    rf = record.rf
    if rf.chain or not any(rf.chains):
        return _walk_text(rf.chain)
    return " ; ".join(f"{axis}: {_walk_text(axis_chain_as_steps(c))}" for axis, c in zip("HW", rf.chains))


def _walk_text(chain) -> str:
    parts = []
    for step in top_down(chain):
        h, w = step.expr
        value = step.size
        text = h.text() if h.text() == w.text() else f"{h.text()} ; {w.text()}"
        size = str(value[0]) if value[0] == value[1] else dims_text(value)
        parts.append(f"{text} = {size} ({step.layer})" if text != size else f"{size} ({step.layer})")
    return " → ".join(parts) if parts else "1"


def _walks_a_unit(record: LayerRecord) -> bool:
    rf = record.rf
    return (not rf.textbook and rf.aligned and not rf.undefined and not any(rf.global_axes)
            and all(rf.chains))


def _unit_walks(record: LayerRecord):
    rf = record.rf
    units = [u if u is not None else 0 for u in rf.unit]
    return [unit_walk(chain, u) for chain, u in zip(rf.chains, units)]


def _unit_walk_text(record: LayerRecord) -> str:
    """Through upsampling or a transposed convolution: the exact walk of the unit with the largest
    field, `RF = last − first + 1` of the units reaching it at each earlier layer, per axis where the
    axes differ: `unit 0: 1 (up) → 2 + 1 + 1 = 4 (conv1)`."""
    units = [u if u is not None else 0 for u in record.rf.unit]
    walks = _unit_walks(record)

    def text(steps) -> str:
        parts = []
        for st in steps:
            e = st.expr()
            parts.append(f"{e.text()} = {st.size} ({st.layer})" if e.text() != str(st.size) else
                         f"{st.size} ({st.layer})")
        return " → ".join(parts) if parts else "1"

    if walks[0] == walks[1] and units[0] == units[1]:
        return _("unit {unit}: {walk}").format(unit=units[0], walk=text(walks[0]))
    return " ; ".join(_("{axis} unit {unit}: {walk}").format(axis=a, unit=u, walk=text(w))
                      for a, u, w in zip("HW", units, walks))


def total_formula(analysis: Analysis, quantity: str) -> str:
    terms = [str(getattr(r, quantity)) for r in analysis.layers if getattr(r, quantity)]
    return " + ".join(terms) if terms else "0"


def explain(record: LayerRecord) -> dict[str, str]:
    """field → "formula = value" for every quantity of one layer (the --explain view)."""
    out = {"output": worked(record, "output")}
    for q in COUNT_FIELDS:
        out[q] = worked(record, q)
    out["rf"] = worked(record, "rf")
    return out
