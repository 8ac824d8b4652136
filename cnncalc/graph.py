"""The network as a graph of layers: a sequence of nodes, where a node is a layer, parallel
branches joined by concat, a residual body joined to its shortcut by add, or the input multiplied
by a gate computed from it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol, TypeVar, Union

from .errors import CnnError
from .layers import Add, Concat, Layer, Multiply
from .layers.borders import Crop
from .layers.conv import Conv2d
from .layers.normalization import BatchNorm
from .shapes import Shape


@dataclass
class LayerNode:
    layer: Layer

    @property
    def path(self) -> str:
        return self.layer.name


@dataclass
class ConcatNode:
    merge: Concat
    branches: list[list["Node"]]
    # `crop: {to: B}` in a branch needs branch B's output size first: the branches are walked in
    # `order` (each referenced branch before the branches that crop to it), and `crops` lists, per
    # branch index, the crop layers to measure and the index of the branch each one names. The
    # concat still joins the branches in the order written.
    order: list[int] = field(default_factory=list)
    crops: dict[int, list[tuple["Crop", int]]] = field(default_factory=dict)

    def walk_order(self) -> list[int]:
        return self.order or list(range(len(self.branches)))


@dataclass
class ResidualNode:
    merge: Add
    body: list["Node"]
    shortcut: list["Node"]  # empty: identity
    projection_scope: str | None = None  # set when `shortcut: projection` is to be built from shapes
    _projection: list["Node"] | None = field(default=None, repr=False)

    def shortcut_nodes(self, in_shape: Shape, body_out: Shape) -> list["Node"]:
        """The shortcut path; a `projection` shortcut is made here, once shapes are known:
        a 1×1 conv without bias, stride chosen to match the body's output, then batch norm
        (torchvision's `downsample`, the ResNet paper's option B)."""
        if self.projection_scope is None:
            return self.shortcut
        if self._projection is None:
            self._projection = self._make_projection(in_shape, body_out)
        return self._projection

    def _make_projection(self, in_shape: Shape, body_out: Shape) -> list["Node"]:
        where = self.merge.where
        if len(in_shape) != 3 or len(body_out) != 3:
            raise CnnError("a projection shortcut needs feature maps on both sides", where, self.merge.name)
        strides = []
        for size_in, size_out in zip(in_shape[1:], body_out[1:]):
            s = -(-size_in // size_out)
            if (size_in - 1) // s + 1 != size_out:
                raise CnnError(
                    f"no 1×1 conv stride maps {size_in} to the body's {size_out}; write the shortcut layers out",
                    where, self.merge.name,
                )
            strides.append(s)
        prefix = self.projection_scope
        # Written as a user would write them, so the options' own defaults and parsers apply.
        conv = Conv2d.from_options(f"{prefix}.0", {"filters": body_out[0], "kernel": 1, "stride": strides,
                                                   "bias": False}, where)
        bn = BatchNorm.from_options(f"{prefix}.1", {}, where)
        return [LayerNode(conv), LayerNode(bn)]


@dataclass
class GateNode:
    """The input multiplied by what `gate` computes from it (squeeze-and-excitation: pool → 1×1
    convs → sigmoid gives a C×1×1 scale broadcast over H×W)."""

    merge: Multiply
    gate: list["Node"]


Node = Union[LayerNode, ConcatNode, ResidualNode, GateNode]
S = TypeVar("S")


@dataclass
class Graph:
    name: str
    description: str
    input_shape: Shape
    nodes: list[Node]
    source: str  # file name, "<stdin>" or "builtin:NAME"
    reference: str = ""
    input_data: list | None = None  # `input_data:` inline input for small examples, [C][H][W] nested lists
    notes: tuple[str, ...] = ()  # said with the analysis: what an importer found (batch norm folded)


class Visitor(Protocol[S]):
    """What a walk over the graph does at each layer and at each merge. `source` is the value the
    enclosing sequence started from: a branch or shortcut may read it again, so a visitor must not
    overwrite it (the forward pass uses this to decide when a layer may work in place)."""

    def layer(self, layer: Layer, x: S, source: S) -> S: ...

    def merge(self, layer: Layer, xs: list[S], source: S) -> S: ...

    def shape(self, x: S) -> Shape: ...


def walk(nodes: list[Node], x: S, visitor: Visitor[S]) -> S:
    """The one walk over the graph: the analysis (shapes and receptive fields), the NumPy forward
    pass and the tests' PyTorch oracle all run through here, so they cannot disagree on the order
    of layers, on what a branch reads, or on how a projection shortcut is built."""
    source = x
    for node in nodes:
        if isinstance(node, LayerNode):
            x = visitor.layer(node.layer, x, source)
        elif isinstance(node, ConcatNode):
            ends: list = [None] * len(node.branches)
            for i in node.walk_order():
                for crop, ref in node.crops.get(i, ()):
                    crop.target = tuple(visitor.shape(ends[ref]))
                ends[i] = walk(node.branches[i], x, visitor) if node.branches[i] else x
            x = visitor.merge(node.merge, ends, x)
        elif isinstance(node, GateNode):
            x = visitor.merge(node.merge, [x, walk(node.gate, x, visitor)], x)
        else:
            body = walk(node.body, x, visitor)
            shortcut = node.shortcut_nodes(visitor.shape(x), visitor.shape(body))
            x = visitor.merge(node.merge, [body, walk(shortcut, x, visitor)], x)
    return x


def iter_layers(nodes: list[Node]) -> Iterator[Layer]:
    """Every layer of the graph, in order. A projection shortcut is built from shapes, so its layers
    appear once an analysis or forward pass has built it."""
    for node in nodes:
        if isinstance(node, LayerNode):
            yield node.layer
        elif isinstance(node, ConcatNode):
            for i in node.walk_order():
                yield from iter_layers(node.branches[i])
            yield node.merge
        elif isinstance(node, GateNode):
            yield from iter_layers(node.gate)
            yield node.merge
        else:
            yield from iter_layers(node.body)
            yield from iter_layers(node.shortcut)
            yield from iter_layers(node._projection or [])
            yield node.merge


def sequences(nodes: list[Node]) -> Iterator[list[Node]]:
    """Every sequence of nodes in the graph (the top one, each branch, gate, body and shortcut), in
    which each node reads the output of the one before it and nothing else reads that output."""
    yield nodes
    for node in nodes:
        if isinstance(node, ConcatNode):
            for branch in node.branches:
                yield from sequences(branch)
        elif isinstance(node, GateNode):
            yield from sequences(node.gate)
        elif isinstance(node, ResidualNode):
            for part in (node.body, node.shortcut, node._projection or []):
                yield from sequences(part)
