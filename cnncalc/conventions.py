"""What torchinfo, fvcore, ptflops and thop report for a network, computed from cnncalc's records.

Each tool counts with its own rules (docs/conventions.md gives each rule and the reason for it).
None of them needs anything cnncalc does not already know: every figure is a sum, over the
layers, of a per-layer term read from the layer's record (its MACs, connections, params, input
and output shape), times the batch or a byte size. A convention is therefore data: for each
figure, the groups of layers it sums and what each group contributes.

The tools count PyTorch modules, so a layer kind needs a PyTorch module for a tool's figure to
exist. The kinds that have none (LeNet-5's trainable subsampling and RBF output, a conv with a
connection table) are refused by name: what a tool would say about them depends on how someone
writes them in PyTorch. A kind with no rule here is refused too, never counted as zero.

Versions reproduced (the test extra pins them and tests/test_conventions.py runs them):
torchinfo 1.8.0, fvcore 0.1.5.post20221221, ptflops 0.7.5, thop 0.1.1.post2209072238.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .errors import CnnError
from .formula import Expr, Num, total
from .records import Analysis, LayerRecord

NAMES = ("torchinfo", "fvcore", "ptflops", "thop")
VERSIONS = {
    "torchinfo": "1.8.0",
    "fvcore": "0.1.5.post20221221",
    "ptflops": "0.7.5",
    "thop": "0.1.1.post2209072238",
}

# The PyTorch module each kind is written as (torchvision's choice), for the messages and the docs.
MODULES = {
    "conv": "nn.Conv2d", "dense": "nn.Linear", "batchnorm": "nn.BatchNorm2d",
    "maxpool": "nn.MaxPool2d", "avgpool": "nn.AvgPool2d", "globalavgpool": "nn.AdaptiveAvgPool2d(1)",
    "globalmaxpool": "nn.AdaptiveMaxPool2d(1)", "adaptiveavgpool": "nn.AdaptiveAvgPool2d",
    "relu": "nn.ReLU", "leaky_relu": "nn.LeakyReLU", "gelu": "nn.GELU", "sigmoid": "nn.Sigmoid",
    "tanh": "nn.Tanh", "softmax": "nn.Softmax(dim=1)", "lrn": "nn.LocalResponseNorm", "dropout": "nn.Dropout",
    "flatten": "nn.Flatten", "identity": "nn.Identity", "concat": "torch.cat", "add": "a + b",
    "relu6": "nn.ReLU6", "hardtanh": "nn.Hardtanh", "hardsigmoid": "nn.Hardsigmoid", "hardswish": "nn.Hardswish",
    "silu": "nn.SiLU", "mish": "nn.Mish", "elu": "nn.ELU", "prelu": "nn.PReLU",
    "layernorm": "nn.LayerNorm (channels last on maps, permuted around it as in ConvNeXt's blocks)",
    "stochastic_depth": "nothing at inference (torchvision's StochasticDepth returns its input)",
    "pad": "nn.ZeroPad2d", "crop": "a slice, x[..., a:b, c:d]",
    "convtranspose": "nn.ConvTranspose2d", "upsample": "nn.Upsample (F.interpolate)",
    # Tensor operations, written as torchvision writes them (none is a module or a patched call):
    "slice": "x[:, a:b] (ShuffleNetV2's x.chunk(2, dim=1))",
    "shuffle": "torchvision's channel_shuffle (view, transpose, view)",
    "multiply": "scale * input (torchvision's SqueezeExcitation)",
}
# No PyTorch module: what a tool says depends on how one writes them.
NO_MODULE = {"subsample": "LeNet-5's trainable subsampling", "rbf": "LeNet-5's RBF output",
             "layer_scale": "ConvNeXt's layer scale (a bare parameter of torchvision's block)"}


# -- per-layer quantities, per sample ----------------------------------------------------------
def units_out(r: LayerRecord) -> int:
    return math.prod(r.output)


def units_in(r: LayerRecord) -> int:
    return math.prod(r.input)


def positions(r: LayerRecord) -> int:
    """Output positions H_out·W_out (1 for a vector)."""
    return math.prod(r.output[1:])


def adaptive_thop(r: LayerRecord) -> int:
    """thop's adaptive average pooling: int((Π over H, W of in/out + 1) · output units), computed
    as thop computes it, in float64 (in/out need not divide), then truncated."""
    kernel = 1.0
    for i, o in zip(r.input[1:], r.output[1:]):
        kernel *= float(i) / float(o)
    return int((kernel + 1) * units_out(r))


def softmax_thop(r: LayerRecord) -> int:
    """thop's softmax over the channels (dim 1): (exp, add, divide) = 3F − 1 per softmax of F values."""
    features = r.input[0]
    return units_in(r) // features * (3 * features - 1)


