"""Plain records the engine returns and the renderers print. No behaviour beyond conversions."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING

from .receptive_field import NO_CHAIN, AxisField, AxisStep, Chain, Step, TopDownStep, combined_chain, is_textbook

if TYPE_CHECKING:
    from .formula import Expr
    from .shapes import AxisResult


def is_binary(x: Fraction) -> bool:
    """A fraction whose denominator is a power of two up to 2^20: exact as a short decimal (0.5, 0.25),
    and as a JSON number."""
    d = x.denominator
    return d & (d - 1) == 0 and d <= 1 << 20


def _num(x: Fraction | int | None) -> int | float | str | None:
    """Exact in JSON: whole numbers as integers, halves and other binary fractions as numbers (x.5,
    x.25: a float holds them exactly), any other fraction as the string "p/q" (never rounded)."""
    if x is None or type(x) is int:
        return x
    if type(x) is not Fraction:  # Fraction(x) of a Fraction costs microseconds of type checks
        x = Fraction(x)
    if x.denominator == 1:
        return int(x)
    return float(x) if is_binary(x) else f"{x.numerator}/{x.denominator}"


COUNT_FIELDS = ("params", "non_trainable", "connections", "macs")


class Derivations(Mapping):
    """A layer's formulas with the numbers substituted, field → text ("params": "(5·5·1 + 1)·6";
    "output": "H: ⌊(32 − 5 + 2·0)/1⌋ + 1; W: …"), read like a dict.

    It holds the expressions the values were computed from, and renders a text only when it is
    read: `--explain`, `check` and the tests read them; `params --format json` and the tables never
    do, and rendering every layer's text took a tenth of a deep network's analysis (issue 14).
    The text is the expressions' own, so it cannot differ from what was computed."""

    __slots__ = ("_counts", "_axes", "_texts")

    def __init__(self, counts: "tuple[Expr, Expr, Expr, Expr]" = (), axes: "tuple[AxisResult, ...]" = ()):
        self._counts = counts  # in the order of COUNT_FIELDS; () for a merge, which shows none
        self._axes = axes
        self._texts: dict[str, str] | None = None

    def _rendered(self) -> dict[str, str]:
        if self._texts is None:
            texts = {key: expr.text() for key, expr in zip(COUNT_FIELDS, self._counts)}
            if self._axes:
                texts["output"] = "; ".join(f"{a.axis}: {a.expr.text()}" for a in self._axes)
            self._texts = texts
        return self._texts

    def __getitem__(self, key: str) -> str:
        return self._rendered()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rendered())

    def __len__(self) -> int:
        return len(self._counts) + (1 if self._axes else 0)

    def __repr__(self) -> str:
        return repr(self._rendered())


@dataclass(frozen=True)
class RFRecord:
    """A layer's receptive field per axis (H, W). Where the merged paths are not aligned, `size` is
    the largest field over the layer's output units, `unit` the first unit that has it, and `start`
    and `pad` are None (they differ from unit to unit); `jump` is None when the paths' jumps differ.
    Where no field is defined (`undefined` says why), every value is None. After upsampling or a
    transposed convolution one path's field can differ between units (`uniform_axes` false): `size`
    is then the largest, `unit` the first unit with it, `start`/`pad` unit 0's, and `jump` the exact
    mean step (a Fraction)."""

    size: tuple[int | None, int | None]
    jump: tuple[Fraction | int | None, Fraction | int | None]
    start: tuple[Fraction | None, Fraction | None]
    pad: tuple[int | None, int | None]  # effective padding P
    global_axes: tuple[bool, bool] = (False, False)
    aligned_axes: tuple[bool, bool] = (True, True)
    unit: tuple[int | None, int | None] = (None, None)
    chain_links: tuple[Chain, ...] = field(default=(NO_CHAIN, NO_CHAIN), repr=False)
    undefined: str | None = None
    # The engine's per-axis fields: `fields[a].span(u)` is unit u's exact field along axis a.
    fields: tuple[AxisField, ...] = field(default=(), repr=False)
    uniform_axes: tuple[bool, bool] = (True, True)

    @property
    def is_global(self) -> bool:
        return all(self.global_axes)

    @property
    def aligned(self) -> bool:
        return all(self.aligned_axes)

    @property
    def uniform(self) -> bool:
        return all(self.uniform_axes)

    @property
    def textbook(self) -> bool:
        """Only sliding windows on the field's path (no upsampling or transposed convolution): the
        textbook top-down recursion gives it."""
        return all(is_textbook(c) for c in self.chains)

    @property
    def chains(self) -> tuple[tuple[AxisStep, ...], tuple[AxisStep, ...]]:
        """Per axis, the windowed layers of the path that gives the field (empty where none does)."""
        return (self.chain_links[0].steps(), self.chain_links[1].steps())

    @property
    def chain(self) -> tuple[Step, ...]:
        """Both axes' path as one chain (the textbook walk), () when the axes took different paths."""
        return combined_chain(*self.chains) or ()

    def to_json(self) -> dict:
        out = {
            "size": list(self.size),
            "jump": [_num(j) for j in self.jump],
            "start": [_num(s) for s in self.start],
            "eff_padding": list(self.pad),
            "aligned": self.aligned,
            "global": self.is_global,
        }
        if not self.uniform:
            out["uniform"] = False
        if (not self.aligned or not self.uniform) and not self.undefined:
            out["largest_at_unit"] = list(self.unit)
        if self.undefined:
            out["undefined"] = self.undefined
        return out


