"""The network's nesting, for pictures: which layers run side by side, which form a block or the
passes of a repeat, and the totals of each such group.

The analysis gives one flat record per layer; a diagram also needs to know which records sit in
parallel lanes (a residual's body beside its shortcut, a concat's branches) and which belong to one
block or one pass of a repeat. This module reads that from the graph and the records' dotted names
(the builder names a repeat's passes `stage.0`, `stage.1`, …), and sums the counts of each group,
so that the renderers in `cnncalc.render` only place and print what it hands them: they never add.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

from .graph import ConcatNode, GateNode, Graph, LayerNode, Node, ResidualNode, iter_layers
from .records import Analysis, LayerRecord


@dataclass(frozen=True)
class Box:
    """One layer, with the shape-keeping, connection-free layers right after it folded in (a conv's
    batch norm and ReLU): `records[0]` is the layer, the rest its followers."""

    records: tuple[LayerRecord, ...]
    params: int  # all records together
    macs: int
    scope: str = ""  # the block this box alone makes up (Inception's `Conv2d_1a_3x3`): its name

    @property
    def record(self) -> LayerRecord:
        return self.records[0]

    @property
    def name(self) -> str:
        return self.scope or self.record.name

    @property
    def output(self) -> tuple[int, ...]:
        return self.records[-1].output


@dataclass(frozen=True)
class Lanes:
    """Paths that run side by side from one tensor and rejoin at `merge` (add, concat, …). An empty
    lane is the identity (a residual's plain shortcut, a DenseNet layer's input passed on)."""

    merge: LayerRecord
    lanes: tuple[tuple["Part", ...], ...]
    lane_scopes: tuple[str, ...]  # the dotted prefix the lane's layers share ("" for an identity)
    params: int
    macs: int
    followers: tuple[LayerRecord, ...] = ()  # folded after the merge (ResNet's ReLU after the add)

    @property
    def output(self) -> tuple[int, ...]:
        return self.followers[-1].output if self.followers else self.merge.output


@dataclass(frozen=True)
class Frame:
    """A named group of parts: a block call, or the passes of a repeat. `passes` is how many passes
    of a repeat `parts` stands for (1 for a block, or a repeat drawn in full); the counts are those
    of every pass together."""

    name: str
    parts: tuple["Part", ...]
    passes: int
    params: int
    macs: int
    layers: int  # records inside, every pass counted
    output: tuple[int, ...]
    pass_names: tuple[str, ...] = ()  # a collapsed repeat: the passes it stands for; `parts` are the first's
    exact: bool = True  # every pass it stands for has the first's shapes and counts (else: the first's shown)
    hidden: tuple[str, ...] = ()  # the records of the passes not drawn (every pass after the first)

    @property
    def first_pass(self) -> str:
        return self.pass_names[0] if self.pass_names else ""

    @property
    def last_pass(self) -> str:
        return self.pass_names[-1] if self.pass_names else ""


Part = Union[Box, Lanes, Frame]


def build_structure(graph: Graph, analysis: Analysis, expand: bool = False, collapse: bool | None = None
                    ) -> tuple[Part, ...]:
    """The top-level parts of the network. `expand=False` draws identical passes of a repeat once
    (a frame with `passes` > 1) and folds shape-keeping followers into the layer before them;
    `expand=True` keeps every pass and every layer. `collapse` overrides the first half alone."""
    records = {r.name: r for r in analysis.layers}
    return tuple(_Builder(records, fold=not expand, collapse=not expand if collapse is None else collapse)
                 .sequence(graph.nodes))


def _node_name(node: Node) -> str:
    if isinstance(node, LayerNode):
        return node.layer.name
    if isinstance(node, (ConcatNode, ResidualNode, GateNode)):
        # A merge named in the enclosing scope (EfficientNet's `add1` around `features.2.1.block`)
        # groups with its layers: `features.2.1.add1`.
        merge = node.merge.name
        scope = common_scope([layer.name for layer in iter_layers([node]) if layer is not node.merge])
        if scope and merge.split(".")[0] != scope.split(".")[0]:
            return f"{scope}.{merge.rsplit('.', 1)[-1]}"
        return merge
    layers = list(iter_layers([node]))  # a construct this module does not know: its last layer names it
    return layers[-1].name if layers else ""


def _scope_of(name: str, prefix: str) -> str | None:
    """The next segment of `name` below `prefix`, or None when `name` sits directly in it."""
    rest = name[len(prefix) + 1:] if prefix else name
    return rest.split(".", 1)[0] if "." in rest else None


def common_scope(names: list[str]) -> str:
    """The longest dotted prefix shared by every name's scope (its name without the last segment)."""
    scopes = [n.split(".")[:-1] for n in names]
    if not scopes:
        return ""
    common = scopes[0]
    for s in scopes[1:]:
        n = 0
        while n < min(len(common), len(s)) and common[n] == s[n]:
            n += 1
        common = common[:n]
    return ".".join(common)


