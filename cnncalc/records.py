"""Plain records the engine returns and the renderers print. No behaviour beyond conversions."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from .receptive_field import Step, TopDownStep


def _num(x: Fraction | int) -> int | float:
    """Exact integers stay integers in JSON; half-pixel starts become x.5."""
    return int(x) if Fraction(x).denominator == 1 else float(x)


@dataclass(frozen=True)
class RFRecord:
    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[Fraction, Fraction]
    pad: tuple[int, int]  # effective padding P
    is_global: bool = False
    aligned: bool = True
    chain: tuple[Step, ...] = field(default=(), repr=False)

    def to_json(self) -> dict:
        return {"size": list(self.size), "jump": list(self.jump), "start": [_num(s) for s in self.start]}


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
    derivations: dict[str, str]  # field → formula with the numbers substituted
    notes: tuple[str, ...] = ()
    depth: int = 0  # nesting level, for the tree view
    where: str = ""  # file:line:col of its definition
    # For homework hints (cnncalc.homework): per-axis window geometry and the layer's declared options.
    axes: tuple = field(default=(), repr=False)  # shapes.AxisResult per spatial axis
    options: dict = field(default_factory=dict, repr=False)  # option name → value (kernel, bias, table…)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "output": list(self.output),
            "params": self.params,
            "non_trainable": self.non_trainable,
            "connections": self.connections,
            "macs": self.macs,
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
    input_bytes: int

    def to_json(self) -> dict:
        return {
            "params": self.params,
            "non_trainable": self.non_trainable,
            "connections": self.connections,
            "macs": self.macs,
            "param_bytes": self.param_bytes,
            "activation_bytes": self.activation_bytes,
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

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "input": list(self.input),
            "layers": [r.to_json() for r in self.layers],
            "totals": self.totals.to_json(),
        }

    def layer(self, name: str) -> LayerRecord:
        for r in self.layers:
            if r.name == name:
                return r
        raise KeyError(name)


@dataclass(frozen=True)
class TopDown:
    """`cnncalc rf --layer`: the textbook walk back from a layer to the input."""

    layer: str
    steps: tuple[TopDownStep, ...]
    size: tuple[int, int]
    is_global: bool
