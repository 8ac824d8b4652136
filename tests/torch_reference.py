"""A PyTorch model built from a cnncalc graph and the forward pass's weights: every layer through
torch.nn.functional, parameters held as torch Parameters (so `sum(p.numel())` is PyTorch's count).
Test oracle only. Padding `same` is recomputed here from TensorFlow's rule, not taken from cnncalc."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from cnncalc.graph import ConcatNode, LayerNode, iter_layers


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
        return self.seq(self.graph.nodes, x)

    def seq(self, nodes, x):
        for n in nodes:
            x = self.node(n, x)
        return x

    def node(self, n, x):
        if isinstance(n, LayerNode):
            return self.layer(n.layer, x)
        if isinstance(n, ConcatNode):
            return torch.cat([self.seq(b, x) if b else x for b in n.branches], dim=1)
        body = self.seq(n.body, x)
        return body + self.seq(n.shortcut_nodes(tuple(x.shape[1:]), tuple(body.shape[1:])), x)

    def layer(self, L, x):
        k = L.kind
        p = L.name
        if k == "conv":
            t, b, l, r = _pads(L, x.shape[2], x.shape[3], L.dilation)
            if t == b and l == r:
                return F.conv2d(x, self.w(p, "weight"), self.w(p, "bias"), L.stride, (t, l), L.dilation, L.groups)
            return F.conv2d(F.pad(x, (l, r, t, b)), self.w(p, "weight"), self.w(p, "bias"), L.stride, 0,
                            L.dilation, L.groups)
        if k in ("maxpool", "avgpool"):
            t, b, l, r = _pads(L, x.shape[2], x.shape[3])
            if t == b and l == r:
                if k == "maxpool":
                    return F.max_pool2d(x, L.kernel, L.stride, (t, l), ceil_mode=L.ceil_mode)
                return F.avg_pool2d(x, L.kernel, L.stride, (t, l), ceil_mode=L.ceil_mode,
                                    count_include_pad=L.count_include_pad)
            assert k == "maxpool", "asymmetric average pooling is not in the tested nets"
            return F.max_pool2d(F.pad(x, (l, r, t, b), value=float("-inf")), L.kernel, L.stride,
                                ceil_mode=L.ceil_mode)
        if k == "globalavgpool":
            return F.adaptive_avg_pool2d(x, 1)
        if k == "globalmaxpool":
            return F.adaptive_max_pool2d(x, 1)
        if k == "adaptiveavgpool":
            return F.adaptive_avg_pool2d(x, L.size)
        if k == "subsample":
            s = F.avg_pool2d(x, L.kernel, L.stride) * (L.kernel[0] * L.kernel[1])
            return s * self.w(p, "weight").view(1, -1, 1, 1) + self.w(p, "bias").view(1, -1, 1, 1)
        if k == "dense":
            return F.linear(x, self.w(p, "weight"), self.w(p, "bias"))
        if k == "flatten":
            return torch.flatten(x, 1)
        if k == "batchnorm":
            return F.batch_norm(x, self.w(p, "running_mean"), self.w(p, "running_var"), self.w(p, "weight"),
                                self.w(p, "bias"), training=False, eps=L.eps)
        if k == "lrn":
            return F.local_response_norm(x, L.size, L.alpha, L.beta, L.k)
        if k == "rbf":
            return ((x[:, None, :] - self.w(p, "prototypes")[None]) ** 2).sum(-1)
        if k in ("dropout", "identity"):
            return x
        if k == "relu":
            return F.relu(x)
        if k == "leaky_relu":
            return F.leaky_relu(x, L.slope)
        if k == "sigmoid":
            return torch.sigmoid(x)
        if k == "tanh":
            return torch.tanh(x)
        if k == "gelu":
            return F.gelu(x)
        if k == "softmax":
            return F.softmax(x, dim=1)
        raise NotImplementedError(k)
