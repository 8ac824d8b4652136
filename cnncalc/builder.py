"""From the validated document to the graph: blocks, repeats, branches, residuals, layer names.

`document` checks the file's top level; this module expands what it holds (block calls, repeats,
concat branches, residual bodies) into `graph` nodes, naming every layer on the way. Each layer's
options are parsed by `Layer.from_options`. Every error names the file, line and column of the
offending key or value and the layer's path.
"""
from __future__ import annotations

from typing import Any

from . import cycle_gc
from .arith import ArithError, evaluate_int
from .document import STRUCTURAL, checked_name, read_document, read_input_data
from .errors import CnnError, Where, did_you_mean
from .graph import ConcatNode, GateNode, Graph, LayerNode, Node, ResidualNode
from .layers import KINDS, Add, Concat, Layer, Multiply
from .layers.borders import Crop
from .layers.suggest import suggest_kind, suggest_option
from .quoting import cut, shown
from .yaml_source import MarkedDict, MarkedList, where_of_key

# More layers than this is a mistake (ResNet-152 has about 500), or a file built to exhaust memory:
# the build stops with a message instead of expanding it. Every layer and every merge (add, concat,
# multiply) counts: each is a record of the analysis. 100,000 is issue 14's deepest benchmark.
MAX_LAYERS = 100_000
# Names also count what holds no layer (a repeat, each of its passes `stage.0`, a block call, a
# concat branch), and a repeat of an empty list makes names alone: this bounds them (and the
# memory the set of taken paths holds). Four a layer leaves room for any real nesting: a repeat of
# a block call of one layer takes three names a layer.
MAX_NAMES = 4 * MAX_LAYERS
# Lists of layers inside each other: block bodies calling blocks, residual bodies, concat branches,
# repeats. Real networks nest 3 or 4 deep; each level is a few Python frames, so this keeps the
# builder far from Python's recursion limit whatever the file does (a chain of 250 blocks calling
# each other was a RecursionError).
MAX_NESTING = 24
# Characters in a full path (`layer1.0.conv1`): every message about a layer repeats its path, and
# the message must stay one readable line. One name is held to document.MAX_NAME by document.checked_name.
MAX_PATH = 120


