"""`cnncalc import model.onnx`: an ONNX file as a readable cnncalc network (YAML text), its weights
named by layer path, and the shapes the file declares for a cross-check against the engine.

reader (fold, infer) ──▶ OPS table (one mapping per operator) ──▶ structure (residual, concat)
        ──▶ names (from the exporter's node names) ──▶ YAML text ──▶ the ordinary builder.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import CnnError, Where
from ..graph import iter_layers
from ..quoting import cut
from .onnx_ops import OPS, Context, Mapped, Unsupported
from .onnx_reader import OnnxModel, OnnxNode, module_scope, read_onnx
from .onnx_structure import Item, LayerItem, MergeItem, Structure, check_merge

# How many unsupported operators the error line names (the rest are counted).
LISTED = 6


@dataclass(frozen=True)
class Mismatch:
    layer: str
    engine: tuple[int, ...]
    onnx: tuple[int | None, ...]


@dataclass
class Coverage:
    """What became of the file's nodes."""

    nodes: int  # in the file
    mapped: int  # nodes that became layers or merges (a fused pair counts both)
    plumbing: int  # Identity, Flatten of a vector, single-input Concat, Dropout-free reshapes…
    folded: int  # constants and shape arithmetic evaluated at import
    ops: Counter = field(default_factory=Counter)  # operator → count in the file


@dataclass
class Imported:
    yaml_text: str
    weights: dict[str, np.ndarray]  # "layer.path.array" → array, as `cnncalc forward --weights` reads them
    expected: dict[str, tuple[int | None, ...]]  # layer path → the file's shape for it (no batch)
    notes: list[str]
    coverage: Coverage
    source: str
    input_shape: tuple[int, int, int]

    def mismatches(self, analysis) -> list[Mismatch]:
        """Layers whose engine shape differs from the one onnx.shape_inference gives (None: unknown)."""
        out = []
        for record in analysis.layers:
            want = self.expected.get(record.name)
            if want is None or None in want:
                continue
            if tuple(record.output) != tuple(want):
                out.append(Mismatch(record.name, tuple(record.output), want))
        return out


def import_onnx(path: str | Path) -> Imported:
    model = read_onnx(path)
    where = Where(cut(str(path), 100))
    ctx = Context(model)
    mapped: list[Mapped] = []
    unsupported: dict[str, list] = {}
    for node in reversed(model.nodes):
        if id(node) in ctx.absorbed:
            continue
        handler = OPS.get(node.op)
        try:
            if handler is None:
                raise Unsupported("no cnncalc layer kind or construct does this")
            result = handler(node, ctx)
            mapped.extend(reversed(result) if isinstance(result, list) else [result])
        except Unsupported as exc:
            entry = unsupported.setdefault(node.op, [0, node, str(exc)])
            entry[0] += 1
            entry[1:] = [node, str(exc)]  # mapped last to first: the last one seen is the file's first
    if unsupported:
        raise CnnError(_unsupported_line(unsupported), where)
    mapped.reverse()

    def fail(message: str, node: OnnxNode | None) -> CnnError:
        return CnnError(message, where, node.index_name if node else None)

    structure = Structure(model, mapped, fail)
    tree = structure.tree()
    names = _names([m for m in mapped if m.steps])
    emitter = _Emitter(names, fail)
    lines = emitter.sequence(tree, "", 1)
    notes = _notes(model, mapped, structure)
    used = {id(m) for m in mapped if id(m) in structure.used}
    dead = [m for m in mapped if (m.steps or m.merge) and id(m) not in used]
    if dead:
        notes.append(f"{len(dead)} node(s) do not lead to the output and were left out (first: "
                     f"{cut(dead[0].node.index_name, 60)})")
    text = _document(model, lines)
    weights, expected = _finish(text, str(path), emitter.order, model, ctx.layout)
    coverage = Coverage(model.file_nodes, sum(1 + len(m.absorbed) for m in mapped if m.steps or m.merge),
                        sum(1 for m in mapped if not m.steps and m.merge is None), model.folded,
                        Counter(n.op for n in model.nodes))
    return Imported(text, weights, expected, notes, coverage, str(path), model.input_shape)


