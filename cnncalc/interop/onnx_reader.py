"""An ONNX file read into plain Python: its nodes, its constant tensors (NumPy), the shapes
`onnx.shape_inference` gives every tensor, and the names the exporter left in the node names.

What the exporters do to a model is undone here, before any operator is mapped:
- constant shape arithmetic is folded (`chunk()` exports as Shape → Gather → Div → Slice chains
  whose values shape inference leaves unknown), repeating inference until nothing more folds;
- `Identity` nodes that alias a de-duplicated initializer become that constant, so each consuming
  layer counts its own copy;
- initializers are read without a second copy where the file stores them raw, and shape inference
  runs on a skeleton of the graph without the large tensors (memory stays near the file's size).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CnnError, Where
from ..quoting import cut
from . import require_onnx

# The opsets the importer is tested on (torch 2.13's exporters write 17, 18 and 20).
OPSETS = range(13, 22)
# Constants this small stay in the skeleton given to shape inference (a Reshape's target shape);
# larger ones (weights) are replaced by typed inputs.
SMALL = 64


@dataclass
class OnnxNode:
    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]
    meta: dict[str, str] = field(default_factory=dict)
    proto: Any = field(default=None, repr=False)  # the file's node, given to shape inference as it is

    @property
    def index_name(self) -> str:
        return self.name or f"{self.op} → {self.outputs[0] if self.outputs else '?'}"


@dataclass
class OnnxModel:
    source: str
    opset: int
    input_name: str
    input_shape: tuple[int, int, int]
    output_name: str
    nodes: list[OnnxNode]  # the nodes left after folding, in the file's (topological) order
    constants: dict[str, np.ndarray]
    shapes: dict[str, tuple[int | None, ...]]  # every tensor shape inference knows, batch included
    producer_name: str = ""
    folded: int = 0  # nodes folded away as constant arithmetic
    computed: set[str] = field(default_factory=set)  # constants made by folding, not stored in the file
    file_nodes: int = 0  # nodes in the file


# Operators evaluated when all their inputs are constant: shape arithmetic and plumbing only.
def _slice(data, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * data.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a)] = slice(int(s), int(e), int(st))
    return data[tuple(index)]


def _gather(data, indices, axis=0):
    return np.take(data, indices, axis=axis)


def _unsqueeze(data, axes=None, *, attr_axes=None):
    axes = list(attr_axes if axes is None else axes)
    out = data
    for a in sorted(int(a) % (data.ndim + len(axes)) for a in axes):
        out = np.expand_dims(out, a)
    return out


def _squeeze(data, axes=None, *, attr_axes=None):
    axes = attr_axes if axes is None else axes
    return np.squeeze(data, axis=None if axes is None else tuple(int(a) for a in axes))


def _div(a, b):
    if np.issubdtype(a.dtype, np.integer):
        return (a // b).astype(a.dtype)  # ONNX integer division truncates; shapes are ≥ 0
    return a / b


FOLD = {
    "Identity": lambda n, x: x,
    "Add": lambda n, a, b: a + b,
    "Sub": lambda n, a, b: a - b,
    "Mul": lambda n, a, b: a * b,
    "Div": lambda n, a, b: _div(a, b),
    "Gather": lambda n, d, i: _gather(d, i, n.attrs.get("axis", 0)),
    "Concat": lambda n, *xs: np.concatenate([np.atleast_1d(x) for x in xs], axis=n.attrs.get("axis", 0)),
    "Unsqueeze": lambda n, d, axes=None: _unsqueeze(d, axes, attr_axes=n.attrs.get("axes")),
    "Squeeze": lambda n, d, axes=None: _squeeze(d, axes, attr_axes=n.attrs.get("axes")),
    "Slice": lambda n, d, s, e, a=None, st=None: _slice(d, s, e, a, st),
    "Cast": lambda n, x: x.astype(_np_dtype(n.attrs["to"])),
    "Reshape": lambda n, x, s: x.reshape([x.shape[i] if v == 0 else int(v) for i, v in enumerate(s)]),
    "Range": lambda n, a, b, d: np.arange(a, b, d),
    "ConstantOfShape": lambda n, s: np.full([int(v) for v in s], _value_of(n.attrs.get("value"))),
    "Equal": lambda n, a, b: a == b,
    "Where": lambda n, c, a, b: np.where(c, a, b),
    "Expand": lambda n, x, s: np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(int(v) for v in s))).copy(),
    "CastLike": lambda n, x, like: x.astype(like.dtype),
    "Transpose": lambda n, x: np.transpose(x, n.attrs.get("perm")),
    "Neg": lambda n, x: -x,
    "Floor": lambda n, x: np.floor(x),
    "Ceil": lambda n, x: np.ceil(x),
    "Sqrt": lambda n, x: np.sqrt(x),
}


def _value_of(tensor) -> Any:
    if tensor is None:
        return 0.0
    return tensor.reshape(-1)[0] if isinstance(tensor, np.ndarray) else tensor


def _np_dtype(onnx_type: int):
    onnx = require_onnx()
    return onnx.helper.tensor_dtype_to_np_dtype(onnx_type)


def _array(tensor) -> np.ndarray:
    """An initializer as NumPy, viewing the file's raw bytes without a second copy when it can."""
    onnx = require_onnx()
    if tensor.raw_data and tensor.data_location != onnx.TensorProto.EXTERNAL:
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
        return np.frombuffer(tensor.raw_data, dtype=dtype).reshape(tuple(tensor.dims))
    return onnx.numpy_helper.to_array(tensor)


