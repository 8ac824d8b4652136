"""From the mapped ONNX graph (a DAG of tensors) back to cnncalc's nested structure: sequences,
residuals (add) and concats, by series-parallel decomposition.

Walking back from the output, a layer leads to its input; a merge leads to its fork point, the
tensor that dominates it (every path from the input passes through it), and each of its inputs
is a branch from that fork. A graph that is not series-parallel shows up as a node reached
twice; DenseNet's concatenations of many earlier maps are first re-associated,
cat(x0, f1, f2) = cat(cat(x0, f1), f2), reusing the concatenation the previous layer read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .onnx_ops import Mapped
from .onnx_reader import OnnxModel


@dataclass
class LayerItem:
    mapped: Mapped


@dataclass
class MergeItem:
    mapped: Mapped
    branches: list[list["Item"]] = field(default_factory=list)


Item = LayerItem | MergeItem


class Structure:
    def __init__(self, model: OnnxModel, mapped: list[Mapped], fail):
        self.model = model
        self.fail = fail  # (message, node name) -> CnnError
        self.alias: dict[str, str] = {}
        self.producer: dict[str, Mapped] = {}
        for m in mapped:
            if not m.steps and m.merge is None:
                self.alias[m.output] = m.data[0]
        for m in mapped:
            if m.steps or m.merge is not None:
                m.data = [self.resolve(t) for t in m.data]
                self.producer[m.output] = m
        self.reassociated = self._reassociate()
        position = {id(n): i for i, n in enumerate(model.nodes)}
        self.order = {model.input_name: 0}
        for i, m in enumerate(sorted(self.producer.values(), key=lambda m: position.get(id(m.node), -1)), start=1):
            self.order[m.output] = i
        self.idom: dict[str, str] = {}
        for m in sorted(self.producer.values(), key=lambda m: self.order[m.output]):
            self._dominate(m)
        self.used: dict[int, int] = {}
        self.unfused = 0  # nested concatenations put back (_merge_item)

    def resolve(self, tensor: str) -> str:
        seen = 0
        while tensor in self.alias and seen < 100_000:
            tensor = self.alias[tensor]
            seen += 1
        return tensor

    def _reassociate(self) -> int:
        """cat(x0, …, xk, …) → cat(cat(x0, …, xk), …) where cat(x0, …, xk) is computed anyway."""
        by_inputs = {tuple(m.data): m.output for m in self.producer.values() if m.merge == "concat"}
        count = 0
        for m in self.producer.values():
            if m.merge != "concat":
                continue
            for k in range(len(m.data) - 1, 1, -1):
                earlier = by_inputs.get(tuple(m.data[:k]))
                if earlier is not None and earlier != m.output:
                    m.data = [earlier, *m.data[k:]]
                    count += 1
                    break
        return count

    def _dominate(self, m: Mapped) -> None:
        preds = []
        for t in m.data:
            if t not in self.order:
                raise self.fail(f"reads '{t}', which no mapped node computes and which is not the input", m.node)
            preds.append(t)
        idom = preds[0]
        for p in preds[1:]:
            idom = self._intersect(idom, p)
        self.idom[m.output] = idom

    def _intersect(self, a: str, b: str) -> str:
        while a != b:
            while self.order[a] > self.order[b]:
                a = self.idom[a]
            while self.order[b] > self.order[a]:
                b = self.idom[b]
        return a

    # -- the decomposition --------------------------------------------------------------------
    def tree(self) -> list[Item]:
        out = self.resolve(self.model.output_name)
        if out != self.model.input_name and out not in self.producer:
            raise self.fail(f"the output '{out}' is computed by no mapped node", None)
        return self.sequence(self.model.input_name, out)

    def sequence(self, start: str, end: str) -> list[Item]:
        items: list[Item] = []
        t = end
        while t != start:
            m = self.producer.get(t)
            if m is None:
                raise self.fail(f"a path from '{start}' reaches '{t}', which nothing computes", None)
            self._use(m)
            if m.merge is None:
                items.append(LayerItem(m))
                t = m.data[0]
                continue
            fork = self.idom[t]
            items.append(self._merge_item(m, fork))
            t = fork
        items.reverse()
        return items

    def _merge_item(self, m: Mapped, fork: str) -> MergeItem:
        """A merge and its branches from `fork`. The exporter fuses nested concatenations
        (Inception-v3's cat(b1, cat(b3_2a, b3_2b), …) becomes one Concat of six): adjacent inputs
        that fork later than `fork` are put back in an inner concat of their own."""
        if m.merge != "concat":
            return MergeItem(m, [self.sequence(fork, d) for d in m.data])
        branches: list[list[Item]] = []
        for i, group in enumerate(self._groups(m.data, fork)):
            if len(group) == 1:
                branches.append(self.sequence(fork, group[0]))
                continue
            inner_fork = group[0]
            for d in group[1:]:
                inner_fork = self._intersect(inner_fork, d)
            inner = Mapped(node=m.node, data=group, output=f"{m.output}#{i}", merge="concat")
            self.unfused += 1
            branches.append(self.sequence(fork, inner_fork) + [self._merge_item(inner, inner_fork)])
        return MergeItem(m, branches)

    def _groups(self, data: list[str], fork: str) -> list[list[str]]:
        """Runs of adjacent inputs whose common dominator is not `fork` (a single input otherwise)."""
        groups: list[list[str]] = []
        common = ""
        for d in data:
            if groups and d != fork and groups[-1][-1] != fork and self._intersect(common, d) != fork:
                groups[-1].append(d)
                common = self._intersect(common, d)
            else:
                groups.append([d])
                common = d
        return groups

    def _use(self, m: Mapped) -> None:
        key = id(m)
        if key in self.used:
            raise self.fail("the graph is not series-parallel here: this node's output is read by two "
                            "branches that do not merge together (cnncalc's residual and concat cannot express it)",
                            m.node)
        self.used[key] = 1


def check_merge(item: MergeItem, fail) -> None:
    if item.mapped.merge == "add" and len(item.branches) != 2:
        raise fail(f"a sum of {len(item.branches)} tensors (a residual adds two)", item.mapped.node)

