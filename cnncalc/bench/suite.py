"""The benchmark cases: one small frozen record per layer, and the documented default suite.

No NumPy here: the CLI builds cases before it imports anything heavy."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..shapes import AxisResult, window_axis


@dataclass(frozen=True)
class Case:
    """One layer to time. `shape` is (N, C, H, W) for conv/pool and (N, in) for dense; `filters`
    is the output channels (conv) or output features (dense); padding is (top, bottom, left, right)."""

    name: str
    layer: str  # "conv" | "pool" | "dense"
    shape: tuple[int, ...]
    filters: int = 0
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    pool: str = "max"  # "max" | "avg" (pool only)
    dtype: str = "float32"

    # -- derived sizes, by the engine's one output-size rule (cnncalc.shapes) -------------------
    def axes(self) -> tuple[AxisResult, AxisResult]:
        """Output size, padding and stride per axis (conv/pool), as the layers' forward pass gets them."""
        _, _, h, w = self.shape
        return (window_axis("H", h, self.kernel[0], self.stride[0], self.dilation[0], self.padding),
                window_axis("W", w, self.kernel[1], self.stride[1], self.dilation[1], self.padding))

    def out_hw(self) -> tuple[int, int]:
        h, w = self.axes()
        return h.size, w.size

    def out_shape(self) -> tuple[int, ...]:
        if self.layer == "dense":
            return (self.shape[0], self.filters)
        ho, wo = self.out_hw()
        channels = self.filters if self.layer == "conv" else self.shape[1]
        return (self.shape[0], channels, ho, wo)

    def macs(self) -> int:
        """Conv/dense: multiply-accumulates without bias (docs/design.md). Pool: window elements
        visited (one compare or add each), so that pooling gets an 'operations per second'."""
        if self.layer == "dense":
            return self.shape[0] * self.shape[1] * self.filters
        n, c, _, _ = self.shape
        ho, wo = self.out_hw()
        kh, kw = self.kernel
        if self.layer == "conv":
            return n * self.filters * ho * wo * (c // self.groups) * kh * kw
        return n * c * ho * wo * kh * kw

    def flops(self) -> int:
        """FLOPs = 2·MACs for conv and dense; one operation per window element for pooling."""
        return self.macs() if self.layer == "pool" else 2 * self.macs()

    def gemm_mnk(self) -> tuple[int, int, int, int] | None:
        """(M, N, K, groups) of the im2col matrix product, or None for pooling."""
        if self.layer == "dense":
            return (self.shape[0], self.filters, self.shape[1], 1)
        if self.layer == "pool":
            return None
        n, c, _, _ = self.shape
        ho, wo = self.out_hw()
        kh, kw = self.kernel
        g = self.groups
        return (n * ho * wo, self.filters // g, c // g * kh * kw, g)

    def describe(self) -> str:
        def pair(p: tuple[int, int]) -> str:
            return str(p[0]) if p[0] == p[1] else f"{p[0]}×{p[1]}"
        if self.layer == "dense":
            return f"{self.shape[0]}×{self.shape[1]} → {self.filters}"
        dims = "×".join(str(s) for s in self.shape)
        k = f"{self.kernel[0]}×{self.kernel[1]}"
        extra = ""
        if self.stride != (1, 1):
            extra += f"/s{pair(self.stride)}"
        if any(self.padding):
            t, b, l, r = self.padding
            extra += f" p{t}" if len(set(self.padding)) == 1 else f" p{t},{b},{l},{r}"
        if self.dilation != (1, 1):
            extra += f" d{pair(self.dilation)}"
        if self.groups != 1:
            extra += f" g{self.groups}"
        if self.layer == "conv":
            return f"{dims} → {self.filters}, {k}{extra}"
        return f"{dims}, {self.pool} {k}{extra}"

    def with_dtype(self, dtype: str) -> "Case":
        return replace(self, dtype=dtype)


def _conv(name, shape, filters, k, s=1, p=0) -> Case:
    return Case(name, "conv", shape, filters, (k, k), (s, s), (p, p, p, p))


# The documented suite (docs/bench.md). Batch sizes keep every case well under a second with
# im2col on 2 cores while the column buffers stay below ~250 MB in float64.
SUITE: tuple[Case, ...] = (
    _conv("lenet5-c1", (64, 1, 32, 32), 6, 5),
    _conv("lenet5-c3", (64, 6, 14, 14), 16, 5),
    _conv("resnet-stem", (8, 3, 224, 224), 64, 7, 2, 3),
    _conv("conv3x3-56", (32, 64, 56, 56), 64, 3, 1, 1),
    _conv("conv3x3-14", (32, 256, 14, 14), 256, 3, 1, 1),
    _conv("conv3x3s2-28", (32, 128, 28, 28), 256, 3, 2, 1),  # ResNet's downsampling (layer3.0.conv1)
    _conv("conv1x1-56", (32, 256, 56, 56), 64, 1),
    Case("maxpool2x2-112", "pool", (32, 64, 112, 112), 0, (2, 2), (2, 2)),
    Case("maxpool3x3-112", "pool", (32, 64, 112, 112), 0, (3, 3), (2, 2), (1, 1, 1, 1)),
    Case("dense-4096", "dense", (64, 4096), 4096),
)

LAYERS = ("conv", "pool", "dense")


def suite(layer: str = "all", dtype: str = "float32") -> list[Case]:
    return [c.with_dtype(dtype) for c in SUITE if layer in ("all", c.layer)]