class Scope:
    """Names layers inside one prefix: explicit names, or kind + counter (conv1, pool1, …)."""

    def __init__(self, prefix: str, taken: set[str]):
        self.prefix = prefix
        self.taken = taken  # shared by the whole network: full paths must be unique
        self.counters: dict[str, int] = {}

    def full(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local

    def name(self, explicit: Any, auto: str, where: Where | None) -> str:
        if explicit is not None:
            path = self.full(checked_name(explicit, where))
            if path in self.taken:
                raise CnnError(f"the name '{cut(path, 60)}' is used twice; names must be unique", where, path)
        else:
            while True:
                self.counters[auto] = self.counters.get(auto, 0) + 1
                path = self.full(f"{auto}{self.counters[auto]}")
                if path not in self.taken:
                    break
        if len(path) > MAX_PATH:
            raise CnnError(f"the full name '{cut(path, 60)}' has {len(path):,} characters; cnncalc allows "
                           f"{MAX_PATH} (use shorter names, or fewer levels of blocks)", where)
        self.taken.add(path)
        if len(self.taken) > MAX_NAMES:
            raise CnnError(f"the network grows past {MAX_NAMES:,} names (each layer, merge, repeat, block call and "
                           "pass of a repeat has one), cnncalc's limit; check the `times` of its repeats", where, path)
        return path

    def child(self, path: str) -> "Scope":
        return Scope(path, self.taken)


def _chain(blocks: list[str]) -> str:
    """`a → b → c`, its middle left out when long: the two ends say where to look."""
    ends = blocks if len(blocks) <= 6 else [*blocks[:3], "…", *blocks[-2:]]
    return " → ".join(cut(block, 20) for block in ends)


def _shortcut_scope(inner: Scope, where: Where | None, explicit: Any = None) -> Scope:
    """`<scope>.shortcut` (where torchvision has `downsample`); a further unnamed residual in the
    same scope gets `shortcut2`, `shortcut3`, … instead of a clash with a name the user never wrote.
    `shortcut_name` names it as written (RegNet's `proj`)."""
    if explicit is not None:
        return inner.child(inner.name(explicit, "shortcut", where))
    name, n = "shortcut", 1
    while inner.full(name) in inner.taken:
        n += 1
        name = f"shortcut{n}"
    return inner.child(inner.name(name, "shortcut", where))


def _copy_marks(src, dst):
    for attr in ("where", "key_where", "value_where", "item_where"):
        if hasattr(src, attr):
            setattr(dst, attr, getattr(src, attr))
    return dst


_SCALARS = frozenset((int, float, bool, type(None)))  # what YAML reads that holds no `$`


def substitute(value: Any, args: dict[str, Any], where: Where | None) -> Any:
    """Block arguments: a string `$name` is replaced by the argument's value (of any type),
    `${expr}` by whole-number arithmetic over the arguments (`${planes*4}`)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, str) and value.startswith("$"):
        if value.startswith("${") and value.endswith("}"):
            numeric = {k: v for k, v in args.items() if isinstance(v, int) and not isinstance(v, bool)}
            try:
                return evaluate_int(value[2:-1], numeric)
            except ArithError as exc:
                raise CnnError(f"cannot compute {cut(value)}: {exc}", where) from None
        name = value[1:]
        if name not in args:
            known = did_you_mean(name, args) if args else "no arguments are in scope here"
            raise CnnError(f"unknown argument '{cut(value)}'; {known}", where)
        return args[name]
    if isinstance(value, str):
        return value
    # Copied only where something was replaced: entries are never changed once read, and a repeat
    # substitutes the same entries pass after pass (a copy each time was a tenth of building 100,000 layers).
    if isinstance(value, MarkedDict):
        at, default = value.value_where, value.where  # where_of_key's answer for a MarkedDict
        items = {k: substitute(v, args, at.get(k, default)) for k, v in value.items()}
        if all(items[k] is v for k, v in value.items()):
            return value
        return _copy_marks(value, MarkedDict(items))
    if isinstance(value, MarkedList):
        items = [substitute(v, args, where_of_key(value, i, where)) for i, v in enumerate(value)]
        if all(new is old for new, old in zip(items, value)):
            return value
        return _copy_marks(value, MarkedList(items))
    if isinstance(value, dict):
        return {k: substitute(v, args, where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, args, where) for v in value]
    return value


def build_graph(doc: Any, source: str, input_override: tuple[int, ...] | None = None) -> Graph:
    """The graph of a parsed YAML document (`input_override`: the CLI's `--input`)."""
    with cycle_gc.paused():  # see cnncalc.cycle_gc: linear time on deep networks
        return _build_graph(doc, source, input_override)


def _build_graph(doc: Any, source: str, input_override: tuple[int, ...] | None) -> Graph:
    document = read_document(doc, source, input_override)
    expander = Expander(document.blocks)
    nodes = expander.sequence(document.layers, Scope("", set()), {}, document.where("layers"))
    expander.check_crops_placed()
    # Checked after the layers, as it always was: a file with both mistakes reports the layer's first.
    data = read_input_data(document)
    return Graph(document.name, document.text("description"), document.input_shape, nodes, source,
                 document.text("reference"), data)


class Expander:
    """Expands layer entries into graph nodes; `blocks` are the document's block definitions."""

    def __init__(self, blocks: dict[str, MarkedDict]):
        self.blocks = blocks
        self.active_blocks: list[str] = []  # the block calls being expanded, to refuse recursion
        self.nesting = 0  # lists of layers being expanded, one inside the other
        self.unplaced_crops: dict[int, Crop] = {}  # `crop: {to: B}` not (yet) at the top of a concat branch
        self.layers = 0  # layers and merges made so far, held to MAX_LAYERS

    def count_layers(self, n: int, path: str, where: Where | None) -> None:
        """`n` more records (a layer, a merge, the two layers of a projection shortcut), within MAX_LAYERS."""
        self.layers += n
        if self.layers > MAX_LAYERS:
            raise CnnError(f"the network grows past {MAX_LAYERS:,} layers (every layer and merge counts), "
                           "cnncalc's limit; check the `times` of its repeats", where, path)

    def check_crops_placed(self) -> None:
        for crop in self.unplaced_crops.values():
            raise CnnError(f"crop `to: {cut(crop.to, 30)}` crops to the size of another branch of a concat, so it "
                           "must be a layer of a concat branch itself (not inside a residual, gate or deeper "
                           "concat); use `size: [h, w]` for a fixed size", crop.where, crop.name)

    # -- sequences and entries -----------------------------------------------------------
    def sequence(self, entries: Any, scope: Scope, args: dict, where: Where | None) -> list[Node]:
        if not isinstance(entries, list):
            raise CnnError("expected a list of layers (each line `- kind: {options}`)", where)
        self.nesting += 1
        try:
            nodes: list[Node] = []
            for i, entry in enumerate(entries):
                nodes.extend(self.entry(entry, scope, args, where_of_key(entries, i, where)))
            return nodes
        finally:
            self.nesting -= 1

    def _too_deep(self, kind: str, where: Where | None) -> CnnError:
        """Names the chain of blocks calling each other when there is one (its two ends, cut)."""
        chain = self.active_blocks + ([kind] if kind in self.blocks else [])
        if len(chain) > 1:
            how = f"{len(chain)} blocks call each other ({_chain(chain)})"
        else:
            how = "residuals, concats and repeats sit inside each other"
        return CnnError(f"layers nest more than {MAX_NESTING} levels deep: {how}; cnncalc expands at most "
                        f"{MAX_NESTING}", where)

    def entry(self, entry: Any, scope: Scope, args: dict, where: Where | None) -> list[Node]:
        entry = substitute(entry, args, where)
        if isinstance(entry, str):
            kind, opts, owhere = entry, {}, where
        elif isinstance(entry, dict) and len(entry) == 1:
            kind = next(iter(entry))
            opts, owhere = entry[kind], where_of_key(entry, kind, where)
            where = entry.key_where[kind] if isinstance(entry, MarkedDict) else where
        elif isinstance(entry, dict):
            keys = cut(", ".join(map(str, entry)))
            raise CnnError(
                f"a layer is written `- kind: {{options}}`, but this entry has the keys {keys}; "
                "indent the options under the kind (two more spaces)",
                where,
            )
        elif isinstance(entry, list):
            # A `$argument` holding a list of layers, written as one item of a list.
            raise CnnError(f"a list of {len(entry)} layers stands where one layer belongs; a list of layers "
                           "goes where a list is expected (`body: $layers`, `layers: $layers`, a branch), "
                           "not as an item `- $layers`", where)
        else:
            raise CnnError(f"a layer is written `- kind: {{options}}` or `- kind`, got {shown(entry)}", where)
        if opts is None:
            opts = {}
        if (kind in STRUCTURAL or kind in self.blocks) and self.nesting >= MAX_NESTING:
            raise self._too_deep(kind, where)  # before it takes a name: the chain says more than a long path
        if kind == "concat":
            return [self.concat(opts, scope, args, owhere)]
        if kind == "residual":
            return [self.residual(opts, scope, args, owhere)]
        if kind == "repeat":
            return self.repeat(opts, scope, args, owhere)
        if kind == "gate":
            return [self.gate(opts, scope, args, owhere)]
        if kind in self.blocks:
            return self.block_call(kind, opts, scope, owhere)
        if kind in KINDS:
            return [LayerNode(self.layer(kind, opts, scope, where, owhere))]
        known = list(KINDS) + list(STRUCTURAL) + list(self.blocks)
        raise CnnError(f"unknown layer kind '{cut(kind)}'; {suggest_kind(kind, known, opts)}", where)

    def layer(self, kind: str, opts: Any, scope: Scope, where: Where | None, owhere: Where | None) -> Layer:
        """One layer entry: `where` is its kind's key, `owhere` its options' value."""
        cls = KINDS[kind]
        if not isinstance(opts, dict):
            if cls.primary is None:
                raise CnnError(f"{kind} takes options as a mapping, e.g. `- {kind}: {{name: x}}`", owhere)
            opts = {cls.primary: opts}
        for key in opts:
            if key != "name" and key not in cls.options:
                kw = opts.key_where[key] if isinstance(opts, MarkedDict) else owhere
                allowed = {"name", *cls.options}
                raise CnnError(f"{kind} has no option '{cut(key)}'; {suggest_option(key, allowed)}", kw)
        path = scope.name(opts.get("name"), cls.auto_name or kind, where_of_key(opts, "name", where))
        self.count_layers(1, path, where)
        layer = cls.from_options(path, opts, where, value_where=owhere)
        if isinstance(layer, Crop) and layer.to is not None:
            self.unplaced_crops[id(layer)] = layer  # until a concat claims it (`_crops_to_branches`)
        return layer

    # -- structure ------------------------------------------------------------------------
    def _options(self, opts: Any, allowed: tuple[str, ...], what: str, where: Where | None) -> dict:
        if not isinstance(opts, dict):
            raise CnnError(f"{what} takes a mapping of options ({', '.join(allowed)})", where)
        for key in opts:
            if key not in allowed:
                kw = opts.key_where[key] if isinstance(opts, MarkedDict) else where
                raise CnnError(f"{what} has no option '{cut(key)}'; {did_you_mean(key, allowed)}", kw)
        return opts

    def concat(self, opts: Any, scope: Scope, args: dict, where: Where | None) -> ConcatNode:
        opts = self._options(opts, ("name", "branches", "transparent"), "concat", where)
        path = scope.name(opts.get("name"), "concat", where)
        branches = opts.get("branches")
        bw = where_of_key(opts, "branches", where)
        transparent = opts.get("transparent", False)
        if not isinstance(transparent, bool):
            raise CnnError(f"concat's `transparent` must be true or false, got {shown(transparent)}",
                           where_of_key(opts, "transparent", where), path)
        # A transparent concat names its branches in the enclosing scope, as torchvision's modules
        # do (`stage2.1.branch2.0`, not `stage2.1.concat1.branch2.0`).
        inner = scope if transparent else scope.child(path)
        listed = isinstance(branches, list)
        if isinstance(branches, dict):
            named = [(str(k), v, where_of_key(branches, k, bw)) for k, v in branches.items()]
        elif isinstance(branches, list):
            named = [(f"branch{i + 1}", v, where_of_key(branches, i, bw)) for i, v in enumerate(branches)]
        else:
            raise CnnError("concat needs `branches`: a list of layer lists (or a mapping name → layers)", bw, path)
        if len(named) < 2:
            raise CnnError("concat needs at least two branches", bw, path)
        built = []
        for bname, layers, lw in named:
            if layers in (None, "identity"):
                layers = []  # an identity branch: DenseNet passes its input on
            # In a transparent concat, branches given as a list (no names) add no level either:
            # their layers live in the enclosing scope, as torchvision's Inception, Fire and
            # _DenseLayer modules name their children (Mixed_5b.branch1x1.conv).
            branch_scope = inner if transparent and listed else inner.child(inner.name(bname, bname, lw))
            built.append(self.sequence(layers, branch_scope, args, lw) if layers else [])
        self.count_layers(1, path, where)
        node = ConcatNode(Concat(path, {}, where), built)
        self._crops_to_branches(node, [n for n, _, _ in named], path)
        return node

    def _crops_to_branches(self, node: ConcatNode, names: list[str], path: str) -> None:
        """`crop: {to: B}` at the top of a branch: note which branch it measures, and walk every
        branch after the branches it crops to (U-Net: the decoder's branch before the skip's crop)."""
        needs: dict[int, set[int]] = {}
        for i, branch in enumerate(node.branches):
            for item in branch:
                crop = item.layer if isinstance(item, LayerNode) else None
                if not isinstance(crop, Crop) or crop.to is None:
                    continue
                self.unplaced_crops.pop(id(crop), None)
                if crop.to not in names or names.index(crop.to) == i:
                    others = [n for j, n in enumerate(names) if j != i]
                    raise CnnError(f"crop `to: {cut(crop.to, 30)}` must name another branch of concat {cut(path, 40)} "
                                   f"({', '.join(cut(n, 20) for n in others)})", crop.where, crop.name)
                ref = names.index(crop.to)
                node.crops.setdefault(i, []).append((crop, ref))
                needs.setdefault(i, set()).add(ref)
        if not needs:
            return
        order: list[int] = []
        visiting: set[int] = set()

        def visit(i: int) -> None:
            if i in order:
                return
            if i in visiting:
                crop = node.crops[i][0][0]
                raise CnnError(f"the branches of concat {cut(path, 40)} crop to each other; one branch must keep "
                               "its size", crop.where, crop.name)
            visiting.add(i)
            for ref in sorted(needs.get(i, ())):
                visit(ref)
            order.append(i)

        for i in range(len(node.branches)):
            visit(i)
        node.order = order

    def residual(self, opts: Any, scope: Scope, args: dict, where: Where | None) -> ResidualNode:
        opts = self._options(opts, ("name", "body", "shortcut", "shortcut_name"), "residual", where)
        explicit = opts.get("name")
        # An unnamed residual is transparent: its body's layers live in the enclosing scope,
        # which keeps torchvision's paths (layer1.0.conv1).
        inner = scope.child(scope.name(explicit, "", where)) if explicit is not None else scope
        if "body" not in opts:
            raise CnnError("residual needs `body: [...]` (and `shortcut: identity | projection | [...]`)", where)
        body = self.sequence(opts["body"], inner, args, where_of_key(opts, "body", where))
        shortcut = opts.get("shortcut", "identity")
        sw = where_of_key(opts, "shortcut", where)
        merge_path = inner.prefix if explicit is not None else scope.name(None, "add", where)
        # The merge, and a projection shortcut's conv and batch norm (made once shapes are known).
        self.count_layers(3 if shortcut == "projection" else 1, merge_path, where)
        node = ResidualNode(Add(merge_path, {}, where), body, [])
        named = opts.get("shortcut_name")
        nw = where_of_key(opts, "shortcut_name", where) if named is not None else sw
        if shortcut in ("identity", None, False):
            if named is not None:
                raise CnnError("`shortcut_name` names the shortcut's layers, but an identity shortcut has none; "
                               "remove it, or give `shortcut: projection` or a list of layers", nw, merge_path)
        elif shortcut == "projection":
            node.projection_scope = _shortcut_scope(inner, nw, named).prefix
        elif isinstance(shortcut, list):
            node.shortcut = self.sequence(shortcut, _shortcut_scope(inner, nw, named), args, sw)
        else:
            raise CnnError(f"shortcut must be identity, projection or a list of layers, got {shown(shortcut)}", sw,
                           merge_path)
        return node

    def gate(self, opts: Any, scope: Scope, args: dict, where: Where | None) -> GateNode:
        """`gate: {name, layers}`: named like a residual. A named gate puts its layers under its name
        and its product record is the name itself (torchvision's `features.4.block.2.fc1`, the
        product `features.4.block.2`); an unnamed one is transparent, its product `multiply1`."""
        opts = self._options(opts, ("name", "layers"), "gate", where)
        explicit = opts.get("name")
        inner = scope.child(scope.name(explicit, "", where)) if explicit is not None else scope
        if "layers" not in opts:
            raise CnnError("gate needs `layers: [...]`: what computes the gate from the input (squeeze-and-"
                           "excitation: globalavgpool, conv 1×1, relu, conv 1×1, sigmoid)", where)
        layers = self.sequence(opts["layers"], inner, args, where_of_key(opts, "layers", where))
        merge_path = inner.prefix if explicit is not None else scope.name(None, "multiply", where)
        self.count_layers(1, merge_path, where)
        return GateNode(Multiply(merge_path, {}, where), layers)

    def repeat(self, opts: Any, scope: Scope, args: dict, where: Where | None) -> list[Node]:
        opts = self._options(opts, ("name", "times", "layers", "block", "args", "first"), "repeat", where)
        times = opts.get("times")
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise CnnError(f"repeat needs `times`: a whole number ≥ 1, got {shown(times)}",
                           where_of_key(opts, "times", where))
        if times > MAX_LAYERS:
            raise CnnError(f"repeat `times: {times:,}` would build more than {MAX_LAYERS:,} layers, cnncalc's "
                           "limit; use a smaller count", where_of_key(opts, "times", where))
        has_layers, has_block = "layers" in opts, "block" in opts
        if has_layers == has_block:
            raise CnnError("repeat takes either `layers: [...]` or `block: NAME` (with `args`, `first`)", where)
        if has_layers and ("args" in opts or "first" in opts):
            raise CnnError("`args` and `first` go with `block:`, not with `layers:`", where)
        block, every, first = self._repeat_block(opts, where) if has_block else (None, {}, {})
        path = scope.name(opts.get("name"), "repeat", where)
        outer = scope.child(path)
        nodes: list[Node] = []
        for i in range(times):
            child = outer.child(outer.name(str(i), str(i), where))
            if has_layers:
                nodes.extend(self.sequence(opts["layers"], child, args, where_of_key(opts, "layers", where)))
                continue
            call = {**every, **first} if i == 0 else dict(every)
            nodes.extend(self._expand_block(block, call, child, where_of_key(opts, "block", where)))
        return nodes

    @staticmethod
    def _repeat_block(opts: dict, where: Where | None) -> tuple[str, dict, dict]:
        """A repeat's `block` (a block's name), `args` (for every pass) and `first` (for the first
        pass only), checked before anything is expanded."""
        block = opts["block"]
        if not isinstance(block, str):
            raise CnnError(f"repeat's `block` is the name of a block, got {shown(block)}",
                           where_of_key(opts, "block", where))
        mappings = []
        for key, example in (("args", "args: {planes: 64}"), ("first", "first: {stride: 2}")):
            value = opts.get(key)
            if value is not None and not isinstance(value, dict):
                raise CnnError(f"repeat's `{key}` maps the block's argument names to values (`{example}`), "
                               f"got {shown(value)}", where_of_key(opts, key, where))
            mappings.append(dict(value or {}))
        return block, mappings[0], mappings[1]

    def block_call(self, block: str, opts: Any, scope: Scope, where: Where | None) -> list[Node]:
        if not isinstance(opts, dict):
            raise CnnError(f"block '{block}' takes its arguments as a mapping", where)
        call = {k: v for k, v in opts.items() if k != "name"}
        path = scope.name(opts.get("name"), block, where)
        return self._expand_block(block, call, scope.child(path), where)

    def _expand_block(self, block: Any, call: dict, scope: Scope, where: Where | None) -> list[Node]:
        if block not in self.blocks:
            raise CnnError(f"unknown block '{cut(block)}'; {did_you_mean(block, self.blocks)}", where)
        if block in self.active_blocks:
            cycle = self.active_blocks[self.active_blocks.index(block):] + [block]
            raise CnnError(f"block '{block}' uses itself ({_chain(cycle)})", where)
        body = self.blocks[block]
        declared = body.get("args") or {}
        for key in call:
            if key not in declared:
                known = did_you_mean(key, declared) if declared else "it takes none"
                raise CnnError(f"block '{block}' has no argument '{cut(key)}'; {known}", where)
        values = {}
        for key, default in declared.items():
            if key in call:
                values[key] = call[key]
            elif default is None:
                raise CnnError(f"block '{block}' needs the argument '{cut(key)}'", where, scope.prefix)
            else:
                values[key] = default
        self.active_blocks.append(block)
        try:
            return self.sequence(body["layers"], scope, values, where_of_key(body, "layers", where))
        finally:
            self.active_blocks.pop()