def deconv_ptflops(r: LayerRecord) -> int:
    """ptflops's transposed-convolution hook: every multiplication (H_in·W_in·C_in·C_out/g·kh·kw,
    cnncalc's MACs) plus one bias addition per output unit."""
    return r.macs + (units_out(r) if r.options.get("bias") else 0)


def thop_deconv(r: LayerRecord) -> int:
    """thop counts a transposed convolution like a convolution: output units·C_in/g·kh·kw."""
    kh, kw = r.options["kernel"]
    return units_out(r) * r.input[0] // r.options["groups"] * kh * kw


def _per_upsample_unit(nearest: int, bilinear: int) -> Rule:
    def rule(r: LayerRecord) -> int:
        return units_out(r) * (bilinear if r.options.get("mode") == "bilinear" else nearest)
    return rule


def lrn_ptflops(r: LayerRecord) -> int:
    """F.local_response_norm as ptflops's patched calls see it: x.mul(x), .mul(alpha) and .add(k)
    over the input (3 · units), and avg_pool3d over the squares padded with size − 1 channels."""
    c, h, w = r.input
    return 3 * units_in(r) + (c + r.options["size"] - 1) * h * w


# -- conventions as data -------------------------------------------------------------------------
Rule = Callable[[LayerRecord], int]


@dataclass(frozen=True)
class Group:
    """One sum of a figure: the kinds it runs over and each layer's term."""

    label: str  # "conv and dense MACs"
    kinds: tuple[str, ...]
    term: Rule


@dataclass(frozen=True)
class FigureRule:
    key: str
    formula: str  # the symbolic formula, as docs/conventions.md writes it
    groups: tuple[Group, ...]
    scale: str = "batch"  # "batch", "one" (per sample / per network), "bytes" (·bytes), "2·batch·bytes", "batch·bytes"


CONV_DENSE = ("conv", "dense")
# ptflops's activation module hooks (one per output unit); the other activations have none.
RELU_FAMILY = ("relu", "leaky_relu", "gelu", "relu6", "elu", "prelu")
# The activation modules whose forward calls a torch.nn.functional function ptflops patches
# (count_functional): F.relu, F.gelu, F.elu, F.prelu, F.silu. nn.ReLU6 calls F.hardtanh, unpatched.
PATCHED_ACTIVATIONS = ("relu", "gelu", "elu", "prelu", "silu")
POOLS = ("maxpool", "avgpool", "globalavgpool", "globalmaxpool", "adaptiveavgpool")
ALL_KINDS = tuple(MODULES)


def _macs(r: LayerRecord) -> int:
    return r.macs


def _params(r: LayerRecord) -> int:
    return r.params


def _connections(r: LayerRecord) -> int:
    return r.connections


def _zero(r: LayerRecord) -> int:
    return 0


def _has_params(r: LayerRecord) -> int:
    return units_out(r) if r.params else 0


def _conv_params_positions(r: LayerRecord) -> int:
    return r.params * positions(r)


_PTFLOPS_MODULES = (
    Group("conv and dense connections (bias included)", CONV_DENSE, _connections),
    Group("transposed conv MACs + bias·output units", ("convtranspose",), deconv_ptflops),
    Group("upsampling output units", ("upsample",), units_out),
    Group("batch norm 2·input units", ("batchnorm",), lambda r: 2 * units_in(r)),
    Group("layer norm input units (its 'affine' test misses LayerNorm)", ("layernorm",), units_in),
    Group("ReLU, LeakyReLU, GELU, ReLU6, ELU, PReLU output units", RELU_FAMILY, units_out),
    Group("pooling input units", POOLS, units_in),
)
_PTFLOPS_FUNCTIONAL = (
    Group("F.relu, F.gelu, F.elu, F.prelu, F.silu (count_functional)", PATCHED_ACTIVATIONS, units_out),
    Group("F.*pool* again (count_functional)", POOLS, units_in),
    Group("F.softmax input units (count_functional)", ("softmax",), units_in),
    Group("F.interpolate output units again (count_functional)", ("upsample",), units_out),
    Group("F.local_response_norm's mul, mul, add, avg_pool3d (count_functional)", ("lrn",), lrn_ptflops),
)

