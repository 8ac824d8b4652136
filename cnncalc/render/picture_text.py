"""The words and numbers written on the pictures, shared by every style: formatting only."""
from __future__ import annotations

from ..i18n import _
from ..records import LayerRecord
from .columns import shape_text
from .explain_view import kind_label

POOLS = ("maxpool", "avgpool", "globalavgpool", "globalmaxpool", "adaptiveavgpool", "subsample")
DENSE = ("dense", "rbf")


def kind_class(kind: str) -> str:
    """The colour family of a box."""
    if "conv" in kind:  # conv, convtranspose, depthwise variants
        return "conv"
    if kind in POOLS or kind.endswith("pool"):
        return "pool"
    if kind in DENSE:
        return "dense"
    return "other"


def _pair(value) -> str:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"
    return ""


def kind_text(r: LayerRecord) -> str:
    """`conv 5×5`, `maxpool 3×3 /2`: the kind with its window and stride, as a figure labels it."""
    text = kind_label(r.type)
    kernel = r.options.get("kernel")
    if isinstance(kernel, tuple) and len(kernel) == 2:
        text += f" {kernel[0]}×{kernel[1]}"
        stride = r.options.get("stride") or kernel
        if _pair(stride) not in ("", "1"):
            text += f" /{_pair(stride)}"
    return text


def params_text(n: int) -> str:
    return _("{n} params").format(n=f"{n:,}")


def map_label(shape: tuple[int, ...]) -> str:
    """`6@28×28` for a feature map, the length for a vector."""
    if len(shape) == 3:
        return f"{shape[0]}@{shape[1]}×{shape[2]}"
    return shape_text(shape)


def local_name(name: str, scope: str) -> str:
    """A layer's name inside its frame or lane (`conv1` in `layer1.0`); a bare number keeps the
    segment before it (`shortcut.0`)."""
    rest = name[len(scope) + 1:] if scope and name.startswith(scope + ".") else name
    if rest.isdigit() and "." in name:
        return ".".join(name.rsplit(".", 2)[-2:])
    return rest
