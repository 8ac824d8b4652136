"""The analysis engine: walks the graph once, carrying shape and receptive field, and returns one
record per layer with every count of DESIGN.md as an exact integer and its derivation."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import CnnError
from .formula import ZERO, Expr
from .graph import ConcatNode, Graph, LayerNode, Node
from .layers import GLOBAL, Layer, Window
from .layers.base import Output
from .receptive_field import RF, merge, top_down
from .records import Analysis, LayerRecord, RFRecord, TopDown, Totals
from .shapes import AxisResult, Shape


@dataclass
class _State:
    shape: Shape
    rf: RF


def _axis_text(a: AxisResult) -> str:
    return f"{a.axis}: {a.expr.text()}"


class _Walker:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.records: list[LayerRecord] = []
        self.warnings: list[str] = []

    def run(self) -> _State:
        state = _State(self.graph.input_shape, RF.of_input())
        return self.sequence(self.graph.nodes, state)

    def sequence(self, nodes: list[Node], state: _State) -> _State:
        for node in nodes:
            state = self.node(node, state)
        return state

    def node(self, node: Node, state: _State) -> _State:
        if isinstance(node, LayerNode):
            return self.layer(node.layer, state)
        if isinstance(node, ConcatNode):
            ends = [self.sequence(branch, state) for branch in node.branches]
            return self.merge(node.merge, ends)
        body = self.sequence(node.body, state)
        short = self.sequence(node.shortcut_nodes(state.shape, body.shape), state)
        return self.merge(node.merge, [body, short])

    def layer(self, layer: Layer, state: _State) -> _State:
        try:
            out = layer.output(state.shape)
            counts = layer.counts(state.shape, out)
            window = layer.window(state.shape, out)
            layer.check_inline_weights(state.shape)
        except CnnError as exc:
            raise exc.at(layer.where, layer.name) from None
        rf = self._move_rf(layer, state.rf, window)
        derivations = {
            "params": counts.params.text(),
            "non_trainable": counts.non_trainable.text(),
            "connections": counts.connections.text(),
            "macs": counts.macs.text(),
        }
        if out.axes:
            derivations["output"] = "; ".join(_axis_text(a) for a in out.axes)
        self._record(layer, state.shape, out, rf, derivations, counts.params, counts.non_trainable,
                     counts.connections, counts.macs)
        return _State(out.shape, rf)

    def _move_rf(self, layer: Layer, rf: RF, window: Window | str | None) -> RF:
        if window is None:
            return rf
        if window == GLOBAL:
            return rf.whole_input(self.graph.input_shape[1:])
        return rf.through(layer.name, window.kernel, window.stride, window.pad_lo)

    def merge(self, layer: Layer, ends: list[_State]) -> _State:
        try:
            shape = layer.merge([e.shape for e in ends])
        except CnnError as exc:
            raise exc.at(layer.where, layer.name) from None
        rf = merge([e.rf for e in ends])
        notes: tuple[str, ...] = ()
        if not rf.aligned and all(e.rf.aligned for e in ends):
            note = ("receptive fields of the merged paths are not aligned (different jump or centre): "
                    "the field's size varies between output positions; the largest is reported")
            notes = (note,)
            self.warnings.append(f"{layer.name}: {note}")
        # Concat and add have no weights and, per DESIGN.md, add no connections.
        self._record(layer, ends[0].shape, Output(shape, (), notes), rf, {}, ZERO, ZERO, ZERO, ZERO)
        return _State(shape, rf)

    def _record(self, layer: Layer, in_shape: Shape, out: Output, rf: RF, derivations: dict[str, str],
                params: Expr, non_trainable: Expr, connections: Expr, macs: Expr) -> None:
        for note in out.notes:
            self.warnings.append(f"{layer.name}: {note}")
        self.records.append(LayerRecord(
            name=layer.name,
            type=layer.kind,
            input=tuple(in_shape),
            output=tuple(out.shape),
            params=params.int_value(),
            non_trainable=non_trainable.int_value(),
            connections=connections.int_value(),
            macs=macs.int_value(),
            rf=RFRecord(rf.size, rf.jump, rf.start, rf.pad, rf.is_global, rf.aligned, rf.chain),
            derivations=derivations,
            notes=out.notes,
            depth=layer.name.count("."),
            where=str(layer.where) if layer.where else "",
            axes=tuple(out.axes),
            options={k: getattr(layer, k, None) for k in type(layer).options},
        ))


def analyse(graph: Graph, batch: int = 1, dtype_bytes: int = 4) -> Analysis:
    """Shapes, counts and receptive fields of every layer; raises CnnError on an impossible network."""
    if batch < 1:
        raise CnnError(f"batch must be ≥ 1, got {batch}")
    walker = _Walker(graph)
    walker.run()
    records = tuple(walker.records)
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
        input_bytes=math.prod(graph.input_shape) * dtype_bytes * batch,
    )
    return Analysis(graph.name, graph.description, tuple(graph.input_shape), batch, dtype_bytes, records, totals,
                    tuple(walker.warnings), graph.source)


def receptive_field_of(analysis: Analysis, layer: str) -> TopDown:
    """The textbook top-down derivation for one layer (DESIGN.md's worked example prints 30)."""
    record = analysis.layer(layer)
    steps = tuple(top_down(record.rf.chain))
    return TopDown(layer, steps, record.rf.size, record.rf.is_global)