RULES: dict[str, tuple[FigureRule, ...]] = {
    "torchinfo": (
        FigureRule("total_params", "Σ params (batch-norm running statistics are buffers, not parameters)",
                   (Group("params", ALL_KINDS, _params),), "one"),
        FigureRule("trainable_params", "Σ params with requires_grad (all of them)",
                   (Group("params", ALL_KINDS, _params),), "one"),
        FigureRule("non_trainable_params", "Σ frozen params (none: cnncalc's non-trainable values are buffers)",
                   (Group("frozen params", ALL_KINDS, _zero),), "one"),
        FigureRule("total_mult_adds",
                   "batch·(Σ conv params·H_out·W_out + Σ params of every other layer)",
                   (Group("conv and transposed conv params·output positions (MACs + bias·units for a conv)",
                          ("conv", "convtranspose"), _conv_params_positions),
                    Group("dense params (MACs + bias·units on a vector; once, not per position, with "
                          "per_position)", ("dense",), _params),
                    Group("other params (batch norm, layer norm 2·C, PReLU)", ("batchnorm", "layernorm", "prelu"),
                          _params))),
        FigureRule("input_size_bytes", "batch·C·H·W·bytes (torchinfo adds Python's 56–64-byte object header)",
                   (Group("input units", ("input",), _zero),), "batch·bytes"),
        FigureRule("forward_backward_pass_size_bytes",
                   "2·batch·bytes·Σ output units of the layers that have parameters",
                   (Group("output units of layers with params", ALL_KINDS, _has_params),), "2·batch·bytes"),
        FigureRule("params_size_bytes", "Σ params·bytes", (Group("params", ALL_KINDS, _params),), "bytes"),
    ),
    "fvcore": (
        FigureRule("flops",
                   "batch·(Σ conv, dense MACs + Σ batch norm 2·units (eval mode) + Σ layer norm 5·units + "
                   "Σ adaptive average pooling input units)",
                   (Group("conv, transposed conv and dense MACs", CONV_DENSE + ("convtranspose",), _macs),
                    Group("upsampling output units (bilinear 4·units)", ("upsample",), _per_upsample_unit(1, 4)),
                    Group("batch norm 2·units", ("batchnorm",), lambda r: 2 * units_out(r)),
                    Group("layer norm 5·units", ("layernorm",), lambda r: 5 * units_out(r)),
                    Group("adaptive average pooling input units", ("globalavgpool", "adaptiveavgpool"), units_in))),
        FigureRule("activations", "batch·Σ conv, transposed conv, dense output units",
                   (Group("conv, transposed conv and dense output units", CONV_DENSE + ("convtranspose",),
                          units_out),)),
    ),
    "ptflops": (
        FigureRule("macs",
                   "Σ conv, dense connections + Σ batch norm 2·units + Σ layer norm units + Σ ReLU, LeakyReLU, "
                   "GELU, ReLU6, ELU, PReLU units + Σ pooling input units, then what the patched functions count "
                   "(count_functional=True): F.relu, F.gelu, F.elu, F.prelu, F.silu units, F.*pool* input units "
                   "again, F.softmax input units, LocalResponseNorm's mul, add and avg_pool3d; per sample",
                   _PTFLOPS_MODULES + _PTFLOPS_FUNCTIONAL, "one"),
        FigureRule("macs_no_functional", "the same without the second count (count_functional=False); per sample",
                   _PTFLOPS_MODULES, "one"),
        FigureRule("macs_aten", "batch·(Σ conv, dense connections + Σ transposed conv MACs + bias·output units) "
                   "(backend='aten')",
                   (Group("conv and dense connections", CONV_DENSE, _connections),
                    Group("transposed conv MACs + bias·output units", ("convtranspose",), deconv_ptflops))),
        FigureRule("params", "Σ params with requires_grad", (Group("params", ALL_KINDS, _params),), "one"),
    ),
    "thop": (
        FigureRule("macs",
                   "batch·(Σ conv, dense MACs + 4·Σ batch norm, layer norm units + Σ PReLU units + Σ average "
                   "pooling output units + Σ adaptive average pooling (Π(in/out) + 1)·output units + "
                   "Σ softmax (3F − 1)·units/F)",
                   (Group("conv and dense MACs", CONV_DENSE, _macs),
                    Group("transposed conv output units·C_in/g·kh·kw", ("convtranspose",), thop_deconv),
                    Group("upsampling output units (bilinear 11·units)", ("upsample",), _per_upsample_unit(1, 11)),
                    Group("batch norm, layer norm 4·units", ("batchnorm", "layernorm"), lambda r: 4 * units_in(r)),
                    Group("PReLU input units", ("prelu",), units_in),
                    Group("average pooling output units", ("avgpool",), units_out),
                    Group("adaptive average pooling (Π(in/out) + 1)·output units",
                          ("globalavgpool", "adaptiveavgpool"), adaptive_thop),
                    Group("softmax (3F − 1)·units/F", ("softmax",), softmax_thop))),
        FigureRule("params", "Σ params of the modules thop has a rule for (all that hold params here)",
                   (Group("params", ALL_KINDS, _params),), "one"),
    ),
}


