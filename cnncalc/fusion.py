"""Which layers the forward pass runs inside the convolution before them.

A conv followed by a batch norm and/or a pointwise activation (ResNet's conv → bn → relu, VGG's
conv → relu) is run as one kernel: the conv's kernel applies the batch norm's per-channel scale and
shift, and the activation, to each block of its output while the block is still in cache
(kernels.conv.Epilogue), instead of two more passes over the whole activation in memory. The fused
layers keep their records (shape and weights checked as ever) and say which conv ran them;
`cnncalc forward --no-fuse` runs every layer on its own. docs/forward.md § Fusion.
"""
from __future__ import annotations

from dataclasses import dataclass

from .graph import LayerNode, Node, sequences
from .layers import Layer


@dataclass(frozen=True)
class Fusion:
    conv: Layer
    affine: Layer | None  # a kind with a channel_affine (batch norm)
    activation: Layer | None  # a pointwise kind

    @property
    def followers(self) -> list[Layer]:
        return [layer for layer in (self.affine, self.activation) if layer is not None]


def _has_affine(layer: Layer) -> bool:
    return type(layer).channel_affine is not Layer.channel_affine


def plan(nodes: list[Node]) -> dict[int, Fusion]:
    """The fusions of a graph, by id of the conv layer. Only consecutive layers of one sequence
    fuse: there nothing else reads the conv's (or the batch norm's) output."""
    fusions: dict[int, Fusion] = {}
    for seq in sequences(nodes):
        layers = [node.layer if isinstance(node, LayerNode) else None for node in seq]
        for i, layer in enumerate(layers):
            if layer is None or layer.kind != "conv":
                continue
            nxt = layers[i + 1:i + 3] + [None, None]
            affine = nxt[0] if nxt[0] is not None and _has_affine(nxt[0]) else None
            after = nxt[1] if affine is not None else nxt[0]
            activation = after if after is not None and after.pointwise else None
            if affine is not None or activation is not None:
                fusions[id(layer)] = Fusion(layer, affine, activation)
    return fusions
