"""The analysis engine: walks the graph once, carrying shape and receptive field, and returns one
record per layer with every count of docs/design.md as an exact integer and its derivation.

After the walk, one backward pass over what the walk saw marks which rows and columns of every
tensor some path to the network's output reads; a note that a layer never reads some input rows
is kept only when no other path reads them either.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import NamedTuple

from . import cycle_gc
from .errors import CnnError, Where
from .formula import ZERO, Expr
from .graph import Graph, walk
from .i18n import Msg, msg
from .layers import GLOBAL, Layer, Window
from .layers.base import Output, Resample, Varying
from .receptive_field import (NO_CHAIN, RF, AxisField, TopDownStep, axis_chain_as_steps, combined_chain, top_down,
                              unit_walk)
from .records import Analysis, Derivations, LayerRecord, RFRecord, TopDown, Totals
from .shapes import AxisResult, Shape, axis_notes


class _State(NamedTuple):
    """What flows along the graph's edges (a NamedTuple: made once a layer, four times cheaper than
    a frozen dataclass)."""

    shape: Shape
    rf: RF
    tensor: int  # index into the walker's tensors, for the backward coverage pass


@dataclass(slots=True)
class _Op:
    """What the backward coverage pass needs of one layer or merge."""

    record: int  # index of its record
    inputs: list[int]
    output: int
    axes: tuple[AxisResult, ...] = ()  # per-axis window geometry; empty: every input position feeds every output
    elementwise: bool = False  # output position p reads input position p only
    dilation: tuple[int, int] = (1, 1)
    # Some window of the layer skips input positions (a stride past the kernel, a remainder).
    unread: bool = field(init=False)

    def __post_init__(self) -> None:
        self.unread = any(a.unread for a in self.axes)


class _Walker:
    """The engine's visitor for graph.walk: a layer's state in, its record out."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.records: list[LayerRecord] = []
        self.shapes: list[Shape] = [graph.input_shape]  # tensor id → shape
        self.ops: list[_Op] = []
        # The last receptive field recorded, its output units and its record: an elementwise layer
        # passes its input's RF object on unchanged, so a run of them shares one RFRecord.
        self._last_rf: tuple[RF, tuple[int, ...], RFRecord] | None = None
        # "file:line:col" per definition: every pass of a repeat shares its layers' Where objects.
        self._where_text: dict[Where, str] = {}

    def start(self) -> _State:
        return _State(self.graph.input_shape, RF.of_input(), 0)

    def shape(self, state: _State) -> Shape:
        return state.shape

    def _tensor(self, shape: Shape) -> int:
        self.shapes.append(shape)
        return len(self.shapes) - 1

    def layer(self, layer: Layer, state: _State, source: _State) -> _State:
        try:
            out = layer.output(state.shape)
            counts = layer.counts(state.shape, out)
            window = layer.window(state.shape, out)
            layer.check_inline_weights(state.shape)
        except CnnError as exc:
            raise exc.at(layer.where, layer.name) from None
        rf = self._move_rf(layer, state, out, window)
        derivations = Derivations((counts.params, counts.non_trainable, counts.connections, counts.macs),
                                  tuple(out.axes))
        tensor = self._tensor(out.shape)
        self.ops.append(_Op(len(self.records), [state.tensor], tensor,
                            axes=tuple(out.axes) if isinstance(window, Window) else (),
                            elementwise=window is None,
                            dilation=window.dilation if isinstance(window, Window) else (1, 1)))
        self._record(layer, state.shape, out, rf, derivations, counts.params, counts.non_trainable,
                     counts.connections, counts.macs)
        return _State(out.shape, rf, tensor)

    def _move_rf(self, layer: Layer, state: _State, out: Output,
                 window: Window | Resample | Varying | str | None) -> RF:
        rf = state.rf
        image = self.graph.input_shape[1:]
        if window is None:
            return rf
        if window == GLOBAL:
            return rf.whole_input(image)
        if isinstance(window, Varying):
            return rf.undefined(window.reason)
        if isinstance(window, Resample):
            return rf.resample(layer.name, window.maps)
        moved = rf.through(layer.name, window.kernel, window.stride, window.pad_lo, window.dilation)
        # One output position whose window reads every input position: the layer sees its whole
        # input on that axis, however far the unclipped field reaches into the padding.
        if len(out.shape) != 3 or 1 not in out.shape[1:]:
            return moved  # more than one output position on each axis (the usual case)
        whole = tuple(
            len(state.shape) == 3 and len(out.shape) == 3 and out.shape[1 + i] == 1 and window.dilation[i] == 1
            and window.kernel[i] - window.pad_lo[i] >= state.shape[1 + i]
            for i in (0, 1)
        )
        return moved.whole_input(image, whole) if any(whole) else moved

    def merge(self, layer: Layer, ends: list[_State], source: _State) -> _State:
        try:
            shape = layer.merge([e.shape for e in ends])
        except CnnError as exc:
            raise exc.at(layer.where, layer.name) from None
        rf = RF.merge([e.rf for e in ends])
        tensor = self._tensor(shape)
        self.ops.append(_Op(len(self.records), [e.tensor for e in ends], tensor, elementwise=True))
        # Concat, add and a gate's product have no weights and, per docs/design.md, add no connections.
        self._record(layer, ends[0].shape, Output(shape, notes=_gate_note(layer, ends[0], rf)), rf, Derivations(),
                     ZERO, ZERO, ZERO, ZERO)
        return _State(shape, rf, tensor)

    def _record(self, layer: Layer, in_shape: Shape, out: Output, rf: RF, derivations: Derivations,
                params: Expr, non_trainable: Expr, connections: Expr, macs: Expr) -> None:
        self.records.append(LayerRecord(
            name=layer.name,
            type=layer.kind,
            input=tuple(in_shape),
            output=tuple(out.shape),
            params=params.int_value(),
            non_trainable=non_trainable.int_value(),
            connections=connections.int_value(),
            macs=macs.int_value(),
            rf=self._rf_record(rf, out.shape),
            derivations=derivations,
            notes=out.notes,
            where=self._where(layer.where),
            axes=tuple(out.axes),
            options={k: getattr(layer, k, None) for k in type(layer).options},
        ))

    def _where(self, where: Where | None) -> str:
        if not where:
            return ""
        text = self._where_text.get(where)
        if text is None:
            text = self._where_text[where] = str(where)
        return text

    def _rf_record(self, rf: RF, out_shape: Shape) -> RFRecord:
        units = _units(out_shape)
        last = self._last_rf
        if last is None or last[0] is not rf or last[1] != units:
            last = self._last_rf = (rf, units, rf_record(rf, out_shape))
        return last[2]

    # -- the backward coverage pass ----------------------------------------------------------
    def coverage_notes(self) -> None:
        """Add each layer's "input rows never read" notes that hold for the whole network."""
        live = [_dead(shape) for shape in self.shapes]
        live[-1] = _alive(self.shapes[-1])
        for op in reversed(self.ops):
            out_live = live[op.output]
            if not op.unread and all(axis is True for axis in out_live):
                # The usual case, said without lists: every output position live and every input
                # position read by some window, so every input position is live.
                for t in op.inputs:
                    live[t] = _alive(self.shapes[t])
                continue
            for t in op.inputs:
                live[t] = tuple(_or(a, b) for a, b in zip(live[t], self._read(op, out_live, self.shapes[t])))
        for op in self.ops:
            if not op.unread:  # every input position read: nothing to say
                continue
            in_live = live[op.inputs[0]]
            # A note stays only when no other path reads the positions this layer leaves unread.
            dead = tuple(
                replace(a, notes=a.coverage) if a.unread and not any(_at(in_live[i], p) for p in a.unread)
                else replace(a, notes=())
                for i, a in enumerate(op.axes))
            notes = axis_notes(dead)
            if notes:
                r = self.records[op.record]
                self.records[op.record] = replace(r, notes=r.notes + notes)

    @staticmethod
    def _read(op: _Op, out_live: tuple[Live, ...], in_shape: Shape) -> tuple[Live, ...]:
        """Which positions of an input some live output position reads, per axis."""
        any_live = all(_any(axis) for axis in out_live)
        if len(in_shape) != 3:
            return (any_live,)
        if op.axes:
            return tuple(_window_read(a, op.dilation[i], out_live[i], in_shape[1 + i]) for i, a in enumerate(op.axes))
        if op.elementwise and len(out_live) == 2:
            # A broadcast input (a gate's C×1×1) is read by every live output position.
            return tuple(live if in_shape[1 + i] != 1 else _any(live) for i, live in enumerate(out_live))
        return (any_live, any_live)