# -- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    key: str
    formula: str  # symbolic
    expr: Expr  # the numbers in: its text is the substituted formula, its value the figure
    groups: tuple[tuple[str, int], ...]  # (label, per-sample sum) of each group

    @property
    def value(self) -> int:
        return self.expr.int_value()


@dataclass(frozen=True)
class Convention:
    name: str
    version: str
    batch: int
    dtype_bytes: int
    figures: tuple[Figure, ...]

    def to_json(self) -> dict:
        return {"name": self.name, "figures": {f.key: f.value for f in self.figures}}

    def figure(self, key: str) -> int:
        return next(f.value for f in self.figures if f.key == key)


def check_supported(a: Analysis, name: str) -> None:
    """Refuse, by layer and reason, what the tool has no PyTorch module to count."""
    for r in a.layers:
        reason = None
        if r.type in NO_MODULE:
            reason = f"{NO_MODULE[r.type]} has no PyTorch module"
        elif r.type == "conv" and r.options.get("table") is not None:
            reason = "a conv with a connection table has no PyTorch module"
        elif r.type not in MODULES:
            reason = f"cnncalc has no {name} rule for the layer kind '{r.type}' yet"
        elif r.type == "lrn" and len(r.input) != 3:
            reason = "PyTorch's LocalResponseNorm needs feature maps, not a vector"
        elif name == "ptflops" and r.type in ("maxpool", "avgpool") and any(a.pad_lo != a.pad_hi for a in r.axes):
            # ptflops counts the pooling module's input: with padding on one side only the module
            # would read a padded copy, whose size depends on how the padding is written.
            reason = "pooling with uneven padding reads a padded copy whose size ptflops counts"
        if reason:
            where = f"{r.where}: " if r.where else ""
            raise CnnError(f"{where}{r.name}: --convention {name}: {reason}, so {name}'s figure depends on how "
                           f"it is written in PyTorch; conventions cover layers with a standard torch.nn module")


def convention(a: Analysis, name: str) -> Convention:
    """The tool's figures for the analysed network at its batch and dtype."""
    if name not in RULES:
        raise CnnError(f"unknown convention '{name}'; use one of {', '.join(NAMES)}")
    check_supported(a, name)
    figures = tuple(_figure(a, rule) for rule in RULES[name])
    return Convention(name, VERSIONS[name], a.batch, a.dtype_bytes, figures)


def _figure(a: Analysis, rule: FigureRule) -> Figure:
    sums = []
    for g in rule.groups:
        if g.kinds == ("input",):
            sums.append((g.label, math.prod(a.input)))
        else:
            sums.append((g.label, sum(g.term(r) for r in a.layers if r.type in g.kinds)))
    inner: Expr = total(Num(v) for _, v in sums)
    factors = {"batch": [a.batch], "one": [], "bytes": [a.dtype_bytes], "batch·bytes": [a.batch, a.dtype_bytes],
               "2·batch·bytes": [2, a.batch, a.dtype_bytes]}[rule.scale]
    expr = inner
    for f in reversed(factors):
        expr = Num(f) * expr
    return Figure(rule.key, rule.formula, expr, tuple(sums))
