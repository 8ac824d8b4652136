"""A brute-force receptive-field oracle: which input rows and columns can reach each output unit,
measured by running the network, not computed from the engine's formulas. Test code only.

Every layer is replaced by its connectivity (PyTorch, float64): convolutions and dense layers
with all-ones weights, pooling by a sum over the same windows, elementwise layers by the
identity, merges by a sum or a concat. With non-negative weights nothing cancels, so an output is
non-zero exactly where some input it depends on is non-zero. Two probes run through it:

- reach: one sample per input row (or column) with that row set to 1: output unit (i, j) of
  sample y is non-zero iff input row y can reach it;
- padding: a zero input whose every padding (and ceil-mode overhang) is 1: a unit is non-zero iff
  its computation reads a padded position somewhere (for a transposed convolution, a position
  past its input's border; for bilinear upsampling, a source coordinate clamped at the border).
  Units that read none are *interior*: every position they depend on is real, so their measured
  field must equal the engine's exactly.

Channels are collapsed to one: every channel of a tensor goes through the same spatial windows, so
the field of "any channel of unit (i, j)" is the same computed on one channel (a union of fields
through a window is the window of the union), and the oracle stays fast on wide networks.

Window geometry comes from the layers' options through PyTorch's own pooling/conv calls, with
TensorFlow's `same` rule recomputed here (tests/torch_reference.py), not from cnncalc's shapes.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F

from cnncalc.analysis import analyse
from cnncalc.graph import walk
from torch_reference import crop_sides, tf_same


@dataclass
class Measured:
    """Per layer, per output unit (i, j): the input rows/columns reaching it and whether it is interior."""

    rows: np.ndarray  # bool (H_in, H_out, W_out): rows[y, i, j] — input row y reaches unit (i, j)
    cols: np.ndarray  # bool (W_in, H_out, W_out)
    interior: np.ndarray  # bool (H_out, W_out)


def _pads(layer, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), `same` by TensorFlow's rule."""
    if layer.padding == "same":
        d = getattr(layer, "dilation", (1, 1))
        k, s = layer.kernel, layer.stride
        return (*tf_same(h, k[0], s[0], d[0]), *tf_same(w, k[1], s[1], d[1]))
    return tuple(layer.padding)