def _gate_note(layer: Layer, gated: _State, rf: RF) -> tuple[Msg, ...]:
    """Where a gate that pools its whole input makes a local field global, say so: every unit of the
    product depends on every input pixel (through the gate), which the field reports from here on."""
    if layer.kind != "multiply" or not any(f.is_global and not g.is_global for f, g in zip(rf.axes, gated.rf.axes)):
        return ()
    local = rf_record(gated.rf, gated.shape).size
    return (msg("the gate sees its whole input, so every unit from here on depends on the whole network input: the "
                "field is global, not the {size} of the gated input alone",
                size="×".join("—" if v is None else str(v) for v in local)),)


# Which positions of one axis of a tensor some path to the network's output reads: True (all),
# False (none), or one bool per position. The uniform cases cost O(1) whatever the axis's size
# (per-position lists of `adaptiveavgpool: 100000000` took 3 GB); lists appear only downstream
# of a layer that leaves positions unread.
Live = bool | list[bool]


def _dead(shape: Shape) -> tuple[Live, ...]:
    return (False, False) if len(shape) == 3 else (False,)


def _alive(shape: Shape) -> tuple[Live, ...]:
    return (True, True) if len(shape) == 3 else (True,)


def _any(a: Live) -> bool:
    return a if isinstance(a, bool) else any(a)