def _unsupported_line(unsupported: dict[str, list]) -> str:
    total = sum(c for c, _n, _r in unsupported.values())
    ranked = sorted(unsupported.items(), key=lambda kv: -kv[1][0])
    parts = [f"{op} ×{count} (first: {cut(node.index_name, 50)}: {reason})"
             for op, (count, node, reason) in ranked[:LISTED]]
    more = f"; and {len(ranked) - LISTED} more operator types" if len(ranked) > LISTED else ""
    return (f"cannot map {total} node(s) of {len(unsupported)} operator type(s) to cnncalc layers, so nothing "
            f"was counted: {'; '.join(parts)}{more}")


# -- names ---------------------------------------------------------------------------------------
_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")


def _clean(name: str) -> str:
    name = _BAD.sub("_", name).strip("._")
    return re.sub(r"\.{2,}", ".", name)


def _module_of(m: Mapped) -> tuple[str, str]:
    """The layer's module path and its operation label: the weight's initializer name when the
    exporter kept it (`layer1.0.conv1.weight`), else the node's scope."""
    for t in m.node.inputs[1:2]:
        if t.endswith(".weight") and not t.startswith("onnx::"):
            return _clean(t[: -len(".weight")]), ""
    scope, label = module_scope(m.node)
    return _clean(scope), _clean(label).lower()


def _names(layers: list[Mapped]) -> dict[int, list[str]]:
    """Per mapped node, one name per step. A module with one layer and nothing under it gives its
    path (`layer1.0.conv1`); otherwise the path plus the operation (`layer1.0.add`)."""
    modules = {id(m): _module_of(m) for m in layers}
    count = Counter(mod for mod, _ in modules.values())
    paths = [mod for mod, _ in modules.values()]
    nested = {p for p in paths for q in paths if p and q.startswith(p + ".")}
    taken: set[str] = set()
    out: dict[int, list[str]] = {}
    for m in layers:
        mod, label = modules[id(m)]
        if mod and mod not in nested and (count[mod] == 1 or "namespace" in m.node.meta):
            base = mod  # a module called twice (dynamo: one ReLU reused) gets `_2` from _unique
        else:
            label = label or m.steps[0].kind
            base = f"{mod}.{label}" if mod else label
        base = _unique(base or m.steps[0].kind, taken)
        step_names = [base]
        for step in m.steps[1:]:
            step_names.append(_unique(f"{base}_{step.kind}", taken))
        out[id(m)] = step_names
    return out


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def _common(names: list[str], whole_ok: bool = False) -> str:
    """The leading dotted segments all names share (at most all but the last of each)."""
    if not names:
        return ""
    split = [n.split(".") for n in names]
    limit = min(len(s) - (0 if whole_ok else 1) for s in split)
    common = []
    for i in range(limit):
        seg = {s[i] for s in split}
        if len(seg) != 1:
            break
        common.append(split[0][i])
    return ".".join(common)


def _relative(name: str, prefix: str) -> str:
    """The name to write inside scope `prefix`, so that the builder's full path is the name again
    where it can be (a layer named like its scope keeps its last segment: `inc.branch1.branch1`)."""
    if prefix and name.startswith(prefix + "."):
        return name[len(prefix) + 1:]
    if prefix and name == prefix:
        return name.rsplit(".", 1)[-1]
    return name


# -- YAML ----------------------------------------------------------------------------------------
def _flow(value: Any) -> str:
    """One value in YAML's flow style, on one line (a scalar without the document end marker)."""
    text = yaml.safe_dump([value], default_flow_style=True, width=10**6, sort_keys=False).strip()
    return text[1:-1]