class _Connectivity:
    """graph.walk visitor: x is (reach, pad) — the two probes, each an (N, C, H, W) or (N, F) tensor."""

    def __init__(self, keep: set[str] | None = None):
        self.outputs: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.keep = keep  # layer names whose outputs are kept (None: all)

    def shape(self, x):
        return tuple(x[0].shape[1:])

    def layer(self, layer, x, source):
        y = tuple(self._one(layer, t, probe) for probe, t in enumerate(x))
        if self.keep is None or layer.name in self.keep:
            self.outputs[layer.name] = y
        return y

    def merge(self, layer, xs, source):
        parts = list(zip(*xs))
        y = tuple(sum(p) for p in parts)  # one channel: concat and add both take the union
        if self.keep is None or layer.name in self.keep:
            self.outputs[layer.name] = y
        return y

    def _one(self, L, x: torch.Tensor, probe: int) -> torch.Tensor:
        k = L.kind
        pad_value = float(probe)  # the padding probe marks padded positions with 1
        if k == "conv":
            t, b, l, r = _pads(L, x.shape[2], x.shape[3])
            w = torch.ones(1, 1, *L.kernel, dtype=x.dtype)
            return _norm(F.conv2d(F.pad(x, (l, r, t, b), value=pad_value), w, None, L.stride, 0, L.dilation))
        if k in ("maxpool", "avgpool", "subsample"):
            return _norm(self._pool(L, x, pad_value))
        if k in ("globalavgpool", "globalmaxpool"):
            return _norm(x.sum(dim=(2, 3), keepdim=True))
        if k == "adaptiveavgpool":
            return _norm(F.adaptive_avg_pool2d(x, L.size))
        if k in ("dense", "rbf"):
            return _norm(x.sum(dim=1, keepdim=True).expand(-1, L.units).contiguous())
        if k == "flatten":
            return torch.flatten(x, 1)
        if k == "pad":
            t, b, l, r = L.sides
            return F.pad(x, (l, r, t, b), value=pad_value)
        if k == "crop":
            t, b, l, r = crop_sides(L, x.shape[2], x.shape[3])
            return x[:, :, t:x.shape[2] - b, l:x.shape[3] - r]
        if k == "convtranspose":
            return _norm(self._transposed(L, x, pad_value))
        if k == "upsample":
            return _norm(self._upsample(L, x, probe))
        return x  # elementwise: activations, batch norm, LRN (mixes channels, not positions), dropout

    @staticmethod
    def _pool(L, x: torch.Tensor, pad_value: float) -> torch.Tensor:
        h, w = x.shape[2:]
        pads = _pads(L, h, w) if k_has_padding(L) else (0, 0, 0, 0)
        t, b, l, r = pads
        ceil = getattr(L, "ceil_mode", False)
        if ceil:
            # PyTorch decides the output size (a last window must start inside the input or the
            # left padding); the overhang of a ceil-mode window is padding too.
            assert t == b and l == r, "the oracle supports ceil_mode with symmetric padding"
            out_h, out_w = F.max_pool2d(torch.zeros(1, 1, h, w), L.kernel, L.stride, (t, l), ceil_mode=True).shape[2:]
            b = max(b, (out_h - 1) * L.stride[0] + L.kernel[0] - h - t)
            r = max(r, (out_w - 1) * L.stride[1] + L.kernel[1] - w - l)
        y = F.avg_pool2d(F.pad(x, (l, r, t, b), value=pad_value), L.kernel, L.stride)
        if ceil:
            y = y[:, :, :out_h, :out_w]
        return y


    @staticmethod
    def _transposed(L, x: torch.Tensor, pad_value: float) -> torch.Tensor:
        """Ones weights. Positions past the input's border are what a transposed convolution's
        output reads outside its input: the input is extended by m pixels of `pad_value` on every
        side and m·s more rows cropped, which leaves every output position where it was (output
        o = i·s − p + t·d; i → i + m moves it by m·s)."""
        (kh, kw), (sh, sw), (dh, dw), (oph, opw) = L.kernel, L.stride, L.dilation, L.output_padding
        mh = (dh * (kh - 1) + 1 + oph) // sh + 2
        mw = (dw * (kw - 1) + 1 + opw) // sw + 2
        w = torch.ones(1, 1, kh, kw, dtype=x.dtype)
        xe = F.pad(x, (mw, mw, mh, mh), value=pad_value)
        pad = (L.padding[0] + mh * sh, L.padding[1] + mw * sw)
        return F.conv_transpose2d(xe, w, None, L.stride, pad, L.output_padding, 1, L.dilation)

    @staticmethod
    def _upsample(L, x: torch.Tensor, probe: int) -> torch.Tensor:
        """F.interpolate as the forward pass calls it. PyTorch computes bilinear's source coordinate
        in floating point: where the exact weight is 0 it can leave ~1e-16, which is not a
        connection, so values below 1e-13 of the largest are dropped (a real weight here is at least
        1/(2·out) per axis). The padding probe also marks the units whose source coordinate PyTorch
        clamps at the border (bilinear without align_corners: below 0 or past in − 1), computed
        here from PyTorch's documented formula: those units read a position beyond the input."""
        h, w = x.shape[2:]
        if L.scale is not None:
            y = F.interpolate(x, scale_factor=tuple(float(f) for f in L.scale), mode=L.mode,
                              align_corners=L.align_corners)
        else:
            y = F.interpolate(x, size=tuple(L.size), mode=L.mode, align_corners=L.align_corners)
        m = y.abs().max()
        if m > 0:
            y = torch.where(y.abs() < 1e-13 * m, torch.zeros_like(y), y)
        if probe == 1 and L.mode == "bilinear" and not L.align_corners:
            oh, ow = y.shape[2:]
            rows = torch.tensor([_clamped(o, h, oh) for o in range(oh)], dtype=torch.bool)
            cols = torch.tensor([_clamped(o, w, ow) for o in range(ow)], dtype=torch.bool)
            y = y + (rows[:, None] | cols[None, :]).to(y.dtype)
        return y


def _clamped(o: int, n: int, m: int) -> bool:
    """PyTorch's bilinear (align_corners false): source (o + 0.5)·n/m − 0.5, clamped into [0, n − 1]."""
    src = (Fraction(2 * o + 1) * n / m - 1) / 2
    return src < 0 or src > n - 1


def k_has_padding(layer) -> bool:
    return hasattr(layer, "padding")


def _norm(x: torch.Tensor) -> torch.Tensor:
    """Scale into [0, 1] so that deep all-ones networks never overflow; zeros stay zeros."""
    m = x.abs().max()
    return x / m if m > 0 else x


def measure(graph, keep: set[str] | None = None) -> dict[str, Measured]:
    """Per layer name: the measured receptive field of every output unit (feature-map layers only);
    `keep` limits it to those layers (a large network's probes would not fit in memory otherwise)."""
    analyse(graph)  # builds any projection shortcut from the true channel counts (the probes have one)
    _, h, w = graph.input_shape
    row_probe = torch.zeros(h, 1, h, w, dtype=torch.float64)
    row_probe[torch.arange(h), :, torch.arange(h), :] = 1
    col_probe = torch.zeros(w, 1, h, w, dtype=torch.float64)
    col_probe[torch.arange(w), :, :, torch.arange(w)] = 1
    pad_probe = torch.zeros(1, 1, h, w, dtype=torch.float64)
    runs = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: two threads on a busy 2-core machine are 30× slower
    try:
        for probe in (row_probe, col_probe):
            visitor = _Connectivity(keep)
            with torch.no_grad():
                walk(graph.nodes, (probe, pad_probe.expand(probe.shape[0], -1, -1, -1).contiguous()), visitor)
            runs.append(visitor.outputs)
    finally:
        torch.set_num_threads(threads)
    out = {}
    for name, (reach_r, pad_r) in runs[0].items():
        if reach_r.dim() != 4:
            continue
        reach_c = runs[1][name][0]
        out[name] = Measured(
            rows=(reach_r.abs().amax(dim=1) > 0).numpy(),
            cols=(reach_c.abs().amax(dim=1) > 0).numpy(),
            interior=(pad_r[0].abs().amax(dim=0) == 0).numpy(),
        )
    return out
