"""A PyTorch model built from a cnncalc graph and the forward pass's weights: every layer through
torch.nn.functional, parameters held as torch Parameters (so `sum(p.numel())` is PyTorch's count).
Test oracle only. Padding `same` is recomputed here from TensorFlow's rule, not taken from cnncalc.

`ORACLE` maps every layer kind (and the merges concat and add) to its PyTorch form; the layer
contract test checks that no kind is missing here."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from cnncalc.graph import iter_layers, walk


def tf_same(size, k, s, d=1):
    k_eff = d * (k - 1) + 1
    out = -(-size // s)
    total = max((out - 1) * s + k_eff - size, 0)
    return total // 2, total - total // 2


def _pads(layer, h, w, dilation=(1, 1)):
    if layer.padding == "same":
        return (*tf_same(h, layer.kernel[0], layer.stride[0], dilation[0]),
                *tf_same(w, layer.kernel[1], layer.stride[1], dilation[1]))
    return tuple(layer.padding)


def _conv(net, L, x):
    t, b, l, r = _pads(L, x.shape[2], x.shape[3], L.dilation)
    weight, bias = net.w(L.name, "weight"), net.w(L.name, "bias")
    if t == b and l == r:
        return F.conv2d(x, weight, bias, L.stride, (t, l), L.dilation, L.groups)
    return F.conv2d(F.pad(x, (l, r, t, b)), weight, bias, L.stride, 0, L.dilation, L.groups)


def _maxpool(net, L, x):
    t, b, l, r = _pads(L, x.shape[2], x.shape[3])
    if t == b and l == r:
        return F.max_pool2d(x, L.kernel, L.stride, (t, l), ceil_mode=L.ceil_mode)
    return F.max_pool2d(F.pad(x, (l, r, t, b), value=float("-inf")), L.kernel, L.stride, ceil_mode=L.ceil_mode)


def _avgpool(net, L, x):
    t, b, l, r = _pads(L, x.shape[2], x.shape[3])
    assert t == b and l == r, "asymmetric average pooling is not in the tested nets"
    return F.avg_pool2d(x, L.kernel, L.stride, (t, l), ceil_mode=L.ceil_mode, count_include_pad=L.count_include_pad)


def _subsample(net, L, x):
    # LeNet-5: the window's sum (mean × window size), one coefficient and one bias per map.
    s = F.avg_pool2d(x, L.kernel, L.stride) * (L.kernel[0] * L.kernel[1])
    return s * net.w(L.name, "weight").view(1, -1, 1, 1) + net.w(L.name, "bias").view(1, -1, 1, 1)


def _batchnorm(net, L, x):
    return F.batch_norm(x, net.w(L.name, "running_mean"), net.w(L.name, "running_var"), net.w(L.name, "weight"),
                        net.w(L.name, "bias"), training=False, eps=L.eps)


def _layernorm(net, L, x):
    w, b = net.w(L.name, "weight"), net.w(L.name, "bias")
    if x.dim() == 2:
        return F.layer_norm(x, (x.shape[1],), w, b, L.eps)
    # ConvNeXt's LayerNorm2d: permute to (N, H, W, C), normalise the last axis, permute back.
    return F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), w, b, L.eps).permute(0, 3, 1, 2)


def _dense(net, L, x):
    w, b = net.w(L.name, "weight"), net.w(L.name, "bias")
    if L.per_position:  # ConvNeXt: nn.Linear on the permuted (N, H, W, C) map
        return F.linear(x.permute(0, 2, 3, 1), w, b).permute(0, 3, 1, 2)
    return F.linear(x, w, b)


def _convtranspose(net, L, x):
    return F.conv_transpose2d(x, net.w(L.name, "weight"), net.w(L.name, "bias"), L.stride, L.padding,
                              L.output_padding, L.groups, L.dilation)


def _upsample(net, L, x):
    if L.scale is not None:  # PyTorch's scale_factor path (its own source-index scale 1/f)
        return F.interpolate(x, scale_factor=tuple(float(f) for f in L.scale), mode=L.mode,
                             align_corners=L.align_corners)
    return F.interpolate(x, size=tuple(L.size), mode=L.mode, align_corners=L.align_corners)


def _rbf(net, L, x):
    return ((x[:, None, :] - net.w(L.name, "prototypes")[None]) ** 2).sum(-1)


def torchvision_stochastic_depth(x, p, mode, training):
    """torchvision.ops.stochastic_depth, written out (torchvision is not installed here): at
    inference, or with p = 0, the input itself; else a Bernoulli(1 − p) mask per row or per batch,
    scaled by 1/(1 − p)."""
    if not training or p == 0.0:
        return x
    shape = [x.shape[0]] + [1] * (x.ndim - 1) if mode == "row" else [1] * x.ndim
    keep = torch.empty(shape, dtype=x.dtype).bernoulli_(1.0 - p)
    return x * keep / (1.0 - p) if p < 1.0 else x * keep


def crop_sides(L, h, w):
    """(top, bottom, left, right) a crop removes from an h×w map, from its options: a centred crop
    removes ⌊(h − target)/2⌋ before and the rest after (docs/format.md § crop)."""
    if L.sides is not None:
        return tuple(L.sides)
    th, tw = L.size if L.size is not None else L.target[1:]  # `to`: the branch's shape, set by graph.walk
    return ((h - th) // 2, h - th - (h - th) // 2, (w - tw) // 2, w - tw - (w - tw) // 2)


def _crop(net, L, x):
    t, b, l, r = crop_sides(L, x.shape[2], x.shape[3])
    return x[:, :, t:x.shape[2] - b, l:x.shape[3] - r]


def channel_shuffle(x, groups):
    """torchvision.models.shufflenetv2.channel_shuffle, written out."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)


