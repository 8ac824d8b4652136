"""A cnncalc graph as a tree of standard torch.nn modules, as torchvision writes its models
(nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.AdaptiveAvgPool2d(1), ...; residual sums with `+`, branches
joined with torch.cat), for the counting tools (torchinfo, fvcore, ptflops, thop), which count
modules and operators and never see cnncalc. Test oracle only.

tests/torch_reference.py is the numerical oracle (functional calls on cnncalc's weights); this
one holds no particular weights, only the module structure the tools inspect."""
from __future__ import annotations

import torch
from torch import nn

from cnncalc.graph import iter_layers, walk
from torch_reference import tf_same


def _pads(layer, h, w):
    if layer.padding == "same":
        d = getattr(layer, "dilation", (1, 1))
        return (*tf_same(h, layer.kernel[0], layer.stride[0], d[0]),
                *tf_same(w, layer.kernel[1], layer.stride[1], d[1]))
    return tuple(layer.padding)


def _symmetric(layer, shape) -> tuple[int, int]:
    t, b, l, r = _pads(layer, shape[1], shape[2])
    assert t == b and l == r, f"{layer.name}: uneven padding is not in the tested networks"
    return t, l


class Crop(nn.Module):
    """A slice to the layer's output height and width, as a model would write `x[..., a:b, c:d]`
    (where the slice starts changes no tool's count: none of them counts a slice)."""

    def __init__(self, out_hw: tuple[int, int]):
        super().__init__()
        self.out_hw = out_hw

    def forward(self, x):
        return x[..., :self.out_hw[0], :self.out_hw[1]]


def module_for(layer, shape: tuple[int, ...], out: tuple[int, ...] = ()) -> nn.Module:
    """The torch.nn module for one cnncalc layer, given the shape it reads (batch excluded)."""
    k = layer.kind
    if k == "conv":
        assert layer.table is None, "a connection table has no torch.nn module"
        return nn.Conv2d(shape[0], layer.filters, layer.kernel, layer.stride, _symmetric(layer, shape), layer.dilation,
                         layer.groups, bias=layer.bias)
    if k == "dense":
        linear = nn.Linear(shape[0], layer.units, bias=layer.bias)
        # ConvNeXt's Linear at every position: channels last, as torchvision permutes around it.
        return nn.Sequential(Permute(0, 2, 3, 1), linear, Permute(0, 3, 1, 2)) if layer.per_position else linear
    if k == "layernorm":
        norm = nn.LayerNorm(shape[0], eps=layer.eps)
        # Over the channels at each position: permute around nn.LayerNorm, as ConvNeXt's blocks do.
        return nn.Sequential(Permute(0, 2, 3, 1), norm, Permute(0, 3, 1, 2)) if len(shape) == 3 else norm
    if k == "batchnorm":
        return (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(shape[0], eps=layer.eps)
    if k == "pad":
        t, b, l, r = layer.sides
        return nn.ZeroPad2d((l, r, t, b))
    if k == "crop":
        return Crop(out[1:])
    if k == "slice":
        return ChannelSlice(layer, shape[0])
    if k == "shuffle":
        return ChannelShuffle(layer.groups)
    if k == "convtranspose":
        return nn.ConvTranspose2d(shape[0], layer.filters, layer.kernel, layer.stride, layer.padding,
                                  layer.output_padding, layer.groups, layer.bias, layer.dilation)
    if k == "upsample":
        if layer.scale is not None:
            return nn.Upsample(scale_factor=tuple(float(f) for f in layer.scale), mode=layer.mode,
                               align_corners=layer.align_corners)
        return nn.Upsample(size=tuple(layer.size), mode=layer.mode, align_corners=layer.align_corners)
    if k == "maxpool":
        return nn.MaxPool2d(layer.kernel, layer.stride, _symmetric(layer, shape), ceil_mode=layer.ceil_mode)
    if k == "avgpool":
        return nn.AvgPool2d(layer.kernel, layer.stride, _symmetric(layer, shape), ceil_mode=layer.ceil_mode,
                            count_include_pad=layer.count_include_pad)
    simple = {
        "globalavgpool": lambda: nn.AdaptiveAvgPool2d(1),
        "globalmaxpool": lambda: nn.AdaptiveMaxPool2d(1),
        "adaptiveavgpool": lambda: nn.AdaptiveAvgPool2d(layer.size),
        "flatten": lambda: nn.Flatten(),
        "lrn": lambda: nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k),
        "dropout": lambda: nn.Dropout(layer.p),
        "identity": lambda: nn.Identity(),
        "relu": lambda: nn.ReLU(),
        "leaky_relu": lambda: nn.LeakyReLU(layer.slope),
        "sigmoid": lambda: nn.Sigmoid(),
        "tanh": lambda: nn.Tanh(),
        "gelu": lambda: nn.GELU(),
        "relu6": lambda: nn.ReLU6(),
        "hardtanh": lambda: nn.Hardtanh(layer.min, layer.max),
        "hardsigmoid": lambda: nn.Hardsigmoid(),
        "hardswish": lambda: nn.Hardswish(),
        "silu": lambda: nn.SiLU(),
        "mish": lambda: nn.Mish(),
        "elu": lambda: nn.ELU(layer.alpha),
        "prelu": lambda: nn.PReLU(shape[0] if layer.per_channel else 1),
        # At inference torchvision's StochasticDepth returns its input: no operations, no parameters.
        "stochastic_depth": lambda: nn.Identity(),
        "softmax": lambda: nn.Softmax(dim=1),
    }
    return simple[k]()


