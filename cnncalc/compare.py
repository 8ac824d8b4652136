"""`cnncalc compare A B [C …]`: networks side by side at one or more input sizes.

Per network and input size: params, MACs (or a tool's figure under `--convention`), activation
memory, the receptive field of the last feature map, the depth; differences and ratios against the
first network at the same size; and, where every network has the same top-level scopes
(`layer1` … `layer4`), the MACs and params of each. A network that cannot take a size (too small
for its kernels) keeps its row, with the reason instead of numbers. Everything here is read from
the analyses: nothing is counted twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Callable

from .conventions import Convention, VERSIONS, convention
from .errors import CnnError
from .graph import walk
from .network import Network
from .records import Analysis

# Under --convention, the figure that takes the place of cnncalc's MACs, and of its params.
HEADLINE = {"torchinfo": ("total_mult_adds", "total_params"), "fvcore": ("flops", None),
            "ptflops": ("macs", "params"), "thop": ("macs", "params")}

# What the MACs column counts, for the footnote every format carries.
WHAT_MACS_COUNT = {
    None: "MACs: multiply-accumulates of conv and dense layers, bias not counted (FLOPs = 2·MACs); batch norm not "
          "folded and not counted",
    "torchinfo": "MACs: torchinfo {v}'s total_mult_adds: conv and dense multiply-adds with the bias, plus 2·C per "
                 "batch norm (not folded)",
    "fvcore": "MACs: fvcore {v}'s flops (one flop = one multiply-add): bias not counted, batch norm 2 per unit "
              "(not folded), adaptive average pooling 1 per input",
    "ptflops": "MACs: ptflops {v}'s macs (PyTorch backend, count_functional=True), per sample whatever the batch: "
               "bias counted, batch norm 2 per unit (not folded), activations and pooling 1 per element, twice",
    "thop": "MACs: thop {v}'s macs: bias not counted, batch norm 4 per unit (not folded), average pooling 1 per "
            "output",
}


@dataclass(frozen=True)
class Row:
    """One network at one input size."""

    network: str
    input: tuple[int, ...]
    refused: str | None = None  # why the network cannot take this input
    params: int = 0
    macs: int = 0
    activation_bytes: int = 0
    param_bytes: int = 0
    rf: tuple[int, int] | None = None  # the last feature map's receptive field (H, W); None: not defined
    depth: int = 0
    stages: dict[str, tuple[int, int]] = field(default_factory=dict)  # top-level scope → (params, MACs)
    convention: Convention | None = None
    rf_global: bool = False  # the last feature map's field is the whole input


@dataclass(frozen=True)
class Comparison:
    networks: tuple[str, ...]
    sizes: tuple[tuple[int, int] | None, ...]  # None: each network's own input
    batch: int
    dtype: str
    convention: str | None
    rows: tuple[Row, ...]  # network-major within each size: size 1's networks, then size 2's, …
    shared_stages: tuple[str, ...]

    @property
    def footnote(self) -> str:
        what = WHAT_MACS_COUNT[self.convention].format(v=VERSIONS.get(self.convention or "", ""))
        return (f"{what}. Input H×W as listed, each network's own channels; batch {self.batch}; memory: activations "
                f"({self.dtype}), every layer's output for the whole batch; RF: receptive field of the last feature "
                f"map (global: the whole input, as after a squeeze-and-excitation gate); depth: conv and dense "
                f"layers on the longest path.")

    def by_size(self) -> list[list[Row]]:
        n = len(self.networks)
        return [list(self.rows[i:i + n]) for i in range(0, len(self.rows), n)]


def parse_sizes(text: str | None) -> tuple[tuple[int, int] | None, ...]:
    """`224,320,512` or `224x320,512`: square sizes or H×W, from 1 to 10^6."""
    if text is None:
        return (None,)
    sizes = []
    for part in text.split(","):
        hw = part.strip().lower().replace("×", "x").split("x")
        if len(hw) not in (1, 2) or not all(p.isdigit() and len(p) <= 7 and int(p) >= 1 for p in hw):
            raise CnnError(f"--input takes sizes such as 224,320,512 or 224x320 (whole numbers from 1), got '{part}'")
        sizes.append((int(hw[0]), int(hw[-1])))
    return tuple(sizes)


# A network by name, built for an input shape (None: its own input).
Loader = Callable[[tuple[int, ...] | None], Network]


def compare(networks: list[tuple[str, Loader]], sizes: tuple[tuple[int, int] | None, ...], batch: int = 1,
            dtype: str = "float32", convention_name: str | None = None) -> Comparison:
    """Each network at each size; a network that fails to load at all raises (a bad file is bad
    input), one that cannot take a size gets a row that says why."""
    channels = {name: load(None).graph.input_shape[0] for name, load in networks}
    rows = []
    for size in sizes:
        for name, load in networks:
            shape = None if size is None else (channels[name], *size)
            rows.append(_row(name, load, shape, batch, dtype, convention_name))
    analysed = [r for r in rows if r.refused is None]
    shared = tuple(s for s in (analysed[0].stages if analysed else {})
                   if all(s in r.stages for r in analysed)) if analysed else ()
    return Comparison(tuple(n for n, _ in networks), sizes, batch, dtype, convention_name, tuple(rows), shared)


def _row(name: str, load: Loader, shape, batch: int, dtype: str, convention_name: str | None) -> Row:
    try:
        net = load(shape)
        a = net.analyse(batch=batch, dtype=dtype)
        conv = convention(a, convention_name) if convention_name else None
    except CnnError as exc:
        return Row(name, shape or (), refused=str(exc))
    macs, params = a.totals.macs, a.totals.params
    if conv is not None:
        macs_key, params_key = HEADLINE[conv.name]
        macs = conv.figure(macs_key)
        params = conv.figure(params_key) if params_key else params
    rf, rf_global = _feature_rf(a)
    return Row(name, tuple(a.input), None, params, macs, a.totals.activation_bytes, a.totals.param_bytes,
               rf, _depth(net, a), _stages(a, convention_name), conv, rf_global)


def _feature_rf(a: Analysis) -> tuple[tuple[int, int] | None, bool]:
    """The receptive field of the last feature map (the last layer whose output has more than one
    position: a classifier's head sees everything, which says nothing about the network), and
    whether it is the whole input. None where that map has no single field."""
    for r in reversed(a.layers):
        if len(r.output) == 3 and r.output[1] * r.output[2] > 1:
            if r.rf.undefined or None in r.rf.size:
                return None, False
            return r.rf.size, r.rf.is_global
    return None, False


def _depth(net: Network, a: Analysis) -> int:
    """Conv and dense layers (the layers with MACs) on the longest path from input to output:
    ResNet-50's 50, VGG-16's 16, GoogLeNet's 22; a projection shortcut is not on it."""
    weighted = {r.name for r in a.layers if r.macs > 0}
    shapes = {r.name: r.output for r in a.layers}

    class Longest:
        def layer(self, layer, x, source):
            return (x[0] + (layer.name in weighted), shapes[layer.name])

        def merge(self, layer, xs, source):
            return (max(d for d, _ in xs), shapes[layer.name])

        def shape(self, x):
            return x[1]

    return walk(net.graph.nodes, (0, tuple(a.input)), Longest())[0]


def _stages(a: Analysis, convention_name: str | None) -> dict[str, tuple[int, int]]:
    """Top-level scopes (`layer1` of `layer1.0.conv1`) → (params, MACs), in order; a layer at the
    top level (`conv1`) is not a stage. Under a convention, a stage's figures are the convention's
    over the stage's layers (every headline figure is a sum over layers)."""
    scopes: dict[str, list] = {}
    for r in a.layers:
        if "." in r.name:
            scopes.setdefault(r.name.split(".", 1)[0], []).append(r)
    out = {}
    for scope, layers in scopes.items():
        params, macs = sum(r.params for r in layers), sum(r.macs for r in layers) * a.batch
        if convention_name:
            conv = convention(replace(a, layers=tuple(layers)), convention_name)
            macs_key, params_key = HEADLINE[convention_name]
            macs, params = conv.figure(macs_key), conv.figure(params_key) if params_key else params
        out[scope] = (params, macs)
    return out


def ratio(value: int, first: int) -> Fraction | None:
    return Fraction(value, first) if first else None