Kernel = Callable[["TorchNet", object, torch.Tensor], torch.Tensor]

ORACLE: dict[str, Kernel] = {
    "conv": _conv,
    "maxpool": _maxpool,
    "avgpool": _avgpool,
    "globalavgpool": lambda net, L, x: F.adaptive_avg_pool2d(x, 1),
    "globalmaxpool": lambda net, L, x: F.adaptive_max_pool2d(x, 1),
    "adaptiveavgpool": lambda net, L, x: F.adaptive_avg_pool2d(x, L.size),
    "subsample": _subsample,
    "dense": _dense,
    "flatten": lambda net, L, x: torch.flatten(x, 1),
    "batchnorm": _batchnorm,
    "lrn": lambda net, L, x: F.local_response_norm(x, L.size, L.alpha, L.beta, L.k),
    "rbf": _rbf,
    "convtranspose": _convtranspose,
    "upsample": _upsample,
    "dropout": lambda net, L, x: F.dropout(x, L.p, training=False),
    "identity": lambda net, L, x: torch.nn.Identity()(x),
    "relu": lambda net, L, x: F.relu(x),
    "leaky_relu": lambda net, L, x: F.leaky_relu(x, L.slope),
    "sigmoid": lambda net, L, x: torch.sigmoid(x),
    "tanh": lambda net, L, x: torch.tanh(x),
    "gelu": lambda net, L, x: F.gelu(x),
    "softmax": lambda net, L, x: F.softmax(x, dim=1),
    "relu6": lambda net, L, x: F.relu6(x),
    "hardtanh": lambda net, L, x: F.hardtanh(x, L.min, L.max),
    "hardsigmoid": lambda net, L, x: F.hardsigmoid(x),
    "hardswish": lambda net, L, x: F.hardswish(x),
    "silu": lambda net, L, x: F.silu(x),
    "mish": lambda net, L, x: F.mish(x),
    "elu": lambda net, L, x: F.elu(x, L.alpha),
    "prelu": lambda net, L, x: F.prelu(x, net.w(L.name, "weight")),
    "layernorm": _layernorm,
    "layer_scale": lambda net, L, x: x * net.w(L.name, "weight"),  # torchvision: self.layer_scale * result
    "stochastic_depth": lambda net, L, x: torchvision_stochastic_depth(x, L.p, L.mode, training=False),


    "pad": lambda net, L, x: F.pad(x, (L.sides[2], L.sides[3], L.sides[0], L.sides[1])),
    "crop": _crop,
    "slice": lambda net, L, x: x.chunk(L.chunks, dim=1)[L.index] if L.chunks else x[:, L.start or 0:L.stop],
    "shuffle": lambda net, L, x: channel_shuffle(x, L.groups),
}

