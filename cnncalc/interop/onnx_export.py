"""`cnncalc export FILE --to onnx`: a cnncalc network as an ONNX model whose initializers are named
`<layer path>.<array>` and whose nodes are named `/<layer path>/<Op>` (the TorchScript exporter's
form, so `cnncalc import` gives the names back).

One walk (graph.walk) emits the nodes; `EXPORT` maps each layer kind to the nodes that compute it,
in ONNX's own semantics (pads [top, left, bottom, right], explicit strides, count_include_pad).
A kind without an entry is refused with a message naming it: LeNet-5's trainable subsampling, RBF
output and connection table have no ONNX operator, and cnncalc does not export them (say so rather
than write a model that computes something else)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import CnnError
from ..graph import Graph, walk
from ..layers import Layer
from ..shapes import Shape
from . import require_onnx

OPSET = 17


@dataclass
class _Builder:
    onnx: Any
    weights: dict[str, np.ndarray]
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def node(self, op: str, inputs: list[str], layer: str, **attrs) -> str:
        name = f"/{layer}/{op}"
        n = 1
        while name in self.names:
            n += 1
            name = f"/{layer}/{op}_{n}"
        self.names.add(name)
        out = f"{name}_output_0"
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(np.array(value, order="C"), name))
        return name

    def array(self, layer: Layer, key: str) -> str:
        full = f"{layer.name}.{key}"
        return self.const(full, self.weights[full].astype(np.float32))


def _pads(layer: Layer, in_shape: Shape, out) -> list[int]:
    """cnncalc's resolved padding (padding: same included) as ONNX's [top, left, bottom, right]."""
    h, w = out.axes
    return [h.pad_lo, w.pad_lo, h.pad_hi, w.pad_hi]


def _conv(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    if getattr(layer, "table", None) is not None:
        raise CnnError("a connection table (LeNet-5's C3) has no ONNX operator; cnncalc does not export it "
                       "(a masked full conv would count the masked weights as parameters)", layer.where, layer.name)
    inputs = [x, b.array(layer, "weight")] + ([b.array(layer, "bias")] if layer.bias else [])
    return b.node("Conv", inputs, layer.name, kernel_shape=list(layer.kernel), strides=list(layer.stride),
                  pads=_pads(layer, in_shape, out), dilations=list(layer.dilation), group=layer.groups)


def _pool(op: str) -> Callable:
    def pool(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
        attrs: dict[str, Any] = {"kernel_shape": list(layer.kernel), "strides": list(layer.stride),
                                 "pads": _pads(layer, in_shape, out), "ceil_mode": int(layer.ceil_mode)}
        if op == "AveragePool":
            attrs["count_include_pad"] = int(layer.count_include_pad)
        return b.node(op, [x], layer.name, **attrs)
    return pool


def _dense(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    inputs = [x, b.array(layer, "weight")] + ([b.array(layer, "bias")] if layer.bias else [])
    return b.node("Gemm", inputs, layer.name, transB=1)


def _batchnorm(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    inputs = [x] + [b.array(layer, k) for k in ("weight", "bias", "running_mean", "running_var")]
    return b.node("BatchNormalization", inputs, layer.name, epsilon=float(layer.eps))


def _adaptive(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    (_c, h, w), (_c2, oh, ow) = in_shape, out.shape
    if h % oh or w % ow:
        raise CnnError(f"adaptive pooling from {h}×{w} to {oh}×{ow} has windows of different sizes, which no ONNX "
                       "pooling operator expresses", layer.where, layer.name)
    k = [h // oh, w // ow]
    return b.node("AveragePool", [x], layer.name, kernel_shape=k, strides=k)


def _simple(op: str, **fixed) -> Callable:
    def simple(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
        return b.node(op, [x], layer.name, **fixed)
    return simple


def _with(op: str, **attrs_of: Callable[[Any], Any]) -> Callable:
    def build(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
        return b.node(op, [x], layer.name, **{k: f(layer) for k, f in attrs_of.items()})
    return build


def _f32(*values) -> np.ndarray:
    return np.array(values if len(values) != 1 else values[0], dtype=np.float32)


def _i64(values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _clip(lo: Callable, hi: Callable) -> Callable:
    def clip(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
        return b.node("Clip", [x, b.const(f"{layer.name}.min", _f32(lo(layer))),
                               b.const(f"{layer.name}.max", _f32(hi(layer)))], layer.name)
    return clip


def _silu(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    return b.node("Mul", [x, b.node("Sigmoid", [x], layer.name)], layer.name)


def _mish(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    return b.node("Mul", [x, b.node("Tanh", [b.node("Softplus", [x], layer.name)], layer.name)], layer.name)


def _gelu(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    """Exact GELU at opset 17, as the TorchScript exporter writes it: x · ½ · (1 + erf(x / √2))."""
    n = layer.name
    erf = b.node("Erf", [b.node("Div", [x, b.const(f"{n}.sqrt2", _f32(np.sqrt(2.0)))], n)], n)
    plus = b.node("Add", [erf, b.const(f"{n}.one", _f32(1.0))], n)
    return b.node("Mul", [b.node("Mul", [x, plus], n), b.const(f"{n}.half", _f32(0.5))], n)


def _prelu(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    slope = b.weights[f"{layer.name}.weight"].astype(np.float32)
    if len(in_shape) == 3 and slope.size > 1:
        slope = slope.reshape(-1, 1, 1)  # one per channel of an (N, C, H, W) map
    return b.node("PRelu", [x, b.const(f"{layer.name}.weight", slope)], layer.name)


def _channels_last(b: _Builder, layer, x: str, in_shape: Shape, inner: Callable[[str], str]) -> str:
    """ConvNeXt's permute → op on the channels → permute back, on a map; the op alone on a vector."""
    if len(in_shape) != 3:
        return inner(x)
    y = inner(b.node("Transpose", [x], layer.name, perm=[0, 2, 3, 1]))
    return b.node("Transpose", [y], layer.name, perm=[0, 3, 1, 2])


