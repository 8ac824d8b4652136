"""The two layer kinds particular to LeNet-5 (LeCun et al., 1998)."""
from __future__ import annotations

from ..formula import Num, product
from ..shapes import Shape
from . import options as opt
from .base import GLOBAL, Counts, Layer, Option, Output, Window


class Subsample(Layer):
    """S2/S4: each map's window sum times one trainable coefficient, plus one trainable bias."""

    kind = "subsample"
    primary = "kernel"
    options = {
        "kernel": Option(opt.pair, 2, "window size: k or [kh, kw]"),
        "stride": Option(opt.pair, None, "step between windows; defaults to the kernel"),
    }

    def check(self) -> None:
        if self.stride is None:
            self.stride = self.kernel

    def output(self, in_shape: Shape) -> Output:
        c, h, w = self.feature_map(in_shape)
        return self.sliding_output(c, h, w, self.kernel, self.stride)

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        kh, kw = self.kernel
        return Counts(params=Num(2) * out.shape[0], connections=product(out.shape) * (Num(kh) * kw + 1))

    def window(self, in_shape: Shape, out: Output) -> Window:
        return Window(self.kernel, self.stride, (0, 0))

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        return {"weight": (in_shape[0],), "bias": (in_shape[0],)}

    def forward(self, x, weights):
        from ..kernels.elementwise import subsample
        return subsample(x, weights["weight"], weights["bias"], self.kernel, self.geometry(x.shape[1:]).axes)


class RBF(Layer):
    """The paper's output layer: y_i = Σ_j (x_j − w_ij)², with fixed (non-trainable) prototypes."""

    kind = "rbf"
    primary = "units"
    options = {"units": Option(opt.positive_int, doc="number of classes")}

    def output(self, in_shape: Shape) -> Output:
        if len(in_shape) != 1:
            raise self.fail(f"rbf needs a vector input, but its input is {'×'.join(map(str, in_shape))}; "
                            "add `- flatten` before it")
        return Output((self.units,))

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        edges = Num(self.units) * in_shape[0]
        return Counts(non_trainable=edges, connections=edges, macs=edges)

    def window(self, in_shape: Shape, out: Output) -> str:
        return GLOBAL

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        return {"prototypes": (self.units, in_shape[0])}

    def trainable_names(self) -> tuple[str, ...]:
        return ()

    def forward(self, x, weights):
        from ..kernels.elementwise import rbf
        return rbf(x, weights["prototypes"])
