"""ONNX operators → cnncalc layer kinds: one table, `OPS`, from operator name to a mapping function
(fvcore's `jit_handles` pattern). Supporting a new kind is one entry here.

A mapping function gets the node and a `Context`, and returns a `Mapped`: the layers the node
becomes (none for plumbing that passes its input on), or a merge of several paths (add, concat).
It may take in the nodes that produce its inputs when only it reads them (a Mul takes the Sigmoid
of SiLU, an Add takes the MatMul of a dense layer): the importer maps nodes from the last to the
first, so a consumer sees its producers before they are mapped on their own. A node it cannot map
raises `Unsupported`, and the import lists every such node with counts before it stops.

ONNX's semantics, not cnncalc's defaults, decide every option: pooling strides default to 1,
AveragePool's count_include_pad to 0, pads are [top, left, bottom, right], auto_pad SAME_UPPER is
cnncalc's `same` and SAME_LOWER is written out, Gemm's transB and alpha/beta are folded into the
weights, Flatten's axis and Reshape's target must make a (N, features) matrix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..layers import KINDS
from .onnx_reader import OnnxModel, OnnxNode


class Unsupported(Exception):
    """The node has no cnncalc equivalent (the message says what is missing)."""


@dataclass
class Step:
    kind: str
    options: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Mapped:
    node: OnnxNode  # the node that names the result
    data: list[str]  # the data tensors it reads (one for layers, several for a merge)
    output: str  # the tensor it stands for
    steps: list[Step] = field(default_factory=list)  # empty and no merge: plumbing
    merge: str | None = None  # "add" or "concat"
    absorbed: list[OnnxNode] = field(default_factory=list)


class Context:
    def __init__(self, model: OnnxModel):
        self.model = model
        self.producer: dict[str, OnnxNode] = {}
        self.consumers: dict[str, list[OnnxNode]] = {}
        for n in model.nodes:
            for t in n.outputs:
                self.producer[t] = n
            for t in n.inputs:
                self.consumers.setdefault(t, []).append(n)
        self.absorbed: set[int] = set()
        self.layout = _layouts(model)

    def channels_last(self, name: str) -> bool:
        """Is this tensor a feature map transposed to (N, H, W, C) (ConvNeXt's permute before its
        LayerNorm and Linear layers)?"""
        return self.layout.get(name) == NHWC

    def const(self, name: str) -> np.ndarray | None:
        return self.model.constants.get(name) if name else None

    def shape(self, name: str) -> tuple[int | None, ...] | None:
        return self.model.shapes.get(name)

    def is_data(self, name: str) -> bool:
        return bool(name) and name not in self.model.constants

    def sole(self, tensor: str, *ops: str) -> OnnxNode | None:
        """The node of one of `ops` producing `tensor`, when nothing but one node reads it."""
        n = self.producer.get(tensor)
        if n is None or n.op not in ops or id(n) in self.absorbed:
            return None
        readers = self.consumers.get(tensor, [])
        if len(readers) != 1 or tensor == self.model.output_name:
            return None
        return n

    def take(self, node: OnnxNode) -> OnnxNode:
        self.absorbed.add(id(node))
        return node


NHWC = "nhwc"
TO_NHWC, TO_NCHW = [0, 2, 3, 1], [0, 3, 1, 2]
# Operators that keep their first input's layout: the rest of a channels-last stretch.
_KEEPS_LAYOUT = {"LayerNormalization", "MatMul", "Add", "Mul", "Gelu", "Erf", "Div", "Relu", "Sigmoid", "Tanh",
                 "Identity", "Dropout", "HardSwish", "HardSigmoid", "Clip", "Elu", "Mish", "Softplus"}


def _layouts(model: OnnxModel) -> dict[str, str]:
    """Which tensors are feature maps transposed to channels-last, by one pass in file order."""
    layout: dict[str, str] = {}
    for n in model.nodes:
        data = [t for t in n.inputs if t and t not in model.constants]
        if not data or not n.outputs:
            continue
        first = layout.get(data[0])
        if n.op == "Transpose":
            perm = [int(p) for p in n.attrs.get("perm", [])]
            if perm == TO_NHWC and first is None:
                layout[n.outputs[0]] = NHWC
            elif perm == TO_NCHW and first == NHWC:
                continue  # back to (N, C, H, W)
        elif n.op in _KEEPS_LAYOUT and first == NHWC:
            layout[n.outputs[0]] = NHWC
    return layout


# -- small helpers --------------------------------------------------------------------------------
def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise Unsupported(f"needs the layer kind `{kind}`, which this cnncalc does not have")
    return kind


def _weight(ctx: Context, node: OnnxNode, i: int, what: str) -> np.ndarray:
    value = ctx.const(node.inputs[i]) if len(node.inputs) > i else None
    if value is None:
        raise Unsupported(f"its {what} is computed at run time, not stored in the file")
    return value


def _optional(ctx: Context, node: OnnxNode, i: int) -> np.ndarray | None:
    if len(node.inputs) <= i or not node.inputs[i]:
        return None
    value = ctx.const(node.inputs[i])
    if value is None:
        raise Unsupported(f"input {i} is computed at run time, not stored in the file")
    return value


def _pair(values) -> int | list[int]:
    a, b = (int(v) for v in values)
    return a if a == b else [a, b]


def _padding(node: OnnxNode, ctx: Context, kernel, stride, dilation) -> int | str | list[int]:
    """ONNX pads [top, left, bottom, right] or auto_pad, in cnncalc's words."""
    auto = node.attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if auto == "VALID":
        return 0
    if auto == "SAME_UPPER":
        return "same"  # TensorFlow's rule: the odd pixel after
    if auto == "SAME_LOWER":
        shape = ctx.shape(node.inputs[0])
        if shape is None or len(shape) != 4 or None in shape[2:]:
            raise Unsupported("auto_pad SAME_LOWER on an input of unknown size")
        pads = []
        for size, k, s, d in zip(shape[2:], kernel, stride, dilation):
            total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
            pads.append((total - total // 2, total // 2))  # the odd pixel before
        top, bottom = pads[0]
        left, right = pads[1]
    elif auto == "NOTSET":
        top, left, bottom, right = (int(p) for p in node.attrs.get("pads", [0, 0, 0, 0]))
    else:
        raise Unsupported(f"auto_pad {auto}")
    if top == bottom and left == right:
        return _pair((top, left))
    return [top, bottom, left, right]


def _spatial(node: OnnxNode, key: str, default: int) -> list[int]:
    values = node.attrs.get(key, [default, default])
    if len(values) != 2:
        raise Unsupported(f"{key} {list(values)}: cnncalc reads 2-D (N, C, H, W) operators")
    return [int(v) for v in values]


def _drop_defaults(options: dict, defaults: dict) -> dict:
    return {k: v for k, v in options.items() if k not in defaults or defaults[k] != v}


def _layer(node: OnnxNode, *steps: Step, data: str | None = None, output: str | None = None,
           absorbed: list[OnnxNode] | None = None) -> Mapped:
    return Mapped(node, [data or node.inputs[0]], output or node.outputs[0], list(steps), None, absorbed or [])


def _plumbing(node: OnnxNode) -> Mapped:
    return Mapped(node, [node.inputs[0]], node.outputs[0])


def _rank(ctx: Context, name: str) -> int | None:
    shape = ctx.shape(name)
    return None if shape is None else len(shape)


# -- the mapping functions --------------------------------------------------------------------------
def conv(node: OnnxNode, ctx: Context) -> Mapped:
    weight = _weight(ctx, node, 1, "weight")
    if weight.ndim != 4:
        raise Unsupported(f"a {weight.ndim - 2}-D convolution: cnncalc reads 2-D (N, C, H, W) ones")
    bias = _optional(ctx, node, 2)
    if bias is not None and node.inputs[2] in ctx.model.computed and not bias.any():
        bias = None  # zeros the exporter computes for a conv without bias (dynamo with optimize=False)
    kernel = [int(k) for k in node.attrs.get("kernel_shape", weight.shape[2:])]
    stride, dilation = _spatial(node, "strides", 1), _spatial(node, "dilations", 1)
    options = {"filters": int(weight.shape[0]), "kernel": _pair(kernel), "stride": _pair(stride),
               "padding": _padding(node, ctx, kernel, stride, dilation), "dilation": _pair(dilation),
               "groups": int(node.attrs.get("group", 1)), "bias": bias is not None}
    options = _drop_defaults(options, {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True})
    arrays = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
    return _layer(node, Step(_kind("conv"), options, arrays))


def conv_transpose(node: OnnxNode, ctx: Context) -> Mapped:
    weight = _weight(ctx, node, 1, "weight")
    if weight.ndim != 4:
        raise Unsupported(f"a {weight.ndim - 2}-D transposed convolution: cnncalc reads 2-D ones")
    if node.attrs.get("output_shape") or (node.attrs.get("auto_pad", "NOTSET") or "NOTSET") != "NOTSET":
        raise Unsupported("output_shape or auto_pad on a ConvTranspose (give pads and output_padding)")
    bias = _optional(ctx, node, 2)
    group = int(node.attrs.get("group", 1))
    top, left, bottom, right = (int(p) for p in node.attrs.get("pads", [0, 0, 0, 0]))
    if top != bottom or left != right:
        raise Unsupported(f"unequal pads {[top, left, bottom, right]} (PyTorch's ConvTranspose2d crops both sides "
                          "alike)")
    options = {"filters": int(weight.shape[1]) * group, "kernel": _pair(weight.shape[2:]),
               "stride": _pair(_spatial(node, "strides", 1)), "padding": _pair((top, left)),
               "output_padding": _pair(_spatial(node, "output_padding", 0)),
               "dilation": _pair(_spatial(node, "dilations", 1)), "groups": group, "bias": bias is not None}
    options = _drop_defaults(options, {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1,
                                       "bias": True})
    arrays = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
    return _layer(node, Step(_kind("convtranspose"), options, arrays))


def resize(node: OnnxNode, ctx: Context) -> Mapped:
    """Resize as PyTorch's nn.Upsample writes it: nearest with asymmetric coordinates and floor,
    or linear with pytorch_half_pixel / half_pixel (align_corners false) or align_corners."""
    a = node.attrs
    mode, coords = a.get("mode", "nearest"), a.get("coordinate_transformation_mode", "half_pixel")
    if mode == "nearest":
        if coords != "asymmetric" or a.get("nearest_mode", "round_prefer_floor") != "floor":
            raise Unsupported(f"nearest resizing with {coords} coordinates and {a.get('nearest_mode')} rounding "
                              "(PyTorch's nearest is asymmetric, floor)")
        options: dict[str, Any] = {}
    elif mode == "linear" and coords in ("pytorch_half_pixel", "half_pixel", "align_corners"):
        options = {"mode": "bilinear"}
        if coords == "align_corners":
            options["align_corners"] = True
    else:
        raise Unsupported(f"{mode} resizing with {coords} coordinates (only nearest and bilinear, as PyTorch's)")
    scales, sizes = _optional(ctx, node, 2), _optional(ctx, node, 3)
    before, after = ctx.shape(node.inputs[0]), ctx.shape(node.outputs[0])
    if scales is not None and scales.size == 4:
        if list(scales[:2]) != [1, 1] or any(float(s) != int(s) for s in scales[2:]):
            raise Unsupported(f"scales {[float(s) for s in scales]} (whole factors on H and W only)")
        options = {"scale": _pair([int(s) for s in scales[2:]]), **options}
    elif sizes is not None and sizes.size == 4 and before is not None and list(sizes[:2]) == list(before[:2]) \
            or sizes is not None and sizes.size == 4 and after is not None:
        options = {"size": _pair([int(s) for s in sizes[2:]]), **options}
    else:
        raise Unsupported("a Resize without constant scales or sizes for all four axes")
    return _layer(node, Step(_kind("upsample"), options))


def _pool(kind: str) -> Callable[[OnnxNode, Context], Mapped]:
    def pool(node: OnnxNode, ctx: Context) -> Mapped:
        if len([o for o in node.outputs if o]) > 1 and ctx.consumers.get(node.outputs[1]):
            raise Unsupported("its indices output is used (max-unpooling)")
        kernel = _spatial(node, "kernel_shape", 1)
        stride = _spatial(node, "strides", 1)  # ONNX: 1, not the kernel
        if _spatial(node, "dilations", 1) != [1, 1]:
            raise Unsupported("dilated pooling")
        padding = _padding(node, ctx, kernel, stride, [1, 1])
        options: dict[str, Any] = {"kernel": _pair(kernel), "stride": _pair(stride), "padding": padding}
        if node.attrs.get("ceil_mode", 0):
            options["ceil_mode"] = True
        if kind == "avgpool" and padding != 0:
            options["count_include_pad"] = bool(node.attrs.get("count_include_pad", 0))  # ONNX: 0
        return _layer(node, Step(_kind(kind), _drop_defaults(options, {"padding": 0})))
    return pool


def _axes(node: OnnxNode, ctx: Context) -> list[int] | None:
    if "axes" in node.attrs:
        return [int(a) for a in node.attrs["axes"]]
    if len(node.inputs) > 1 and node.inputs[1]:
        value = ctx.const(node.inputs[1])
        if value is None:
            raise Unsupported("its axes are computed at run time")
        return [int(a) for a in value.reshape(-1)]
    return None


def reduce_mean(node: OnnxNode, ctx: Context) -> Mapped:
    rank = _rank(ctx, node.inputs[0])
    axes = _axes(node, ctx)
    if rank != 4 or axes is None or sorted(a % 4 for a in axes) != [2, 3]:
        raise Unsupported(f"a mean over axes {axes} of a rank-{rank} tensor (only H and W: global pooling)")
    steps = [Step(_kind("globalavgpool"), {})]
    if not node.attrs.get("keepdims", 1):
        steps.append(Step(_kind("flatten"), {}))
    return _layer(node, *steps)


def flatten(node: OnnxNode, ctx: Context) -> Mapped:
    rank = _rank(ctx, node.inputs[0])
    axis = int(node.attrs.get("axis", 1))
    if rank is not None and axis % max(rank, 1) == 1 or (rank is not None and rank == 2 and axis in (1, -1)):
        return _plumbing(node) if rank == 2 else _layer(node, Step(_kind("flatten"), {}))
    raise Unsupported(f"Flatten with axis {axis} of a rank-{rank} tensor (only axis 1: one vector per sample)")


def _shuffle_pattern(node: OnnxNode, ctx: Context) -> Mapped | None:
    """torchvision's channel_shuffle: Reshape to (N, g, C/g, H, W), Transpose (0, 2, 1, 3, 4),
    Reshape back to (N, C, H, W)."""
    copies = []
    tensor = node.inputs[0]
    while (copy := ctx.sole(tensor, "Identity")) is not None:  # dynamo's .contiguous() clone
        copies.append(copy)
        tensor = copy.inputs[0]
    t = ctx.sole(tensor, "Transpose")
    if t is None or [int(p) for p in t.attrs.get("perm", [])] != [0, 2, 1, 3, 4]:
        return None
    first = ctx.sole(t.inputs[0], "Reshape")
    split = ctx.shape(first.outputs[0]) if first else None
    before, after = (ctx.shape(first.inputs[0]), ctx.shape(node.outputs[0])) if first else (None, None)
    if split is None or before is None or after is None or len(split) != 5 or len(before) != 4 or \
            tuple(after[1:]) != tuple(before[1:]) or None in split[1:3]:
        return None
    for n in (*copies, t, first):
        ctx.take(n)
    return _layer(node, Step(_kind("shuffle"), {"groups": int(split[1])}), data=first.inputs[0],
                  absorbed=[*copies, t, first])


def reshape(node: OnnxNode, ctx: Context) -> Mapped:
    """Only to one vector per sample: a target [batch, features] where the batch is 0 (copied), 1
    (the batch the importer folds shape arithmetic at) or -1, and features is -1 or C·H·W; or the
    last step of a channel shuffle."""
    shuffle = _shuffle_pattern(node, ctx)
    if shuffle is not None:
        return shuffle
    before = ctx.shape(node.inputs[0])
    target = ctx.const(node.inputs[1])
    if before is not None and None not in before[1:] and target is not None and target.size == 2:
        features = int(np.prod(before[1:]))
        n, f = (int(v) for v in target.reshape(-1))
        if n in (0, 1, -1) and (f == features or (f == -1 and n != -1)):
            return _plumbing(node) if len(before) == 2 else _layer(node, Step(_kind("flatten"), {}))
    shown = "computed at run time" if target is None else str([int(v) for v in target.reshape(-1)])
    raise Unsupported(f"a Reshape of {_fmt(before)} to {shown} (only to one vector per sample)")


def _fmt(shape) -> str:
    return "?" if shape is None else "×".join("N" if d is None else str(d) for d in shape)


def gemm(node: OnnxNode, ctx: Context) -> Mapped:
    if node.attrs.get("transA", 0):
        raise Unsupported("transA = 1 (the input transposed)")
    b = _weight(ctx, node, 1, "weight")
    weight = b if node.attrs.get("transB", 0) else b.T  # PyTorch's (out, in)
    weight = weight * np.float32(node.attrs.get("alpha", 1.0)) if node.attrs.get("alpha", 1.0) != 1.0 else weight
    c = _optional(ctx, node, 2)
    arrays = {"weight": np.ascontiguousarray(weight)}
    if c is not None:
        beta = node.attrs.get("beta", 1.0)
        arrays["bias"] = np.broadcast_to(c * np.float32(beta) if beta != 1.0 else c, (weight.shape[0],)).copy() \
            if c.size in (1, weight.shape[0]) else _bad_bias(c)
    options = {"units": int(weight.shape[0])} if c is not None else {"units": int(weight.shape[0]), "bias": False}
    return _layer(node, Step(_kind("dense"), options, arrays))


def _bad_bias(c: np.ndarray):
    raise Unsupported(f"a Gemm bias of shape {c.shape} (one per output unit expected)")


def matmul(node: OnnxNode, ctx: Context) -> Mapped:
    weight = _weight(ctx, node, 1, "second operand")
    options: dict[str, Any] = {"units": int(weight.shape[1]), "bias": False}
    if ctx.channels_last(node.inputs[0]) and weight.ndim == 2:
        options = {"units": int(weight.shape[1]), "per_position": True, "bias": False}  # nn.Linear on (N, H, W, C)
    elif weight.ndim != 2 or _rank(ctx, node.inputs[0]) != 2:
        raise Unsupported("a MatMul other than (N, in) × (in, out), or per position of a channels-last map")
    return _layer(node, Step(_kind("dense"), options, {"weight": np.ascontiguousarray(weight.T)}))


def transpose(node: OnnxNode, ctx: Context) -> Mapped:
    """To channels-last and back around ConvNeXt's LayerNorm and Linear layers: a view, no layer."""
    perm = [int(p) for p in node.attrs.get("perm", [])]
    if (perm == TO_NHWC and not ctx.channels_last(node.inputs[0])) or \
            (perm == TO_NCHW and ctx.channels_last(node.inputs[0])):
        return _plumbing(node)
    raise Unsupported(f"a Transpose {perm} (only to channels-last and back)")


def layer_norm(node: OnnxNode, ctx: Context) -> Mapped:
    rank = _rank(ctx, node.inputs[0])
    axis = int(node.attrs.get("axis", -1))
    if rank is None or axis % rank != rank - 1 or not (ctx.channels_last(node.inputs[0]) or rank == 2):
        raise Unsupported(f"a LayerNormalization over axis {axis} of a rank-{rank} tensor (only over the channels)")
    arrays = {"weight": _weight(ctx, node, 1, "scale")}
    bias = _optional(ctx, node, 2)
    arrays["bias"] = bias if bias is not None else np.zeros_like(arrays["weight"])
    eps = _short(np.float32(node.attrs.get("epsilon", 1e-5)))
    return _layer(node, Step(_kind("layernorm"), {} if eps == 1e-5 else {"eps": eps}, arrays))


def prelu(node: OnnxNode, ctx: Context) -> Mapped:
    slope = _weight(ctx, node, 1, "slope").reshape(-1)
    per_channel = slope.size > 1
    return _layer(node, Step(_kind("prelu"), {"per_channel": True} if per_channel else {}, {"weight": slope.copy()}))


def _gelu_pattern(node: OnnxNode, ctx: Context) -> Mapped | None:
    """TorchScript's exact GELU before opset 20: Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5), any
    operand order."""
    half = [t for t in node.inputs if not ctx.is_data(t)]
    if len(half) != 1 or not np.allclose(ctx.const(half[0]), 0.5):
        return None
    inner = ctx.sole(next(t for t in node.inputs if ctx.is_data(t)), "Mul")
    if inner is None:
        return None
    for x, other in (inner.inputs, inner.inputs[::-1]):
        plus = ctx.sole(other, "Add")
        one = [t for t in plus.inputs if not ctx.is_data(t)] if plus else []
        if plus is None or len(one) != 1 or not np.allclose(ctx.const(one[0]), 1.0):
            continue
        erf = ctx.sole(next(t for t in plus.inputs if ctx.is_data(t)), "Erf")
        div = ctx.sole(erf.inputs[0], "Div") if erf else None
        if div is None or div.inputs[0] != x or not np.allclose(ctx.const(div.inputs[1]), np.sqrt(2), rtol=1e-4):
            continue
        for n in (inner, plus, erf, div):
            ctx.take(n)
        return _layer(node, Step(_kind("gelu"), {}), data=x, absorbed=[inner, plus, erf, div])
    return None


def _mish_pattern(node: OnnxNode, ctx: Context) -> Mapped | None:
    """x · tanh(softplus(x))."""
    for x, t in (node.inputs, node.inputs[::-1]):
        tanh = ctx.sole(t, "Tanh")
        softplus = ctx.sole(tanh.inputs[0], "Softplus") if tanh else None
        if softplus is not None and softplus.inputs[0] == x:
            ctx.take(tanh)
            ctx.take(softplus)
            return _layer(node, Step(_kind("mish"), {}), data=x, absorbed=[tanh, softplus])
    return None


def _layer_scale(node: OnnxNode, ctx: Context, x: str, gamma: np.ndarray) -> Mapped:
    """A per-channel trainable factor (ConvNeXt's γ): (C, 1, 1) on a map, (C,) channels-last."""
    shape = ctx.shape(x)
    channels = None if shape is None else (shape[-1] if ctx.channels_last(x) else shape[1])
    if channels is None or gamma.size != channels:
        raise Unsupported(f"scaling by a stored constant of shape {list(gamma.shape)} (layer scale is one factor "
                          "per channel)")
    weight = gamma.reshape(-1)
    if not ctx.channels_last(x) and len(shape) == 4:
        weight = weight.reshape(-1, 1, 1)
    return _layer(node, Step(_kind("layer_scale"), {}, {"weight": weight.copy()}), data=x)


def add(node: OnnxNode, ctx: Context) -> Mapped:
    data = [t for t in node.inputs if ctx.is_data(t)]
    if len(data) == 2:
        return Mapped(node, data, node.outputs[0], merge="add")
    if len(data) == 1:
        bias = ctx.const(next(t for t in node.inputs if not ctx.is_data(t)))
        mm = ctx.sole(data[0], "MatMul")
        if mm is not None and bias is not None and ctx.const(mm.inputs[1]) is not None:
            mapped = matmul(mm, ctx)
            step = mapped.steps[0]
            units = step.options["units"]
            if bias.size in (1, units):
                step.options = {k: v for k, v in step.options.items() if k != "bias"}
                step.arrays["bias"] = np.broadcast_to(bias.reshape(-1), (units,)).copy()
                ctx.take(mm)
                return _layer(node, step, data=mm.inputs[0], absorbed=[mm])
        raise Unsupported("adding a stored constant to a feature map (a bias outside a conv or dense layer)")
    raise Unsupported("adding two constants")


def split(node: OnnxNode, ctx: Context) -> list[Mapped]:
    """Split along the channels: one `slice` per output (torch.chunk's equal parts as `chunks`)."""
    shape = ctx.shape(node.inputs[0])
    axis = int(node.attrs.get("axis", 0))
    if shape is None or axis % len(shape) != 1 or shape[1] is None:
        raise Unsupported(f"a Split along axis {axis} (only the channels, axis 1)")
    channels, outputs = int(shape[1]), [o for o in node.outputs]
    sizes = node.attrs.get("split")
    if sizes is None and len(node.inputs) > 1 and node.inputs[1]:
        sizes = [int(v) for v in _weight(ctx, node, 1, "split sizes").reshape(-1)]
    if sizes is None:
        step = -(-channels // len(outputs))  # opset 18's num_outputs, torch.chunk's sizes
        sizes = [min(step, channels - i * step) for i in range(len(outputs))]
    chunks = len(sizes) > 1 and sizes == [-(-channels // len(sizes))] * (len(sizes) - 1) + [sizes[-1]]
    out, start = [], 0
    for i, (tensor, size) in enumerate(zip(outputs, sizes)):
        options = {"chunks": len(sizes), "index": i} if chunks else {"start": start, "stop": start + int(size)}
        out.append(Mapped(node, [node.inputs[0]], tensor, [Step(_kind("slice"), options)]))
        start += int(size)
    return out


def split_to_sequence(node: OnnxNode, ctx: Context) -> list[Mapped]:
    """dynamo's chunk: SplitToSequence then SequenceAt per part; the parts are mapped at SequenceAt."""
    if any(c.op != "SequenceAt" for c in ctx.consumers.get(node.outputs[0], [])):
        raise Unsupported("a sequence used other than by SequenceAt")
    return []


def sequence_at(node: OnnxNode, ctx: Context) -> Mapped:
    seq = ctx.producer.get(node.inputs[0])
    index = ctx.const(node.inputs[1])
    if seq is None or seq.op != "SplitToSequence" or index is None:
        raise Unsupported("a SequenceAt of anything but a channel split")
    shape = ctx.shape(seq.inputs[0])
    axis = int(seq.attrs.get("axis", 0))
    if shape is None or axis % len(shape) != 1 or shape[1] is None:
        raise Unsupported(f"a SplitToSequence along axis {axis} (only the channels)")
    channels = int(shape[1])
    size = _optional(ctx, seq, 1)
    if size is None or size.size == 1:
        step = 1 if size is None else int(size.reshape(-1)[0])
        sizes = [min(step, channels - s) for s in range(0, channels, step)]
    else:
        sizes = [int(v) for v in size.reshape(-1)]
    i = int(index.reshape(-1)[0]) % len(sizes)
    equal = sizes == [sizes[0]] * (len(sizes) - 1) + [sizes[-1]] and sizes[0] == -(-channels // len(sizes))
    start = sum(sizes[:i])
    options = {"chunks": len(sizes), "index": i} if equal else {"start": start, "stop": start + sizes[i]}
    return Mapped(node, [seq.inputs[0]], node.outputs[0], [Step(_kind("slice"), options)])


def slice_(node: OnnxNode, ctx: Context) -> Mapped:
    """Slice of the channels (`slice`, torch.chunk as the TorchScript exporter writes it) or of H
    and W (`crop`)."""
    shape = ctx.shape(node.inputs[0])
    starts, ends = _weight(ctx, node, 1, "starts").reshape(-1), _weight(ctx, node, 2, "ends").reshape(-1)
    axes = _optional(ctx, node, 3)
    axes = list(range(len(starts))) if axes is None else [int(a) for a in axes.reshape(-1)]
    steps = _optional(ctx, node, 4)
    if shape is None or len(shape) != 4 or (steps is not None and (steps != 1).any()):
        raise Unsupported("a Slice with steps, or of a tensor of unknown shape")
    bounds = {}
    for a, s, e in zip(axes, starts, ends):
        size = shape[a % 4]
        if size is None:
            raise Unsupported("a Slice of a tensor of unknown shape")
        s, e = (int(min(max(v + size if v < 0 else v, 0), size)) for v in (s, e))
        bounds[a % 4] = (s, e, size)
    if set(bounds) == {1}:
        s, e, _size = bounds[1]
        return _layer(node, Step(_kind("slice"), {"start": s, "stop": e}))
    if bounds and set(bounds) <= {2, 3}:
        t, b_end, h = bounds.get(2, (0, shape[2], shape[2]))
        left, r_end, w = bounds.get(3, (0, shape[3], shape[3]))
        return _layer(node, Step(_kind("crop"), {"sides": [t, h - b_end, left, w - r_end]}))
    raise Unsupported(f"a Slice along axes {sorted(bounds)} (the channels, or height and width)")


def pad(node: OnnxNode, ctx: Context) -> Mapped:
    if node.attrs.get("mode", "constant") != "constant":
        raise Unsupported(f"{node.attrs.get('mode')} padding (only zeros)")
    pads = node.attrs.get("pads")
    pads = [int(p) for p in (pads if pads is not None else _weight(ctx, node, 1, "pads").reshape(-1))]
    value = _optional(ctx, node, 2)
    axes = _optional(ctx, node, 3)
    if value is not None and float(value.reshape(-1)[0]) != 0.0:
        raise Unsupported(f"padding with {float(value.reshape(-1)[0])} (only zeros)")
    if axes is not None:
        full = [0] * 8
        for i, a in enumerate(int(a) % 4 for a in axes.reshape(-1)):
            full[a], full[a + 4] = pads[i], pads[i + len(axes.reshape(-1))]
        pads = full
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
        raise Unsupported(f"pads {pads} (only zeros around H and W)")
    sides = [pads[2], pads[6], pads[3], pads[7]]
    return _layer(node, Step(_kind("pad"), {"sides": sides[0] if len(set(sides)) == 1 else sides}))


def concat(node: OnnxNode, ctx: Context) -> Mapped:
    rank = _rank(ctx, node.outputs[0])
    axis = int(node.attrs.get("axis", 1))
    if rank is None or axis % rank != 1:
        raise Unsupported(f"a Concat along axis {axis} (only the channels, axis 1)")
    if not all(ctx.is_data(t) for t in node.inputs):
        raise Unsupported("a Concat with a stored constant")
    if len(node.inputs) == 1:
        return _plumbing(node)
    return Mapped(node, list(node.inputs), node.outputs[0], merge="concat")


def batchnorm(node: OnnxNode, ctx: Context) -> Mapped:
    if node.attrs.get("training_mode", 0) or len([o for o in node.outputs if o]) > 1:
        raise Unsupported("batch norm in training mode (export the model in eval mode)")
    arrays = {"weight": _weight(ctx, node, 1, "scale"), "bias": _weight(ctx, node, 2, "bias"),
              "running_mean": _weight(ctx, node, 3, "mean"), "running_var": _weight(ctx, node, 4, "variance")}
    eps = float(np.float32(node.attrs.get("epsilon", 1e-5)))
    eps = float(f"{eps:.6g}")  # 1e-05 stored as float32 reads 9.999999747378752e-06
    return _layer(node, Step(_kind("batchnorm"), {} if eps == 1e-5 else {"eps": eps}, arrays))


def _simple(kind: str, options: Callable[[OnnxNode], dict] | None = None) -> Callable[[OnnxNode, Context], Mapped]:
    def mapped(node: OnnxNode, ctx: Context) -> Mapped:
        return _layer(node, Step(_kind(kind), options(node) if options else {}))
    return mapped


def _gated(kind_of_gate: str, activation: str) -> Callable[[OnnxNode, Context], Mapped | None]:
    """x · f(x) with f's node read only here: SiLU (Sigmoid·Mul) and hardswish (HardSigmoid·Mul)."""
    def fused(node: OnnxNode, ctx: Context) -> Mapped | None:
        a, b = node.inputs
        for x, g in ((a, b), (b, a)):
            gate = ctx.sole(g, kind_of_gate)
            if gate is not None and gate.inputs[0] == x and _is_hardswish_gate(gate, kind_of_gate):
                ctx.take(gate)
                return _layer(node, Step(_kind(activation), {}), data=x, absorbed=[gate])
        return None
    return fused


def _is_hardswish_gate(gate: OnnxNode, op: str) -> bool:
    if op != "HardSigmoid":
        return True
    return abs(gate.attrs.get("alpha", 0.2) - 1 / 6) < 1e-6 and abs(gate.attrs.get("beta", 0.5) - 0.5) < 1e-6


_SILU = _gated("Sigmoid", "silu")
_HARDSWISH = _gated("HardSigmoid", "hardswish")


def mul(node: OnnxNode, ctx: Context) -> Mapped:
    data = [t for t in node.inputs if ctx.is_data(t)]
    if len(data) == 2:
        for rule in (_SILU, _HARDSWISH, _mish_pattern):
            fused = rule(node, ctx)
            if fused is not None:
                return fused
        return Mapped(node, data, node.outputs[0], merge="gate")  # squeeze-and-excitation: x · g(x)
    if len(data) == 1:
        fused = _gelu_pattern(node, ctx)
        if fused is not None:
            return fused
        gamma = ctx.const(next(t for t in node.inputs if not ctx.is_data(t)))
        if gamma.size == 1 and float(gamma.reshape(-1)[0]) == 1.0:
            return Mapped(node, [data[0]], node.outputs[0])  # × 1 (dynamo's ELU: scale and input_scale)
        return _layer_scale(node, ctx, data[0], gamma)
    raise Unsupported("a product of two constants")


def clip(node: OnnxNode, ctx: Context) -> Mapped:
    lo = node.attrs.get("min")
    hi = node.attrs.get("max")
    lo = float(_optional(ctx, node, 1)) if len(node.inputs) > 1 and node.inputs[1] else lo
    hi = float(_optional(ctx, node, 2)) if len(node.inputs) > 2 and node.inputs[2] else hi
    if lo == 0 and hi is None:
        return _layer(node, Step(_kind("relu"), {}))
    if lo == 0 and hi == 6:
        return _layer(node, Step(_kind("relu6"), {}))
    if lo is not None and hi is not None:
        return _layer(node, Step(_kind("hardtanh"), {"min": lo, "max": hi}))
    raise Unsupported(f"Clip to [{lo}, {hi}] (a one-sided clip other than relu's [0, ∞))")


def hard_sigmoid(node: OnnxNode, ctx: Context) -> Mapped:
    if not _is_hardswish_gate(node, "HardSigmoid"):
        raise Unsupported("a HardSigmoid other than PyTorch's (alpha 1/6, beta 1/2)")
    return _layer(node, Step(_kind("hardsigmoid"), {}))


def softmax(node: OnnxNode, ctx: Context) -> Mapped:
    rank = _rank(ctx, node.inputs[0])
    axis = int(node.attrs.get("axis", -1))
    if rank in (2, 4) and axis % rank == 1:
        return _layer(node, Step(_kind("softmax"), {}))  # over the channels, as cnncalc's softmax
    raise Unsupported(f"Softmax along axis {axis} of a rank-{rank} tensor (only over the channels)")


def dropout(node: OnnxNode, ctx: Context) -> Mapped:
    ratio = node.attrs.get("ratio")
    if ratio is None and len(node.inputs) > 1 and node.inputs[1]:
        ratio = float(_optional(ctx, node, 1))
    return _layer(node, Step(_kind("dropout"), {"p": float(f"{float(ratio if ratio is not None else 0.5):.6g}")}))


def gelu(node: OnnxNode, ctx: Context) -> Mapped:
    if node.attrs.get("approximate", "none") != "none":
        raise Unsupported("GELU's tanh approximation")
    return _layer(node, Step(_kind("gelu"), {}))


def lrn(node: OnnxNode, ctx: Context) -> Mapped:
    a = node.attrs
    options = {"size": int(a["size"]), "alpha": _short(a.get("alpha", 1e-4)), "beta": _short(a.get("beta", 0.75)),
               "k": _short(a.get("bias", 1.0))}
    return _layer(node, Step(_kind("lrn"), options))


def _short(value: float) -> float:
    return float(f"{float(value):.6g}")  # float32 attributes printed as written


def identity(node: OnnxNode, ctx: Context) -> Mapped:
    return _plumbing(node)


# The one table. A kind that lands in cnncalc.layers lands here with one line.
OPS: dict[str, Callable[[OnnxNode, Context], Mapped | list[Mapped]]] = {
    "Conv": conv,
    "ConvTranspose": conv_transpose,
    "Resize": resize,
    "MaxPool": _pool("maxpool"),
    "AveragePool": _pool("avgpool"),
    "GlobalAveragePool": _simple("globalavgpool"),
    "GlobalMaxPool": _simple("globalmaxpool"),
    "ReduceMean": reduce_mean,
    "Flatten": flatten,
    "Reshape": reshape,
    "Gemm": gemm,
    "MatMul": matmul,
    "Add": add,
    "Sum": add,
    "Concat": concat,
    "Mul": mul,
    "BatchNormalization": batchnorm,
    "LRN": lrn,
    "Relu": _simple("relu"),
    "LeakyRelu": _simple("leaky_relu", lambda n: {"slope": _short(n.attrs.get("alpha", 0.01))}),
    "Sigmoid": _simple("sigmoid"),
    "Tanh": _simple("tanh"),
    "Softmax": softmax,
    "Gelu": gelu,
    "Clip": clip,
    "HardSwish": _simple("hardswish"),
    "HardSigmoid": hard_sigmoid,
    "Elu": _simple("elu", lambda n: {"alpha": _short(n.attrs.get("alpha", 1.0))}),
    "PRelu": prelu,
    "Mish": _simple("mish"),
    "LayerNormalization": layer_norm,
    "Transpose": transpose,
    "Split": split,
    "SplitToSequence": split_to_sequence,
    "SequenceAt": sequence_at,
    "Slice": slice_,
    "Pad": pad,
    "Dropout": dropout,
    "Identity": identity,
}
