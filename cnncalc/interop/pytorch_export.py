"""`cnncalc export FILE --to pytorch`: the network as PyTorch source, an `nn.Module` whose
`state_dict` keys are cnncalc's layer paths (`layer1.0.conv1.weight`), so the `.npz` files
`cnncalc forward --weights` reads load with `load_state_dict(strict=True)` once turned into tensors.

Each layer is one standard module registered at its dotted path (containers made on the way, as
torchvision's `layer1[0].conv1` is); `forward` is written out in the order of graph.walk, a line
per layer, residuals and concats as sums and `torch.cat`. Padding cnncalc resolves per input size
(`same`, unequal sides) becomes an explicit `F.pad` before the layer, at the network's input size.
LeNet-5's trainable subsampling, RBF output and connection table have no standard module: refused,
as in the ONNX export."""
from __future__ import annotations

import re

from ..errors import CnnError
from ..graph import ConcatNode, GateNode, Graph, LayerNode, Node
from ..layers import Layer
from ..shapes import Shape

HEADER = '''"""{name}: written by `cnncalc export --to pytorch` from {source}. Input {input} (C, H, W).

state_dict keys are cnncalc's layer paths; load weights saved by cnncalc (.npz) with
    model.load_state_dict({{k: torch.from_numpy(v) for k, v in numpy.load("w.npz").items()}})
(batch norm fills in its own step counter, num_batches_tracked, which cnncalc does not keep).
"""
import torch
import torch.nn.functional as F
from torch import nn


class Scale(nn.Module):
    """A trainable factor per channel (ConvNeXt's layer scale), stored as `weight`."""

    def __init__(self, *shape):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(shape))

    def forward(self, x):
        return x * self.weight


def channel_shuffle(x, groups: int):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class {cls}(nn.Module):
    def __init__(self):
        super().__init__()
'''