class _Emitter:
    """The YAML lines of the tree, and the order in which graph.iter_layers will list its layers
    (each entry: the step's kind, the ONNX tensor to cross-check or None, the arrays)."""

    def __init__(self, names: dict[int, list[str]], fail):
        self.names = names
        self.fail = fail
        self.order: list[tuple[str, str | None, dict]] = []
        self.scopes: set[str] = set()

    def all_names(self, items: list[Item]) -> list[str]:
        out = []
        for item in items:
            if isinstance(item, LayerItem):
                out.extend(self.names[id(item.mapped)])
            else:
                for branch in item.branches:
                    out.extend(self.all_names(branch))
        return out

    def sequence(self, items: list[Item], prefix: str, depth: int) -> list[str]:
        lines: list[str] = []
        pad = "  " * (depth - 1)
        for item in items:
            if isinstance(item, LayerItem):
                m = item.mapped
                for i, (step, name) in enumerate(zip(m.steps, self.names[id(m)])):
                    options = {"name": _relative(name, prefix), **step.options}
                    lines.append(f"{pad}- {step.kind}: {_flow(options)}")
                    last = i == len(m.steps) - 1
                    self.order.append((step.kind, m.output if last else None, step.arrays))
            else:
                lines.extend(self.merge(item, prefix, depth))
        return lines

    def _scope(self, items: list[Item], prefix: str) -> str:
        """A name for a residual or concat: the module path all its layers share, when unused."""
        inner = [_relative(n, prefix) for n in self.all_names(items)]
        common = _common([n for n in inner])
        full = f"{prefix}.{common}" if prefix and common else common
        if not common or full in self.scopes or full in {n for v in self.names.values() for n in v}:
            return ""
        self.scopes.add(full)
        return common

    def merge(self, item: MergeItem, prefix: str, depth: int) -> list[str]:
        check_merge(item, self.fail)
        pad = "  " * (depth - 1)
        kind = item.mapped.merge
        if kind == "concat":
            named = self._branch_names(item.branches, prefix)
            if all(derived and branch for _n, derived, branch in named):
                return self.transparent_concat(item, named, prefix, depth)
        inner_items = [x for branch in item.branches for x in branch]
        name = self._scope(inner_items, prefix)
        inner = f"{prefix}.{name}" if prefix and name else (name or prefix)
        lines = [f"{pad}- {'residual' if kind == 'add' else kind}:"]
        if name:
            lines.append(f"{pad}    name: {_flow(name)}")
        if kind == "gate":
            x, gate = sorted(item.branches, key=len)  # the input's own path is empty
            if x or not gate:
                raise self.fail("multiplies two computed paths; a gate multiplies its input by what it computes from "
                                "it (squeeze-and-excitation)", item.mapped.node)
            lines.append(f"{pad}    layers:")
            lines += self.sequence(gate, inner, depth + 2)  # an unnamed gate is transparent too
            self.order.append(("multiply", item.mapped.output, {}))
            return lines
        if kind == "add":
            body, shortcut = sorted(item.branches, key=len, reverse=True)
            if not body:
                raise self.fail("adds a tensor to itself (x + x): a residual needs a body", item.mapped.node)
            # An unnamed residual is transparent: its body lives in the enclosing scope.
            lines.append(f"{pad}    body:")
            lines += self.sequence(body, inner, depth + 2)
            if shortcut:
                lines.append(f"{pad}    shortcut:")
                # The builder puts a shortcut's layers under `<scope>.shortcut`: a file exported by
                # cnncalc already has that part in its names.
                under = f"{inner}.shortcut" if inner else "shortcut"
                ours = all(n.startswith(under + ".") for n in self.all_names(shortcut))
                named = "" if ours else _common([_relative(n, inner) for n in self.all_names(shortcut)])
                if named and named != "shortcut":  # RegNet's `proj`: `shortcut_name` keeps it as written
                    lines.insert(-1, f"{pad}    shortcut_name: {_flow(named)}")
                    under, ours = (f"{inner}.{named}" if inner else named), True
                lines += self.sequence(shortcut, under if ours else inner, depth + 2)
            self.order.append(("add", item.mapped.output, {}))
            return lines
        lines.append(f"{pad}    branches:")
        for bname, derived, branch in self._branch_names(item.branches, inner):
            if not branch:
                lines.append(f"{pad}      {_flow(bname)}: null")
                continue
            lines.append(f"{pad}      {_flow(bname)}:")
            scope = (f"{inner}.{bname}" if inner else bname) if derived else inner
            lines += self.sequence(branch, scope, depth + 3)
        self.order.append((kind, item.mapped.output, {}))
        return lines

    def transparent_concat(self, item: MergeItem, named, prefix: str, depth: int) -> list[str]:
        """Every branch named by its layers' common path: `transparent: true` keeps them in the
        enclosing scope, so the layers keep the exporter's names (`inc.branch2.0`)."""
        pad = "  " * (depth - 1)
        lines = [f"{pad}- concat:", f"{pad}    transparent: true", f"{pad}    branches:"]
        for bname, _derived, branch in named:
            lines.append(f"{pad}      {_flow(bname)}:")
            lines += self.sequence(branch, f"{prefix}.{bname}" if prefix else bname, depth + 3)
        self.order.append(("concat", item.mapped.output, {}))
        return lines

    def _branch_names(self, branches: list[list[Item]], inner: str) -> list[tuple[str, bool, list[Item]]]:
        """(name, taken from the layers' names?, branch): the module path a branch's layers share
        (`branch2` in `inc.branch2.0`, `inc.branch2.1`), else `branchN`."""
        named = []
        for i, branch in enumerate(branches):
            # A channel split's slice at the top of a branch is named after the split, not the branch.
            own = branch[1:] if len(branch) > 1 and _is_slice(branch[0]) else branch
            common = _common([_relative(n, inner) for n in self.all_names(own)]) if branch else ""
            named.append((common or f"branch{i + 1}", bool(common), branch))
        if len({n for n, _d, _b in named}) != len(named):
            named = [(f"branch{i + 1}", False, b) for i, (_n, _d, b) in enumerate(named)]
        return named


