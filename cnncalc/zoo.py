"""The built-in architectures, shipped inside the installed package as `cnncalc.architectures`."""
from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from .errors import did_you_mean

# `cnncalc list` groups the built-ins by family, in this order, each family's networks in the
# order written. To add a built-in, add its name to its family's row (or a new row); one that no
# row names is listed last, under OTHER. A family without a built-in yet is not shown.
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("LeNet", ("lenet5-1998", "lenet5")),
    ("AlexNet/VGG/NiN", ("alexnet", "nin", "vgg16")),
    ("Inception", ("googlenet", "inception_v3", "inception_v3_aux")),
    ("ResNet/ResNeXt", ("resnet18", "resnet50", "resnext50_32x4d")),
    ("DenseNet", ("densenet121",)),
    ("SqueezeNet", ("squeezenet1_1",)),
    ("MobileNet/EfficientNet", ("mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0")),
    ("ShuffleNet", ("shufflenet_v2_x1_0",)),
    ("RegNet", ("regnet_y_400mf",)),
    ("ConvNeXt", ("convnext_tiny",)),
    ("U-Net", ("unet",)),
    ("examples", ("feature-map-example", "rf-example")),
)
OTHER = "other"


def _folder() -> Traversable:
    return resources.files("cnncalc.architectures")


def names() -> list[str]:
    return sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".yaml"))


def grouped() -> list[tuple[str, str]]:
    """(family, name) for every built-in: FAMILIES' order, then those no row names, under OTHER.
    A family without a built-in yet is left out."""
    present = set(names())
    listed = [(family, n) for family, members in FAMILIES for n in members if n in present]
    named = {n for _, n in listed}
    return listed + [(OTHER, n) for n in sorted(present - named)]


def find(name: str) -> Traversable | None:
    """The built-in of that name (`lenet5` or `lenet5.yaml`), or None. Only names the package
    lists: `../x` must not reach a file outside it, nor a 300-character name the file system."""
    name = name[:-5] if name.endswith(".yaml") else name
    return _folder() / f"{name}.yaml" if name in names() else None


def suggest(name: str) -> str:
    return "built-in architectures: " + did_you_mean(name, names()).replace("expected one of: ", "")