class Permute(nn.Module):
    """torchvision.ops.Permute: reorders axes; no parameters, no rule in any of the tools."""

    def __init__(self, *dims: int):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


class ChannelSlice(nn.Module):
    """x[:, a:b], as ShuffleNetV2 takes its halves (`x.chunk(2, dim=1)`)."""

    def __init__(self, layer, channels: int):
        super().__init__()
        self.start, self.stop = layer.bounds(channels)

    def forward(self, x):
        return x[:, self.start:self.stop]


class ChannelShuffle(nn.Module):
    """torchvision's channel_shuffle: view as groups × C/groups, transpose, view back."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w)
        return torch.transpose(x, 1, 2).contiguous().view(n, c, h, w)


class ModuleNet(nn.Module):
    """The graph's layers as modules (one per layer, named by its dotted path), run by graph.walk,
    the walk the analysis uses. A module is made from the shape its layer reads, taken from the
    analysis's records: only the channel count and `same` padding use it, and a wrong shape would
    make PyTorch refuse the forward pass or the tools' counts differ."""

    def __init__(self, graph, analysis):
        super().__init__()
        self.graph = graph
        reads = {r.name: r.input for r in analysis.layers}
        writes = {r.name: r.output for r in analysis.layers}
        self.layers = nn.ModuleDict()
        # Made on the meta device, then given zeroed memory: initialising VGG-16's 138 million
        # weights at random takes seconds, and the tools only read shapes.
        with torch.device("meta"):
            for layer in iter_layers(graph.nodes):
                if layer.kind not in ("concat", "add", "multiply"):
                    self.layers[self.key(layer.name)] = module_for(layer, reads[layer.name], writes[layer.name])
        self.to_empty(device="cpu")
        with torch.no_grad():
            for t in [*self.parameters(), *self.buffers()]:
                t.zero_()
        self.eval()

    @staticmethod
    def key(name: str) -> str:
        return name.replace(".", "__")

    def forward(self, x):
        return walk(self.graph.nodes, x, self)

    # -- graph.Visitor ------------------------------------------------------------------------
    def layer(self, layer, x, source):
        return self.layers[self.key(layer.name)](x)

    def merge(self, layer, xs, source):
        if layer.kind == "concat":
            return torch.cat(xs, dim=1)
        if layer.kind == "multiply":
            return xs[1] * xs[0]  # torchvision's SqueezeExcitation: `scale * input`, an operator
        out = xs[0]
        for y in xs[1:]:
            out = out + y  # torchvision's `out += identity`: an operator, not a module
        return out

    def shape(self, x):
        return tuple(x.shape[1:])