MERGES: dict[str, Callable[[list[torch.Tensor]], torch.Tensor]] = {
    "concat": lambda xs: torch.cat(xs, dim=1),
    "add": lambda xs: torch.stack(xs).sum(0),
    "multiply": lambda xs: xs[0] * xs[1],  # a gate: input × its (broadcast) gate
}


class TorchNet(torch.nn.Module):
    def __init__(self, graph, weights):
        super().__init__()
        self.graph = graph
        self.params = torch.nn.ParameterDict()
        self.buffers_ = {}
        self._layers = {}
        for key, a in weights.items():
            path, name = key.rsplit(".", 1)
            t = torch.from_numpy(a.copy())
            if name in ("running_mean", "running_var", "prototypes"):
                self.buffers_[key] = t
            else:
                if name == "weight" and getattr(self._layer(path), "table", None) is not None:
                    # LeNet-5 C3: only the table's connections are trainable weights.
                    layer = self._layer(path)
                    mask = torch.zeros(t.shape[:2], dtype=torch.bool)
                    for i, row in enumerate(layer.table):
                        mask[i, list(row)] = True
                    self.params[key.replace(".", "__")] = torch.nn.Parameter(t[mask])
                    self._layers[key] = (mask, t.shape)
                    continue
                self.params[key.replace(".", "__")] = torch.nn.Parameter(t)

    def _layer(self, path):
        if not hasattr(self, "_by_name"):
            self._by_name = {layer.name: layer for layer in iter_layers(self.graph.nodes)}
        return self._by_name.get(path)

    def w(self, path, name):
        key = f"{path}.{name}"
        if key in self.buffers_:
            return self.buffers_[key]
        p = self.params.get(key.replace(".", "__"))
        if p is not None and key in self._layers:
            mask, shape = self._layers[key]
            full = torch.zeros(shape, dtype=p.dtype)
            full[mask] = p
            return full
        return p

    def forward(self, x):
        # graph.walk: the same walk (order, branches, projection shortcuts) as the engine's.
        return walk(self.graph.nodes, x, self)

    # -- graph.Visitor ------------------------------------------------------------------------
    def layer(self, layer, x, source):
        return ORACLE[layer.kind](self, layer, x)

    def merge(self, layer, xs, source):
        return MERGES[layer.kind](xs)

    def shape(self, x):
        return tuple(x.shape[1:])


def hooked_macs(model: torch.nn.Module, shape) -> tuple[int, tuple[int, ...]]:
    """The MACs of a PyTorch model's Conv2d, ConvTranspose2d and Linear layers (bias left out),
    counted by forward hooks (fvcore's rule): Conv2d output elements · C_in/groups · kh · kw;
    ConvTranspose2d input elements · C_out/groups · kh · kw; Linear output elements · in_features.
    One sample of `shape`, on the device the model's weights are on (on the meta device shapes
    propagate and nothing is computed). Returns (MACs, the output's shape)."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Linear):
            total += output.numel() * module.in_features
            return
        k = module.kernel_size[0] * module.kernel_size[1]
        if isinstance(module, torch.nn.ConvTranspose2d):
            total += inputs[0].numel() * module.out_channels // module.groups * k
        else:
            total += output.numel() * module.in_channels // module.groups * k

    kinds = (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    device = next(model.parameters()).device
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, *shape, device=device))
    finally:
        for h in handles:
            h.remove()
    return total, tuple(out.shape[1:])