def _is_slice(item: Item) -> bool:
    return isinstance(item, LayerItem) and [s.kind for s in item.mapped.steps] == ["slice"]


def _document(model: OnnxModel, lines: list[str]) -> str:
    stem = Path(model.source).stem or "model"
    producer = f", {model.producer_name}" if model.producer_name else ""
    head = {"name": _clean(stem) or "model",
            "description": f"imported from {Path(model.source).name} (ONNX opset {model.opset}{producer})",
            "input": list(model.input_shape)}
    out = [f"{k}: {_flow(v)}" for k, v in head.items()]
    return "\n".join([*out, "layers:", *lines]) + "\n"


def _finish(text: str, source: str, order, model: OnnxModel, layout: dict[str, str]):
    """Build the text with cnncalc's own builder, then read each layer's final path from the graph
    (iter_layers lists layers in the order the emitter wrote them)."""
    from ..builder import build_graph
    from ..yaml_source import load_yaml_text

    graph = build_graph(load_yaml_text(text, source), source, None)
    layers = list(iter_layers(graph.nodes))
    if len(layers) != len(order):
        raise CnnError(f"importer error: {len(order)} layers written, {len(layers)} built", Where(source))
    weights, expected = {}, {}
    for layer, (kind, tensor, arrays) in zip(layers, order):
        if layer.kind != kind:
            raise CnnError(f"importer error: {layer.name} is {layer.kind}, expected {kind}", Where(source))
        for array, value in arrays.items():
            weights[f"{layer.name}.{array}"] = value
        if tensor is not None and tensor in model.shapes:
            shape = tuple(model.shapes[tensor][1:])
            if tensor in layout and len(shape) == 3:
                shape = (shape[2], shape[0], shape[1])  # channels-last (H, W, C) as cnncalc's (C, H, W)
            expected[layer.name] = shape
    return weights, expected


def _notes(model: OnnxModel, mapped: list[Mapped], structure: Structure) -> list[str]:
    notes = []
    fused = [m for m in mapped if "FuseBatchNormIntoConv" in m.node.meta.get("pkg.onnxscript.rewriter.rule_name", "")]
    if fused:
        notes.append(f"batch norm was folded into {len(fused)} conv(s) by the exporter (the file records "
                     "FuseBatchNormIntoConv): each folded batch norm of C channels counts C fewer params and 2·C "
                     "fewer non-trainable values; export with optimize=False (dynamo) to keep it")
    renamed = [m for m in mapped if m.node.op == "Conv" and len(m.node.inputs) > 1
               and m.node.inputs[1].startswith("onnx::Conv_")]
    if renamed and not fused:
        notes.append(f"{len(renamed)} conv(s) have weights renamed by constant folding (onnx::Conv_…), as when "
                     "torch.onnx.export folds batch norm into them: then each such batch norm of C channels counts C "
                     "fewer params and 2·C fewer non-trainable values; export with "
                     "training=torch.onnx.TrainingMode.PRESERVE or do_constant_folding=False to keep it")
    if structure.reassociated:
        notes.append(f"{structure.reassociated} concatenation(s) of earlier maps re-associated as "
                     "cat(cat(x0, f1), f2) (DenseNet)")
    if structure.unfused:
        notes.append(f"{structure.unfused} concatenation(s) nested in another, which the exporter had fused into "
                     "one Concat, written as nested again (Inception-v3's 1×3 and 3×1 branches)")
    return notes