def is_follower(r: LayerRecord) -> bool:
    """Shape-keeping and connection-free: batch norm, activations, dropout, LRN, identity."""
    return r.input == r.output and r.connections == 0 and r.macs == 0 and r.type not in ("add", "concat")


def _signature(part: Part) -> tuple:
    """What must agree for two passes of a repeat to be drawn as one: kinds, shapes, counts."""
    if isinstance(part, Box):
        # The window too: a 7×1 and a 1×7 conv have the same shapes and counts.
        return tuple((r.type, r.input, r.output, r.params, r.macs, *(repr(r.options.get(k)) for k in _WINDOW_OPTIONS))
                     for r in part.records)
    if isinstance(part, Lanes):
        return ("lanes", part.merge.type, part.merge.output, tuple(tuple(_signature(p) for p in lane)
                                                                    for lane in part.lanes),
                tuple((r.type, r.output) for r in part.followers))
    return ("frame", part.passes, tuple(_signature(p) for p in part.parts))


# Passes that differ in their channels are drawn once only when there are at least this many
# (DenseNet's blocks have 6 to 32); two Inception convs in a row stay two boxes.
MIN_GROWING_RUN = 4
_WINDOW_OPTIONS = ("kernel", "stride", "padding", "dilation", "groups", "size")


def _kinds(part: Part) -> tuple:
    """The structure alone: kinds, windows and lanes, not channels or counts (DenseNet's layers
    grow); Inception's 1×1 and 3×3 convs in a row differ."""
    if isinstance(part, Box):
        return tuple((r.type, *(repr(r.options.get(k)) for k in _WINDOW_OPTIONS)) for r in part.records)
    if isinstance(part, Lanes):
        return ("lanes", part.merge.type, tuple(tuple(_kinds(p) for p in lane) for lane in part.lanes),
                tuple(r.type for r in part.followers))
    return ("frame", part.passes, tuple(_kinds(p) for p in part.parts))


def _alike(a: Part, b: Part) -> bool:
    """Drawn as one: identical, or one structure at one resolution whose channels grow (DenseNet's
    layers in a block). ResNet's stages, which halve the map, stay apart."""
    return _signature(a) == _signature(b) or (_kinds(a) == _kinds(b) and a.output[1:] == b.output[1:])


def _numbered(name: str) -> tuple[str, int] | None:
    """`layer3.4` → ("layer3.", 4); `features.denseblock1.denselayer6` → ("…denselayer", 6)."""
    stem = name.rstrip("0123456789")
    return (stem, int(name[len(stem):])) if stem != name and len(name) - len(stem) <= 6 else None


def _continues(a: Part, b: Part) -> bool:
    """`b` is the frame numbered right after frame `a` (`layer3.1` then `layer3.2`)."""
    if not (isinstance(a, Frame) and isinstance(b, Frame) and a.passes == b.passes == 1):
        return False
    na, nb = _numbered(a.name), _numbered(b.name)
    return na is not None and nb is not None and na[0] == nb[0] and nb[1] == na[1] + 1


def _record_names(part: Part) -> list[str]:
    """Every record a part stands for, the passes it hides included."""
    if isinstance(part, Box):
        return [r.name for r in part.records]
    if isinstance(part, Lanes):
        inner = [n for lane in part.lanes for p in lane for n in _record_names(p)]
        return inner + [part.merge.name] + [r.name for r in part.followers]
    return [n for p in part.parts for n in _record_names(p)] + list(part.hidden)


