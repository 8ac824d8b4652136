"""What every layer kind shares: declared options, and the four questions the engine asks.

A layer kind answers, for a given input shape:
  output(in_shape)          -> Output: the output shape, per-axis derivations and notes
  counts(in_shape, out)     -> Counts: params, non-trainable, connections, MACs (as formulas)
  window(in_shape, out)     -> how it moves the receptive field (None: elementwise, GLOBAL: whole input)
  forward(x, weights)       -> the NumPy forward pass
and, where it owns arrays, weight_shapes(in_shape) (none by default; the forward pass checks the
arrays it makes against `counts`).

The contract fails closed: a kind that does not answer one of the four questions, itself or
through a family base that answers it on purpose (`Elementwise`), is refused with a CnnError
naming the kind and the question, never given zero counts or an unchanged receptive field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

from ..errors import CnnError, Where
from ..formula import ZERO, Expr
from ..shapes import AxisResult, Shape, sliding_axes
from ..quoting import cut
from ..yaml_source import WrittenInt, where_of_key

REQUIRED = object()


@dataclass(frozen=True)
class Option:
    parse: Callable[[Any], Any]  # raises ValueError("what would be right") on a bad value
    default: Any = REQUIRED
    doc: str = ""


@dataclass(frozen=True)
class Output:
    shape: Shape
    axes: tuple[AxisResult, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Counts:
    params: Expr = ZERO
    non_trainable: Expr = ZERO
    connections: Expr = ZERO
    macs: Expr = ZERO


@dataclass(frozen=True)
class Window:
    kernel: tuple[int, int]  # effective kernel k' per axis
    stride: tuple[int, int]
    pad_lo: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)  # the taps inside k' are `dilation` apart


@dataclass(frozen=True)
class Varying:
    """A layer whose windows differ in size or spacing from unit to unit (adaptive pooling to a
    size that does not divide its input): no single receptive field exists after it."""

    reason: str


@dataclass(frozen=True)
class Resample:
    """A layer whose output units read their input units by a periodic map instead of one sliding
    window (transposed convolution, upsampling): per axis, receptive_field.AxisMap."""

    maps: tuple  # (AxisMap for H, AxisMap for W)


GLOBAL = "global"


class Layer:
    kind: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = {}
    primary: ClassVar[str | None] = None  # the option a bare scalar sets: `- dense: 84`
    auto_name: ClassVar[str | None] = None  # prefix of automatic names; the kind by default

    def __init__(self, name: str, opts: dict[str, Any], where: Where | None = None):
        self.name = name
        self.where = where
        for key, value in opts.items():
            setattr(self, key, value)
        self.check()

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any], where: Where | None = None, *,
                     value_where: Where | None = None) -> Layer:
        """The layer from options written as a user writes them (`stride: 2`, `padding: same`).

        The one place where options are parsed and defaults filled in: the builder and the
        projection shortcut both come here, so a default cannot differ between them. Unknown keys
        are the caller's to refuse (it knows where they were written). `value_where` locates a
        value that `options` carries no mark for (the scalar of `- dense: 84`); `where` otherwise.
        """
        values: dict[str, Any] = {}
        for key, option in cls.options.items():
            if key not in options:
                if option.default is REQUIRED:
                    raise CnnError(f"{cls.kind} needs `{key}` ({option.doc})", where, name)
                # Defaults are written as a user would write them (`stride: 1`) and normalised alike.
                values[key] = None if option.default is None else option.parse(option.default)
                continue
            try:
                refuse_octal(options[key])
                values[key] = option.parse(options[key])
            except ValueError as exc:
                raise CnnError(f"{key} {exc}", where_of_key(options, key, value_where or where), name) from None
        return cls(name, values, where)

    # -- hooks for subclasses -------------------------------------------------------------
    def check(self) -> None:
        """Cross-option validation that needs no input shape."""

    # The four questions: each kind answers them; these defaults refuse (see the module docstring).
    def output(self, in_shape: Shape) -> Output:
        raise self.undeclared("output rule (`output`)")

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        raise self.undeclared("counts (`counts`)")

    def geometry(self, in_shape: Shape) -> Output:
        """`output(in_shape)`, kept per input shape for the forward pass's kernels, which ask on every
        run: the exact derivation behind it costs tens of microseconds a layer."""
        kept = self.__dict__.setdefault("_geometry", {})
        if in_shape not in kept:
            kept[in_shape] = self.output(in_shape)
        return kept[in_shape]

    def window(self, in_shape: Shape, out: Output) -> Window | str | None:
        raise self.undeclared("receptive-field move (`window`)")

    def weight_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        """Trainable arrays first, then fixed buffers (named as PyTorch names them)."""
        return {}

    def trainable_names(self) -> tuple[str, ...]:
        return ("weight", "bias")

    # May the forward pass write its result into its input array? The runner then calls
    # `forward(x, weights, in_place=True)`, and only when nothing else holds `x`: fresh pages cost
    # this machine ~0.5 ms per MB, so ReLU and batch norm reuse their input's memory.
    supports_in_place = False

    # A convolution right before this layer may apply it to each block of its output while the
    # block is still in cache (cnncalc.fusion; docs/forward.md § Fusion), when the kind is
    # `pointwise` (a function of each value alone, computed by `forward(x, {}, in_place=True)`) or
    # has a `channel_affine` (a per-channel scale and shift: batch norm at inference).
    pointwise = False

    def channel_affine(self, weights: dict) -> tuple[Any, Any] | None:
        """(scale, shift) per channel when this layer is x·scale + shift on each channel, else None."""
        return None

    def forward(self, x, weights: dict):
        """The NumPy forward pass on a batch `x` (N, *in_shape); kernels live in cnncalc.kernels."""
        raise self.undeclared("forward pass (`forward`)")

    def check_inline_weights(self, in_shape: Shape) -> None:
        """Inline `weights:` must fit the layer: checked by the analysis with the validator the
        forward pass uses (cnncalc.weights, pure Python: nested lists by their nested shape), so
        `params` rejects them as `forward` would, in the same words."""
        given = getattr(self, "weights", None)
        if given is None:
            return
        from ..weights import INLINE, check_arrays
        from .options import nested_shape
        check_arrays(self.weight_shapes(in_shape), {name: nested_shape(v) for name, v in given.items()}, INLINE,
                     self.where, self.name, bias_option="bias" in self.options)

    # -- helpers --------------------------------------------------------------------------
    def sliding_output(self, channels: int, h: int, w: int, kernel, stride, dilation=(1, 1),
                       padding: Any = (0, 0, 0, 0), ceil_mode: bool = False) -> Output:
        """The output of a window sliding over H and W (conv, pooling, subsampling): each axis by
        docs/design.md's rule, with its derivation and the notes on rows/columns a stride leaves out."""
        axes, notes = sliding_axes(h, w, tuple(kernel), tuple(stride), tuple(dilation),
                                   padding if isinstance(padding, str) else tuple(padding), bool(ceil_mode))
        return Output((channels, axes[0].size, axes[1].size), axes, notes)

    def fail(self, message: str) -> CnnError:
        return CnnError(message, self.where, self.name)

    def undeclared(self, what: str) -> CnnError:
        """A kind left a question of the contract unanswered: a bug in cnncalc, said plainly."""
        return self.fail(f"layer kind {self.kind or type(self).__name__} declares no {what}; "
                         "every kind must declare its output, counts, window and forward")

    def feature_map(self, in_shape: Shape) -> tuple[int, int, int]:
        if len(in_shape) != 3:
            raise self.fail(
                f"{self.kind} needs a (C, H, W) feature map, but its input is a vector of {in_shape[0]}; "
                "move it before the flatten/dense layers"
            )
        return in_shape  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


_OCTAL = re.compile(r"[-+]?0[0-7_]+")  # YAML 1.1's octal integers, which PyYAML reads as such


def refuse_octal(value: Any) -> None:
    """A whole number written with a leading zero (`filters: 010`) is an octal number to YAML 1.1
    (8): refused rather than read as a number the writer did not mean. `1_000`, `0x1f`, `+5` are
    read as written."""
    if isinstance(value, WrittenInt) and _OCTAL.fullmatch(value.text):
        raise ValueError(f"is written {cut(value.text)}, which YAML reads as the octal number {int(value)}; "
                         f"write it without the leading zero")
    if isinstance(value, list):
        for item in value:
            refuse_octal(item)


class Elementwise(Layer):
    """The family of kinds that transform each unit in place. It declares, for all of them: same
    shape, no params, no connections, receptive field unchanged. Each kind still declares its
    own `forward` (the family's maths differ); one that needs counts (batch norm) overrides them."""

    def output(self, in_shape: Shape) -> Output:
        return Output(in_shape)

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        return Counts()

    def window(self, in_shape: Shape, out: Output) -> None:
        return None