def _pads(layer: Layer, in_shape: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
    h, w = layer.output(in_shape).axes
    return (h.pad_lo, h.pad_hi), (w.pad_lo, w.pad_hi)


def _symmetric(layer: Layer, in_shape: Shape) -> tuple[int, int] | None:
    (t, b), (left, r) = _pads(layer, in_shape)
    return (t, left) if t == b and left == r else None


def _module(layer: Layer, in_shape: Shape) -> str:
    k = layer.kind
    if k == "conv":
        if layer.table is not None:
            raise CnnError("a connection table (LeNet-5's C3) has no standard PyTorch module; cnncalc does not "
                           "export it (a masked conv would count the masked weights as parameters)",
                           layer.where, layer.name)
        pad = _symmetric(layer, in_shape) or (0, 0)
        return (f"nn.Conv2d({in_shape[0]}, {layer.filters}, {tuple(layer.kernel)}, stride={tuple(layer.stride)}, "
                f"padding={pad}, dilation={tuple(layer.dilation)}, groups={layer.groups}, bias={layer.bias})")
    if k in ("maxpool", "avgpool"):
        pad = _symmetric(layer, in_shape) or (0, 0)
        if k == "maxpool":
            return f"nn.MaxPool2d({tuple(layer.kernel)}, {tuple(layer.stride)}, {pad}, ceil_mode={layer.ceil_mode})"
        return (f"nn.AvgPool2d({tuple(layer.kernel)}, {tuple(layer.stride)}, {pad}, ceil_mode={layer.ceil_mode}, "
                f"count_include_pad={layer.count_include_pad})")
    simple = {
        "globalavgpool": "nn.AdaptiveAvgPool2d(1)",
        "globalmaxpool": "nn.AdaptiveMaxPool2d(1)",
        "flatten": "nn.Flatten()",
        "identity": "nn.Identity()",
        "relu": "nn.ReLU()",
        "sigmoid": "nn.Sigmoid()",
        "tanh": "nn.Tanh()",
        "gelu": "nn.GELU()",
        "softmax": "nn.Softmax(dim=1)",
        "relu6": "nn.ReLU6()",
        "hardsigmoid": "nn.Hardsigmoid()",
        "hardswish": "nn.Hardswish()",
        "silu": "nn.SiLU()",
        "mish": "nn.Mish()",
        "stochastic_depth": "nn.Identity()",  # inference
    }
    if k in simple:
        return simple[k]
    if k == "adaptiveavgpool":
        return f"nn.AdaptiveAvgPool2d({tuple(layer.size)})"
    if k == "dense":
        return f"nn.Linear({in_shape[0]}, {layer.units}, bias={layer.bias})"
    if k == "convtranspose":
        return (f"nn.ConvTranspose2d({in_shape[0]}, {layer.filters}, {tuple(layer.kernel)}, "
                f"stride={tuple(layer.stride)}, padding={tuple(layer.padding)}, "
                f"output_padding={tuple(layer.output_padding)}, groups={layer.groups}, bias={layer.bias}, "
                f"dilation={tuple(layer.dilation)})")
    if k == "upsample":
        how = f"scale_factor={tuple(float(s) for s in layer.scale)}" if layer.scale is not None else \
            f"size={tuple(layer.size)}"
        corners = f", align_corners={layer.corners}" if layer.mode == "bilinear" else ""
        return f'nn.Upsample({how}, mode="{layer.mode}"{corners})'
    if k == "hardtanh":
        return f"nn.Hardtanh({layer.min!r}, {layer.max!r})"
    if k == "elu":
        return f"nn.ELU({layer.alpha!r})"
    if k == "prelu":
        return f"nn.PReLU({in_shape[0] if layer.per_channel else 1})"
    if k == "layernorm":
        return f"nn.LayerNorm({in_shape[0]}, eps={layer.eps!r})"
    if k == "layer_scale":
        return f"Scale({', '.join(map(str, layer.weight_shapes(in_shape)['weight']))})"
    if k == "pad":
        t, b, left, r = layer.sides
        return f"nn.ZeroPad2d(({left}, {r}, {t}, {b}))"
    if k == "batchnorm":
        return f"nn.BatchNorm{2 if len(in_shape) == 3 else 1}d({in_shape[0]}, eps={layer.eps!r})"
    if k == "lrn":
        return f"nn.LocalResponseNorm({layer.size}, alpha={layer.alpha!r}, beta={layer.beta!r}, k={layer.k!r})"
    if k == "dropout":
        return f"nn.Dropout({layer.p!r})"
    if k == "leaky_relu":
        return f"nn.LeakyReLU({layer.slope!r})"
    raise CnnError(f"{k} has no standard PyTorch module; cnncalc does not export it", layer.where, layer.name)


class _Writer:
    def __init__(self):
        self.init: list[str] = []
        self.body: list[str] = []
        self.containers: set[str] = set()
        self.temp = 0

    def register(self, layer: Layer, in_shape: Shape) -> None:
        parts = layer.name.split(".")
        for i in range(1, len(parts)):
            path = ".".join(parts[:i])
            if path not in self.containers:
                self.containers.add(path)
                parent = ".".join(parts[:i - 1])
                owner = f'self.get_submodule("{parent}")' if parent else "self"
                self.init.append(f'        {owner}.add_module("{parts[i - 1]}", nn.Module())')
        parent = ".".join(parts[:-1])
        owner = f'self.get_submodule("{parent}")' if parent else "self"
        self.init.append(f'        {owner}.add_module("{parts[-1]}", {_module(layer, in_shape)})')

    def fresh(self, stem: str) -> str:
        self.temp += 1
        return f"{stem}{self.temp}"

    def sequence(self, nodes: list[Node], x: str, shape: Shape, indent: str) -> tuple[str, Shape]:
        for node in nodes:
            if isinstance(node, LayerNode):
                layer = node.layer
                line = _inline(layer, x, shape)
                if line is not None:  # no weights and no module: a slice of the array
                    self.body.append(f"{indent}{x} = {line}  # {layer.name}")
                    shape = layer.output(shape).shape
                    continue
                self.register(layer, shape)
                if layer.kind in ("conv", "maxpool", "avgpool") and _symmetric(layer, shape) is None:
                    (t, b), (left, r) = _pads(layer, shape)
                    value = ', value=float("-inf")' if layer.kind == "maxpool" else ""
                    self.body.append(f"{indent}{x} = F.pad({x}, ({left}, {r}, {t}, {b}){value})  # {layer.name}'s "
                                     "padding, resolved at this input size")
                if _channels_last(layer, shape):  # ConvNeXt: nn.LayerNorm / nn.Linear on (N, H, W, C)
                    self.body.append(f'{indent}{x} = L("{layer.name}")({x}.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)')
                else:
                    self.body.append(f'{indent}{x} = L("{layer.name}")({x})')
                shape = layer.output(shape).shape
            elif isinstance(node, ConcatNode):
                ends, shapes = [], []
                self.body.append(f"{indent}# concat {node.merge.name}")
                for branch in node.branches:
                    b = self.fresh("b")
                    self.body.append(f"{indent}{b} = {x}")
                    end, s = self.sequence(branch, b, shape, indent)
                    ends.append(end)
                    shapes.append(s)
                self.body.append(f"{indent}{x} = torch.cat([{', '.join(ends)}], 1)")
                shape = (sum(s[0] for s in shapes), *shapes[0][1:])
            elif isinstance(node, GateNode):
                self.body.append(f"{indent}# gate {node.merge.name}")
                g = self.fresh("gate")
                self.body.append(f"{indent}{g} = {x}")
                end, _ = self.sequence(node.gate, g, shape, indent)
                self.body.append(f"{indent}{x} = {x} * {end}")
            else:
                self.body.append(f"{indent}# residual {node.merge.name}")
                body = self.fresh("body")
                self.body.append(f"{indent}{body} = {x}")
                end, body_shape = self.sequence(node.body, body, shape, indent)
                shortcut_nodes = node.shortcut_nodes(shape, body_shape)
                if shortcut_nodes:
                    sc = self.fresh("shortcut")
                    self.body.append(f"{indent}{sc} = {x}")
                    sc_end, _ = self.sequence(shortcut_nodes, sc, shape, indent)
                    self.body.append(f"{indent}{x} = {end} + {sc_end}")
                else:
                    self.body.append(f"{indent}{x} = {end} + {x}")
                shape = body_shape
        return x, shape


def _channels_last(layer: Layer, shape: Shape) -> bool:
    return len(shape) == 3 and (layer.kind == "layernorm" or (layer.kind == "dense" and layer.per_position))


def _inline(layer: Layer, x: str, shape: Shape) -> str | None:
    """The forward line of a kind that is indexing, not a module: slice, crop, shuffle."""
    if layer.kind == "slice":
        start, stop = layer.bounds(shape[0])
        return f"{x}[:, {start}:{stop}]"
    if layer.kind == "crop":
        _c, h, w = shape
        t, b, left, r = layer.removed(h, w)
        return f"{x}[:, :, {t}:{h - b}, {left}:{w - r}]"
    if layer.kind == "shuffle":
        return f"channel_shuffle({x}, {layer.groups})"
    return None


def _class_name(name: str) -> str:
    words = re.split(r"[^A-Za-z0-9]+", name)
    cls = "".join(w[:1].upper() + w[1:] for w in words if w) or "Net"
    return cls if cls[0].isalpha() else f"Net{cls}"


def export_pytorch(graph: Graph) -> str:
    """The Python source of an nn.Module computing `graph` (at its input size)."""
    writer = _Writer()
    writer.sequence(graph.nodes, "x", tuple(graph.input_shape), "        ")
    cls = _class_name(graph.name)
    head = HEADER.format(name=graph.name, source=graph.source, input="×".join(map(str, graph.input_shape)), cls=cls)
    lines = [head.rstrip("\n"), *writer.init, "", "    def forward(self, x):",
             "        L = self.get_submodule", *writer.body, "        return x", ""]
    return "\n".join(lines)