def _at(a: Live, p: int) -> bool:
    return a if isinstance(a, bool) else a[p]


def _or(a: Live, b: Live) -> Live:
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    return [x or y for x, y in zip(a, b)]


def _window_read(a: AxisResult, dilation: int, out_live: Live, size: int) -> Live:
    if isinstance(out_live, bool):
        if not out_live or not a.unread:  # a.unread: the positions no window of the layer reads
            return out_live
        read = [True] * size
        for p in a.unread:
            read[p] = False
        return read
    read = [False] * size
    for u, live in enumerate(out_live):
        if live:
            for t in range(0, a.k_eff, dilation):
                p = u * a.stride - a.pad_lo + t
                if 0 <= p < size:
                    read[p] = True
    return read


# -- records -------------------------------------------------------------------------------------
def rf_record(rf: RF, out_shape: Shape) -> RFRecord:
    """The receptive field as the renderers and JSON see it, per axis."""
    axes = rf.axes
    h, w = (_axis_values(f, n) for f, n in zip(axes, _units(out_shape)))
    aligned = tuple(f.aligned for f in axes)
    chains = tuple(f.paths[0].chain if ok and f.paths else NO_CHAIN for f, ok in zip(axes, aligned))
    return RFRecord(
        size=(h[0], w[0]), jump=(h[1], w[1]), start=(h[2], w[2]), pad=(h[3], w[3]),
        global_axes=(axes[0].is_global, axes[1].is_global), aligned_axes=aligned,
        unit=(h[4], w[4]), chain_links=chains, undefined=axes[0].undefined or axes[1].undefined, fields=axes,
        uniform_axes=(h[5], w[5]),
    )


def _units(out_shape: Shape) -> tuple[int, ...]:
    """Output units along H and W (1, 1 for a vector): all of a receptive field's record that depends on the shape."""
    return out_shape[1:] if len(out_shape) == 3 else (1, 1)


def _axis_values(f: AxisField, units: int):
    """(size, jump, start, effective padding, unit with the largest field, whether every unit's field
    has one size) along one axis. After upsampling a single path's field can differ from unit to
    unit (by phase): then the size is the largest over the units, with its unit; start and padding
    are unit 0's, and the jump is the exact mean step, a fraction."""
    if f.undefined:
        return None, None, None, None, None, True
    if f.is_global:
        return f.whole, f.whole, Fraction(f.whole - 1, 2), 0, None, True
    if f.aligned:
        p = f.paths[0]
        if p.period == 1:
            return p.size, p.jump, p.start, p.pad, None, True
        size, unit = p.sizes(units)
        same = p.uniform_over(units)
        return size, p.jump, p.start, p.pad, None if same else unit, same
    size, unit = f.largest(units)
    jumps = {p.jump for p in f.paths}
    return size, jumps.pop() if len(jumps) == 1 else None, None, None, unit, True


# -- entry points --------------------------------------------------------------------------------
def analyse(graph: Graph, batch: int = 1, dtype_bytes: int = 4) -> Analysis:
    """Shapes, counts and receptive fields of every layer; raises CnnError on an impossible network."""
    if batch < 1:
        raise CnnError(f"batch must be ≥ 1, got {batch}")
    with cycle_gc.paused():  # see cnncalc.cycle_gc: linear time on deep networks
        return _analyse(graph, batch, dtype_bytes)


def _analyse(graph: Graph, batch: int, dtype_bytes: int) -> Analysis:
    walker = _Walker(graph)
    walk(graph.nodes, walker.start(), walker)
    walker.coverage_notes()
    records = tuple(walker.records)
    warnings = tuple(graph.notes) + _layer_notes(records) + _rf_warnings(records)
    params = sum(r.params for r in records)
    non_trainable = sum(r.non_trainable for r in records)
    macs = sum(r.macs for r in records) * batch
    totals = Totals(
        params=params,
        non_trainable=non_trainable,
        connections=sum(r.connections for r in records),
        macs=macs,
        flops=2 * macs,
        param_bytes=(params + non_trainable) * dtype_bytes,
        activation_bytes=sum(math.prod(r.output) for r in records) * dtype_bytes * batch,
        batch=batch,
    )
    return Analysis(graph.name, graph.description, tuple(graph.input_shape), batch, dtype_bytes, records, totals,
                    warnings, graph.source)