def _layer_count(part: Part) -> int:
    if isinstance(part, Box):
        return len(part.records)
    if isinstance(part, Lanes):
        return 1 + len(part.followers) + sum(_layer_count(p) for lane in part.lanes for p in lane)
    return part.layers


class _Builder:
    def __init__(self, records: dict[str, LayerRecord], fold: bool, collapse: bool):
        self.records = records
        self.fold_followers, self.collapse = fold, collapse

    def sequence(self, nodes: list[Node]) -> list[Part]:
        prefix = common_scope([_node_name(n) for n in nodes])
        parts: list[Part] = []
        i = 0
        while i < len(nodes):
            scope = _scope_of(_node_name(nodes[i]), prefix)
            if scope is None:
                parts.extend(self.node(nodes[i]))
                i += 1
                continue
            j = i
            while j < len(nodes) and _scope_of(_node_name(nodes[j]), prefix) == scope:
                j += 1
            name = f"{prefix}.{scope}" if prefix else scope
            parts.append(self.frame(name, nodes[i:j]))
            i = j
        parts = self.fold(parts)
        return self.collapse_runs(parts) if self.collapse else parts

    def node(self, node: Node) -> list[Part]:
        if isinstance(node, LayerNode):
            r = self.records[node.layer.name]
            return [Box((r,), r.params, r.macs)]
        if isinstance(node, ConcatNode):
            lanes = [list(b) for b in node.branches]
        elif isinstance(node, ResidualNode):
            shortcut = node.shortcut if node.projection_scope is None else node._projection or []
            lanes = [list(node.body), list(shortcut)]
        elif isinstance(node, GateNode):  # squeeze-and-excitation: the input, and the gate computed from it
            lanes = [[], list(node.gate)]
        else:  # a construct this module does not know yet: its layers one after another
            return [self.node(LayerNode(layer))[0] for layer in iter_layers([node])]
        built = tuple(tuple(self.sequence(lane)) if lane else () for lane in lanes)
        merge = self.records[node.merge.name]
        inner = [p for lane in built for p in lane]
        scopes = tuple(common_scope([_node_name(n) for n in lane]) if lane else "" for lane in lanes)
        return [Lanes(merge, built, scopes, merge.params + sum(p.params for p in inner),
                      merge.macs + sum(p.macs for p in inner))]

    def frame(self, name: str, nodes: list[Node]) -> Part:
        inner = self.sequence(nodes)
        if self.fold_followers and len(inner) == 1 and isinstance(inner[0], Box):
            return replace(inner[0], scope=name)  # a block of one conv + bn + relu is that box, named
        output = inner[-1].output
        params, macs, layers = sum(p.params for p in inner), sum(p.macs for p in inner), sum(map(_layer_count, inner))
        if len(inner) == 1 and isinstance(inner[0], Frame) and inner[0].passes > 1:
            # A repeat whose passes all collapsed into one run: the repeat's frame is that run.
            run = inner[0]
            return Frame(name, run.parts, run.passes, params, macs, layers, output, run.pass_names, run.exact,
                         run.hidden)
        return Frame(name, tuple(inner), 1, params, macs, layers, output)

    def collapse_runs(self, parts: list[Part]) -> list[Part]:
        """Consecutive numbered frames of one structure (a repeat's passes `layer3.1`…`layer3.5`,
        DenseNet's `denselayer1`…`denselayer6`) drawn once, as one frame marked ×n. A first pass
        that differs (stride 2, a projection shortcut) stays on its own."""
        out: list[Part] = []
        i = 0
        while i < len(parts):
            j = i + 1
            while j < len(parts) and _continues(parts[j - 1], parts[j]) and _alike(parts[i], parts[j]):
                j += 1
            run = parts[i:j]
            exact = all(_signature(p) == _signature(run[0]) for p in run)
            if len(run) < (2 if exact else MIN_GROWING_RUN):
                out.append(parts[i])
                j = i + 1
            else:
                hidden = tuple(name for p in run[1:] for name in _record_names(p))
                out.append(Frame(run[0].name, run[0].parts, len(run), sum(p.params for p in run),
                                 sum(p.macs for p in run), sum(p.layers for p in run), run[-1].output,
                                 tuple(p.name for p in run), exact, hidden))
            i = j
        return out

    def fold(self, parts: list[Part]) -> list[Part]:
        """A layer's followers (batch norm, activation) joined to its box, unless expanded."""
        if not self.fold_followers:
            return parts
        out: list[Part] = []
        for p in parts:
            last = out[-1] if out else None
            follows = isinstance(p, Box) and all(map(is_follower, p.records)) and last is not None
            if follows and isinstance(last, Box) and last.output == p.record.input:
                out[-1] = Box(last.records + p.records, last.params + p.params, last.macs + p.macs)
            elif follows and isinstance(last, Lanes) and last.output == p.record.input:
                out[-1] = replace(last, followers=last.followers + p.records, params=last.params + p.params,
                                  macs=last.macs + p.macs)
            else:
                out.append(p)
        return out