def _layernorm(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    return _channels_last(b, layer, x, in_shape, lambda t: b.node(
        "LayerNormalization", [t, b.array(layer, "weight"), b.array(layer, "bias")], layer.name, axis=-1,
        epsilon=float(layer.eps)))


def _dense_any(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    if not layer.per_position:
        return _dense(b, layer, x, in_shape, out)

    def linear(t: str) -> str:
        w = b.const(f"{layer.name}.weight", np.ascontiguousarray(b.weights[f"{layer.name}.weight"].T
                                                                 .astype(np.float32)))
        y = b.node("MatMul", [t, w], layer.name)
        return b.node("Add", [y, b.array(layer, "bias")], layer.name) if layer.bias else y
    return _channels_last(b, layer, x, in_shape, linear)


def _pad(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    t, bottom, left, r = layer.sides
    return b.node("Pad", [x, b.const(f"{layer.name}.pads", _i64([0, 0, t, left, 0, 0, bottom, r]))], layer.name)


def _slice_axes(b: _Builder, layer, x: str, starts, ends, axes) -> str:
    n = layer.name
    return b.node("Slice", [x, b.const(f"{n}.starts", _i64(starts)), b.const(f"{n}.ends", _i64(ends)),
                            b.const(f"{n}.axes", _i64(axes))], n)


def _crop(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    _c, h, w = in_shape
    t, bottom, left, r = layer.removed(h, w)
    return _slice_axes(b, layer, x, [t, left], [h - bottom, w - r], [2, 3])


def _slice(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    start, stop = layer.bounds(in_shape[0])
    return _slice_axes(b, layer, x, [start], [stop], [1])


def _shuffle(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    c, h, w = in_shape
    n = layer.name
    rows = b.node("Reshape", [x, b.const(f"{n}.rows", _i64([-1, layer.groups, c // layer.groups, h, w]))], n)
    dealt = b.node("Transpose", [rows], n, perm=[0, 2, 1, 3, 4])
    return b.node("Reshape", [dealt, b.const(f"{n}.back", _i64([-1, c, h, w]))], n)


def _layer_scale(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    return b.node("Mul", [x, b.array(layer, "weight")], layer.name)


def _conv_transpose(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    inputs = [x, b.array(layer, "weight")] + ([b.array(layer, "bias")] if layer.bias else [])
    ph, pw = layer.padding
    return b.node("ConvTranspose", inputs, layer.name, kernel_shape=list(layer.kernel), strides=list(layer.stride),
                  pads=[ph, pw, ph, pw], output_padding=list(layer.output_padding), dilations=list(layer.dilation),
                  group=layer.groups)


def _upsample(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
    """PyTorch's nn.Upsample as its exporter writes it (nearest: asymmetric, floor)."""
    n = layer.name
    if layer.mode == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    else:
        attrs = {"mode": "linear",
                 "coordinate_transformation_mode": "align_corners" if layer.corners else "pytorch_half_pixel"}
    if layer.scale is not None:
        scales = b.const(f"{n}.scales", _f32(1.0, 1.0, *map(float, layer.scale)))
        return b.node("Resize", [x, "", scales], n, **attrs)
    sizes = b.const(f"{n}.sizes", _i64([1, in_shape[0], *out.shape[1:]]))
    return b.node("Resize", [x, "", "", sizes], n, **attrs)


def _unsupported(why: str) -> Callable:
    def refuse(b: _Builder, layer, x: str, in_shape: Shape, out) -> str:
        raise CnnError(f"{layer.kind}: {why}; cnncalc does not export it", layer.where, layer.name)
    return refuse


# The one table of the exporter: layer kind → the ONNX nodes that compute it.
EXPORT: dict[str, Callable] = {
    "conv": _conv,
    "convtranspose": _conv_transpose,
    "upsample": _upsample,
    "maxpool": _pool("MaxPool"),
    "avgpool": _pool("AveragePool"),
    "globalavgpool": _simple("GlobalAveragePool"),
    "globalmaxpool": _simple("GlobalMaxPool"),
    "adaptiveavgpool": _adaptive,
    "dense": _dense_any,
    "flatten": _simple("Flatten", axis=1),
    "batchnorm": _batchnorm,
    "lrn": _with("LRN", size=lambda L: int(L.size), alpha=lambda L: float(L.alpha), beta=lambda L: float(L.beta),
                 bias=lambda L: float(L.k)),
    "dropout": lambda b, layer, x, in_shape, out: b.node(
        "Dropout", [x, b.const(f"{layer.name}.ratio", np.array(layer.p, dtype=np.float32))], layer.name),
    "identity": _simple("Identity"),
    "relu": _simple("Relu"),
    "leaky_relu": _with("LeakyRelu", alpha=lambda L: float(L.slope)),
    "sigmoid": _simple("Sigmoid"),
    "tanh": _simple("Tanh"),
    "softmax": _simple("Softmax", axis=1),
    "gelu": _gelu,
    "relu6": _clip(lambda L: 0.0, lambda L: 6.0),
    "hardtanh": _clip(lambda L: L.min, lambda L: L.max),
    "hardsigmoid": _simple("HardSigmoid", alpha=1 / 6, beta=0.5),
    "hardswish": _simple("HardSwish"),
    "silu": _silu,
    "mish": _mish,
    "elu": _with("Elu", alpha=lambda L: float(L.alpha)),
    "prelu": _prelu,
    "layernorm": _layernorm,
    "layer_scale": _layer_scale,
    "stochastic_depth": _simple("Identity"),  # inference
    "pad": _pad,
    "crop": _crop,
    "slice": _slice,
    "shuffle": _shuffle,
    "subsample": _unsupported("LeNet-5's trainable subsampling (window sum × coefficient + bias) has no ONNX "
                              "operator"),
    "rbf": _unsupported("LeNet-5's Euclidean RBF output has no ONNX operator"),
}


class _Emit:
    """graph.Visitor over (tensor name, shape)."""

    def __init__(self, builder: _Builder):
        self.b = builder

    def shape(self, x):
        return x[1]

    def layer(self, layer: Layer, x, source):
        name, in_shape = x
        out = layer.output(in_shape)
        export = EXPORT.get(layer.kind)
        if export is None:
            raise CnnError(f"the layer kind {layer.kind} has no ONNX export yet", layer.where, layer.name)
        return export(self.b, layer, name, in_shape, out), out.shape

    def merge(self, layer: Layer, xs, source):
        names = [n for n, _s in xs]
        if layer.kind == "concat":
            shape = (sum(s[0] for _n, s in xs), *xs[0][1][1:])
            return self.b.node("Concat", names, layer.name, axis=1), shape
        if layer.kind == "multiply":
            return self.b.node("Mul", names, layer.name), xs[0][1]  # a gate: input × its gate
        return self.b.node("Add", names, layer.name), xs[0][1]


def export_onnx(graph: Graph, weights: dict[str, np.ndarray]):
    """The ONNX ModelProto of `graph` with these weights (every layer's arrays, by path)."""
    onnx = require_onnx()
    builder = _Builder(onnx, weights)
    out, out_shape = walk(graph.nodes, ("input", tuple(graph.input_shape)), _Emit(builder))
    out = builder.node("Identity", [out], "output")
    tensor = onnx.TensorProto.FLOAT
    graph_proto = onnx.helper.make_graph(
        builder.nodes, graph.name,
        [onnx.helper.make_tensor_value_info("input", tensor, ["N", *graph.input_shape])],
        [onnx.helper.make_tensor_value_info(out, tensor, ["N", *out_shape])],
        builder.initializers)
    model = onnx.helper.make_model(graph_proto, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   producer_name="cnncalc")
    model.ir_version = 8  # onnxruntime 1.x reads IR 8 with opset 17
    onnx.checker.check_model(model, full_check=True)
    return model


class _Weights:
    """graph.Visitor over shapes: each layer's arrays from `supplied`, else drawn as `cnncalc forward
    --seed` draws them (the same generator, after the same random input)."""

    def __init__(self, supplied: dict[str, np.ndarray] | None, rng):
        self.supplied, self.rng, self.out = supplied, rng, {}

    def shape(self, x):
        return x

    def layer(self, layer: Layer, x, source):
        from ..forward import _given, init_weights
        arrays = _given(layer, x, self.supplied, np.float32)
        if arrays is None and layer.weight_shapes(x):
            arrays = init_weights(layer, x, self.rng, np.float32)
        for key, value in (arrays or {}).items():
            self.out[f"{layer.name}.{key}"] = value
        return layer.output(x).shape

    def merge(self, layer: Layer, xs, source):
        if layer.kind == "concat":
            return (sum(s[0] for s in xs), *xs[0][1:])
        return xs[0]


def graph_weights(graph: Graph, supplied: dict[str, np.ndarray] | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Every layer's arrays (float32), by path: from `supplied` (a --weights file) where it names
    them, else seeded as `cnncalc forward --seed SEED` (batch 1, random input) draws them."""
    from ..forward import check_weights_file
    from ..analysis import analyse
    if supplied is not None:
        check_weights_file(graph, analyse(graph), {k: np.shape(v) for k, v in supplied.items()}, False, "--weights")
    rng = np.random.default_rng(seed)
    if graph.input_data is None:
        rng.standard_normal((1, *graph.input_shape))  # forward draws its input first
    visitor = _Weights(supplied, rng)
    walk(graph.nodes, tuple(graph.input_shape), visitor)
    return visitor.out