def _attrs(node) -> dict[str, Any]:
    onnx = require_onnx()
    out = {}
    for a in node.attribute:
        value = onnx.helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, onnx.TensorProto):
            value = onnx.numpy_helper.to_array(value)
        elif isinstance(value, list):
            value = list(value)
        out[a.name] = value
    return out


def _dims(value_info) -> tuple[int | None, ...] | None:
    t = value_info.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.tensor_type.shape.dim)


def _constant_node_value(node: OnnxNode) -> np.ndarray | None:
    a = node.attrs
    for key, dtype in (("value_float", np.float32), ("value_int", np.int64), ("value_floats", np.float32),
                       ("value_ints", np.int64)):
        if key in a:
            return np.array(a[key], dtype=dtype)
    value = a.get("value")
    return value if isinstance(value, np.ndarray) else None


def read_onnx(path: str | Path) -> OnnxModel:
    onnx = require_onnx()
    where = Where(cut(str(path), 100))
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise CnnError("no such file", where) from None
    except Exception as exc:  # the protobuf parser's own errors: not an ONNX model
        why = cut(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 80)
        raise CnnError(f"not a readable ONNX model ({why}); give a file written by torch.onnx.export or onnx.save",
                       where) from None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or opset not in OPSETS:
        raise CnnError(f"opset {opset} is outside the opsets cnncalc reads ({OPSETS.start} to {OPSETS.stop - 1}); "
                       "convert it with onnx.version_converter.convert_version(model, 17)", where)
    graph = model.graph
    constants: dict[str, np.ndarray] = {init.name: _array(init) for init in graph.initializer}
    nodes = []
    for n in graph.node:
        node = OnnxNode(n.op_type, n.name, list(n.input), list(n.output), _attrs(n),
                        {p.key: p.value for p in n.metadata_props}, n)
        if n.domain not in ("", "ai.onnx"):
            node.op = f"{n.domain}.{n.op_type}"
        nodes.append(node)
    inputs = [v for v in graph.input if v.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise CnnError(f"the graph has {len(inputs)} input(s) and {len(graph.output)} output(s); cnncalc reads "
                       "networks with one image input and one output", where)
    dims = _dims(inputs[0])
    if dims is None or len(dims) != 4 or any(d is None or d < 1 for d in dims[1:]):
        shown = "×".join("?" if d is None else str(d) for d in (dims or ()))
        raise CnnError(f"the input '{cut(inputs[0].name, 40)}' has shape {shown or 'unknown'}; cnncalc needs "
                       "N×C×H×W with fixed C, H and W (export with a fixed input size)", where)
    result = OnnxModel(str(path), opset, inputs[0].name, tuple(dims[1:]), graph.output[0].name, nodes, constants,
                       {}, model.producer_name, file_nodes=len(nodes))
    _fold(result, model, onnx)
    return result


def _fold(m: OnnxModel, model, onnx) -> None:
    """Fold constants and shape arithmetic, re-running shape inference until nothing changes."""
    m.shapes = {m.input_name: (None, *m.input_shape)}
    for _round in range(64):
        changed = False
        kept = []
        for node in m.nodes:
            value = _try_fold(node, m)
            if value is None:
                kept.append(node)
                continue
            m.constants[node.outputs[0]] = value
            m.computed.add(node.outputs[0])
            m.folded += 1
            changed = True
        m.nodes = kept
        m.shapes = _infer(m, model, onnx)
        if not changed and _round > 0:
            break
        if not changed and not any(n.op == "Shape" for n in m.nodes):
            break


def _try_fold(node: OnnxNode, m: OnnxModel) -> np.ndarray | None:
    if node.op == "Constant":
        return _constant_node_value(node)
    if node.op == "Shape":
        known = m.constants.get(node.inputs[0])
        shape = (None, *known.shape[1:]) if known is not None and known.ndim else m.shapes.get(node.inputs[0])
        if known is not None:
            return np.array(known.shape, dtype=np.int64)[node.attrs.get("start", 0):node.attrs.get("end", known.ndim)]
        if shape is None or any(d is None for d in shape[1:]):
            return None
        full = np.array([1 if d is None else d for d in shape], dtype=np.int64)  # batch: 1 (cnncalc's per sample)
        start, end = node.attrs.get("start", 0), node.attrs.get("end", len(full))
        return full[start:end]
    fold = FOLD.get(node.op)
    if fold is None or len(node.outputs) != 1:
        return None
    args = []
    for name in node.inputs:
        if name == "":
            args.append(None)
        elif name in m.constants:
            args.append(m.constants[name])
        elif node.op == "CastLike" and args:
            args.append(np.zeros((), np.float32))  # only the type counts: feature maps are float32
        else:
            return None
    while args and args[-1] is None:
        args.pop()
    try:
        with np.errstate(all="ignore"):
            return np.asarray(fold(node, *args))
    except Exception:  # an arithmetic the folder does not cover: leave the node to the mapper
        return None


def _infer(m: OnnxModel, model, onnx) -> dict[str, tuple[int | None, ...]]:
    """onnx.shape_inference on a skeleton: the remaining nodes, small constants as initializers,
    large ones as typed inputs (no copy of the weights), and the file's declared shapes."""
    helper = onnx.helper
    used = {name for n in m.nodes for name in n.inputs if name}
    inits, inputs = [], [helper.make_tensor_value_info(m.input_name, onnx.TensorProto.FLOAT,
                                                       ["N", *m.input_shape])]
    for name in used:
        value = m.constants.get(name)
        if value is None:
            continue
        if value.size <= SMALL:
            inits.append(onnx.numpy_helper.from_array(np.array(value, order="C"), name))
        else:
            elem = helper.np_dtype_to_tensor_dtype(value.dtype)
            inputs.append(helper.make_tensor_value_info(name, elem, list(value.shape)))
    nodes = [n.proto for n in m.nodes]
    # The shapes the file declares go in as they are: shape inference keeps a declared shape that
    # disagrees with its own (not strict), so the engine is checked against what the file says.
    declared = [vi for vi in model.graph.value_info if vi.name not in m.constants]
    graph = helper.make_graph(nodes, "skeleton", inputs, list(model.graph.output), inits, value_info=declared)
    skeleton = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    try:
        inferred = onnx.shape_inference.infer_shapes(skeleton, strict_mode=False, data_prop=True)
    except Exception as exc:
        raise CnnError(f"onnx.shape_inference refuses the model: {cut(str(exc).splitlines()[0], 120)}",
                       Where(cut(m.source, 100))) from None
    shapes: dict[str, tuple[int | None, ...]] = {m.input_name: (None, *m.input_shape)}
    for vi in [*inferred.graph.value_info, *inferred.graph.output]:
        dims = _dims(vi)
        if dims is not None:
            shapes[vi.name] = dims
    return shapes


_SEG = re.compile(r"^(?P<name>[^:]*):\s*(?P<cls>.*)$")


def module_scope(node: OnnxNode) -> tuple[str, str]:
    """(the module path, the operation's own label) from the names the exporters leave:
    TorchScript's `/layer1/layer1.0/conv1/Conv` gives (`layer1.0.conv1`, `Conv`); dynamo's
    `namespace` metadata `: Net/layer1: Sequential/layer1.0: Block/layer1.0.relu: ReLU/relu_1: aten.relu`
    gives (`layer1.0.relu`, `relu_1`). Anything else: ("", the node's name)."""
    namespace = node.meta.get("namespace")
    if namespace:
        segments = [_SEG.match(s) for s in namespace.split("/")]
        names = [s.group("name").strip() for s in segments if s]
        if names:
            return _join_scope(names[:-1]), names[-1]
    if node.name.startswith("/"):
        parts = [p for p in node.name.split("/") if p]
        if parts:
            return _join_scope(parts[:-1]), parts[-1]
    return "", node.name or node.op


def _join_scope(parts: list[str]) -> str:
    """`layer1`, `layer1.0`, `conv1` → `layer1.0.conv1`; `inc`, `branch2`, `branch2.1` →
    `inc.branch2.1`: a part that starts with the part before it replaces that part (the exporters
    qualify a container's children with the container's name; dynamo qualifies every part fully)."""
    kept: list[str] = []
    for part in parts:
        if not part:
            continue
        if kept and (part == kept[-1] or part.startswith(kept[-1] + ".")):
            kept[-1] = part
        else:
            kept.append(part)
    path = ""
    for part in kept:  # dynamo's parts are full paths already
        path = part if path and part.startswith(path + ".") else (f"{path}.{part}" if path else part)
    return path