# A note shared by many layers is said once, naming this many of them and counting the rest.
NAMED_LAYERS = 3


def _layer_notes(records: tuple[LayerRecord, ...]) -> tuple[Msg, ...]:
    """Each distinct layer note once, where it first appears, with the layers that have it:
    "maxpool1, maxpool2, maxpool3: H, W: ceil_mode adds …", or "a, b, c (and 5 more layers): …"."""
    layers: dict[Msg, list[str]] = {}  # keyed by the note's text; the first Msg is kept as the key
    for r in records:
        for note in r.notes:
            names = layers.setdefault(note, [])
            if not names or names[-1] != r.name:
                names.append(r.name)
    out = []
    for note, names in layers.items():
        shown = ", ".join(names[:NAMED_LAYERS])
        who = shown if len(names) <= NAMED_LAYERS else msg("{layers} (and {n} more layers)", layers=shown,
                                                            n=len(names) - NAMED_LAYERS)
        out.append(msg("{layer}: {note}", layer=who, note=note))
    return tuple(out)


def _rf_warnings(records: tuple[LayerRecord, ...]) -> tuple[str, ...]:
    """One warning where the receptive field first stops being aligned or defined (not per layer)."""
    out = []
    was_aligned, was_defined = True, True
    for r in records:
        if r.rf.undefined and was_defined:
            out.append(msg("{layer}: {reason}; no receptive field is reported from here on", layer=r.name,
                           reason=r.rf.undefined))
        elif not r.rf.aligned and not r.rf.undefined and was_aligned:
            out.append(msg("{layer}: the merged paths' receptive fields are not aligned (different jump or centre): "
                           "each unit's field is the union of the paths' fields; the largest over the output units "
                           "is reported, with its unit", layer=r.name))
        was_aligned, was_defined = r.rf.aligned, r.rf.undefined is None
    return tuple(out)


def receptive_field_of(analysis: Analysis, layer: str) -> TopDown:
    """The textbook top-down derivation for one layer (the worked example in docs/design.md prints 30)."""
    record = analysis.layer(layer)
    rf = record.rf
    where = analysis.source
    if rf.undefined:
        raise CnnError(f"{layer}: the receptive field is not defined here: {rf.undefined}")
    if rf.is_global:
        return TopDown(layer, (), rf.size, True)
    if not rf.aligned:
        axes = [f"{a} {s} at unit {u}" for a, s, u, ok in zip("HW", rf.size, rf.unit, rf.aligned_axes) if not ok]
        raise CnnError(
            f"{layer}: the receptive field is not aligned (its paths have different jumps or centres), so its size "
            f"varies from unit to unit and no single top-down walk gives it; the largest is {', '.join(axes)} "
            f"(see `cnncalc rf {where or 'FILE'}` for every layer)")
    if not rf.textbook:
        return _unit_walks(layer, rf)
    chain = combined_chain(*rf.chains)
    if chain is not None:
        return TopDown(layer, tuple(top_down(chain)), rf.size, False)
    # The axes took different paths (a 1×7 beside a 7×1): one walk per axis.
    per_axis = tuple(tuple(top_down(axis_chain_as_steps(c))) for c in rf.chains)
    return TopDown(layer, (), rf.size, False, per_axis)




def _unit_walks(layer: str, rf: RFRecord) -> TopDown:
    """Through upsampling or a transposed convolution: per axis, the exact walk of the unit with the
    largest field (unit 0 where every unit's field has one size), as one table when both axes pass
    through the same layers."""
    units = tuple(u if u is not None else 0 for u in rf.unit)
    walks = [unit_walk(chain, u) for chain, u in zip(rf.chains, units)]
    if [s.layer for s in walks[0]] == [s.layer for s in walks[1]]:
        steps = tuple(TopDownStep(h.layer, (h.expr(), w.expr()), (h.size, w.size)) for h, w in zip(*walks))
        return TopDown(layer, steps, rf.size, False, units=units)
    per_axis = tuple(tuple(TopDownStep(s.layer, (s.expr(), s.expr()), (s.size, s.size)) for s in walk_)
                     for walk_ in walks)
    return TopDown(layer, (), rf.size, False, per_axis, units=units)