def walk_parts(parts: tuple[Part, ...]):
    """Every part, depth first (frames and lanes before what they hold)."""
    for p in parts:
        yield p
        if isinstance(p, Frame):
            yield from walk_parts(p.parts)
        elif isinstance(p, Lanes):
            for lane in p.lanes:
                yield from walk_parts(lane)


def stages(parts: tuple[Part, ...], scope: str = ""):
    """(part, scope) for the parts a network is made of, one level below its containers: a frame
    that holds blocks or lanes and spans several resolutions is a scope (`features`), opened; a
    block (ResNet's layer2, DenseNet's transition, a ×n repeat) stands as one."""
    for p in parts:
        if (isinstance(p, Frame) and p.passes == 1 and len({q.output[1:] for q in p.parts}) > 1
                and any(isinstance(q, (Frame, Lanes)) for q in p.parts)):
            yield from stages(p.parts, p.name)
        else:
            yield p, scope


@dataclass(frozen=True)
class CostRow:
    """One bar of the cost picture: a layer or a top-level group, and its share of the totals."""

    name: str
    kind: str
    params: int
    macs: int
    params_share: float  # of the network's trainable params, 0..1
    macs_share: float


def cost_rows(analysis: Analysis, boxes: tuple[Part, ...], parts: tuple[Part, ...], max_rows: int = 60
              ) -> tuple[list[CostRow], bool]:
    """Per box (a layer with its batch norm and activation) of `boxes`, the network with no repeat
    collapsed, when at most `max_rows` have counts; else per top-level part of `parts` (block,
    repeat, layer). Returns the rows and whether they are groups."""
    total_p, total_m = analysis.totals.params, analysis.totals.macs // max(analysis.batch, 1)

    def share(x: int, total: int) -> float:
        return x / total if total else 0.0

    def row(p: Part) -> CostRow:
        name = p.merge.name if isinstance(p, Lanes) else p.name
        kind = "block" if isinstance(p, Frame) else p.merge.type if isinstance(p, Lanes) else p.record.type
        return CostRow(name, kind, p.params, p.macs, share(p.params, total_p), share(p.macs, total_m))

    counted = [p for p in walk_parts(boxes) if isinstance(p, Box) and (p.params or p.macs)]
    if len(counted) <= max_rows:
        return [row(p) for p in counted], False
    return [row(p) for p, _scope in stages(parts) if p.params or p.macs], True


@dataclass(frozen=True)
class Drawing:
    """Everything the pictures need, computed once: the records, the nesting and the cost rows."""

    analysis: Analysis
    parts: tuple[Part, ...]
    cost: tuple[CostRow, ...]
    cost_grouped: bool

    @property
    def sequential(self) -> bool:
        """No lanes anywhere: one path from input to output (LeNet, AlexNet, VGG)."""
        return not any(isinstance(p, Lanes) for p in walk_parts(self.parts))


def drawing_of(graph: Graph, analysis: Analysis, expand: bool = False) -> Drawing:
    parts = build_structure(graph, analysis, expand)
    rows, grouped = cost_rows(analysis, build_structure(graph, analysis, expand, collapse=False), parts)
    return Drawing(analysis, parts, tuple(rows), grouped)
