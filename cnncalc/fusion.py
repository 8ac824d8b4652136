"""Which layers the forward pass runs inside the convolution before them.

A conv followed by a batch norm and/or a pointwise activation (ResNet's conv → bn → relu, VGG's
conv → relu) is run as one kernel: the conv's kernel applies the batch norm's per-channel scale and
shift, and the activation, to each block of its output while the block is still in cache
(kernels.conv.Epilogue), instead of two more passes over the whole activation in memory. Likewise
a residual's add and the pointwise activation after it (ResNet's add → relu) run sample by sample
in one pass. The fused layers keep their records (shape and weights checked as ever) and say
which layer ran them; `cnncalc forward --no-fuse` runs every layer on its own. docs/forward.md
§ Fusion.
"""
from __future__ import annotations

from dataclasses import dataclass

from .graph import LayerNode, Node, ResidualNode, sequences
from .layers import Layer


@dataclass(frozen=True)
class Fusion:
    host: Layer  # the conv, or the residual's add, whose kernel runs the others
    affine: Layer | None  # a kind with a channel_affine (batch norm); a conv's only
    activation: Layer | None  # a pointwise kind

    @property
    def followers(self) -> list[Layer]:
        return [layer for layer in (self.affine, self.activation) if layer is not None]


def _has_affine(layer: Layer) -> bool:
    return type(layer).channel_affine is not Layer.channel_affine


def plan(nodes: list[Node]) -> dict[int, Fusion]:
    """The fusions of a graph, by id of the host layer. Only consecutive nodes of one sequence
    fuse: there nothing else reads the host's (or the batch norm's) output."""
    fusions: dict[int, Fusion] = {}
    for seq in sequences(nodes):
        layers = [node.layer if isinstance(node, LayerNode) else None for node in seq]
        for i, layer in enumerate(layers):
            after = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(seq[i], ResidualNode) and after is not None and after.pointwise:
                fusions[id(seq[i].merge)] = Fusion(seq[i].merge, None, after)
            if layer is None or layer.kind != "conv":
                continue
            nxt = layers[i + 1:i + 3] + [None, None]
            affine = nxt[0] if nxt[0] is not None and _has_affine(nxt[0]) else None
            after = nxt[1] if affine is not None else nxt[0]
            activation = after if after is not None and after.pointwise else None
            if affine is not None or activation is not None:
                fusions[id(layer)] = Fusion(layer, affine, activation)
    return fusions