@dataclass(frozen=True)
class LayerRecord:
    name: str  # dotted path: layer1.0.conv1
    type: str  # the layer kind: conv, maxpool, …
    input: tuple[int, ...]
    output: tuple[int, ...]
    params: int
    non_trainable: int
    connections: int
    macs: int
    rf: RFRecord
    derivations: Mapping[str, str]  # field → formula with the numbers substituted (Derivations)
    notes: tuple[str, ...] = ()
    where: str = ""  # file:line:col of its definition
    # For homework hints (cnncalc.homework): per-axis window geometry and the layer's declared options.
    axes: tuple = field(default=(), repr=False)  # shapes.AxisResult per spatial axis
    options: dict = field(default_factory=dict, repr=False)  # option name → value (kernel, bias, table…)

    def to_json(self, batch: int = 1) -> dict:
        """`macs` for the whole batch, as the totals give it (the layers' `macs` add up to
        `totals.macs`), and `macs_per_sample`; params and connections are the network's, whatever
        the batch."""
        return {
            "name": self.name,
            "type": self.type,
            "output": list(self.output),
            "params": self.params,
            "non_trainable": self.non_trainable,
            "connections": self.connections,
            "macs": self.macs * batch,
            "macs_per_sample": self.macs,
            "rf": self.rf.to_json(),
        }


@dataclass(frozen=True)
class Totals:
    params: int
    non_trainable: int
    connections: int
    macs: int  # for the whole batch
    flops: int  # 2·MACs
    param_bytes: int  # (params + non-trainable) · bytes per value
    activation_bytes: int  # every layer's output, for the whole batch
    batch: int = 1

    def to_json(self) -> dict:
        return {
            "params": self.params,
            "non_trainable": self.non_trainable,
            "connections": self.connections,
            "macs": self.macs,
            "param_bytes": self.param_bytes,
            "activation_bytes": self.activation_bytes,
            "macs_per_sample": self.macs // self.batch,
            "activation_bytes_per_sample": self.activation_bytes // self.batch,
        }


@dataclass(frozen=True)
class Analysis:
    name: str
    description: str
    input: tuple[int, ...]
    batch: int
    dtype_bytes: int
    layers: tuple[LayerRecord, ...]
    totals: Totals
    warnings: tuple[str, ...] = ()
    source: str = ""

    def to_json(self, stream_layers: bool = False) -> dict:
        """`stream_layers`: "layers" is an iterator that makes each layer's dict as it is read, so a
        renderer that writes them one by one never holds 100,000 of them at once."""
        layers = (r.to_json(self.batch) for r in self.layers)
        return {
            "name": self.name,
            "input": list(self.input),
            "layers": layers if stream_layers else list(layers),
            "totals": self.totals.to_json(),
        }

    @property
    def batch_layers(self) -> tuple[LayerRecord, ...]:
        """The layers with `macs` for the whole batch, as the table and CSV show them beside the
        batch totals (the records themselves are per sample, as the explanations are)."""
        if self.batch == 1:
            return self.layers
        return tuple(replace(r, macs=r.macs * self.batch) for r in self.layers)

    def layer(self, name: str) -> LayerRecord:
        for r in self.layers:
            if r.name == name:
                return r
        raise KeyError(name)


@dataclass(frozen=True)
class TopDown:
    """`cnncalc rf --layer`: the textbook walk back from a layer to the input. When the two axes'
    fields come through different layers (a 1×7 path beside a 7×1), `steps` is empty and
    `per_axis` holds one walk per axis (H, W). Through upsampling or a transposed convolution it is
    the exact walk of one unit per axis (`units`), the one with the largest field."""

    layer: str
    steps: tuple[TopDownStep, ...]
    size: tuple[int, int]
    is_global: bool
    per_axis: tuple[tuple[TopDownStep, ...], ...] = ()
    # Set where the path holds upsampling or a transposed convolution: the walk is the exact one of
    # this output unit per axis (RF = last − first + 1 of the units reaching it), not the recursion.
    units: tuple[int, int] | None = None
