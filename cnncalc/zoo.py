"""The built-in architectures, shipped inside the installed package as `cnncalc.architectures`."""
from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from .errors import did_you_mean


def _folder() -> Traversable:
    return resources.files("cnncalc.architectures")


def names() -> list[str]:
    return sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".yaml"))


def find(name: str) -> Traversable | None:
    """The built-in of that name (`lenet5` or `lenet5.yaml`), or None. Only names the package
    lists: `../x` must not reach a file outside it, nor a 300-character name the file system."""
    name = name[:-5] if name.endswith(".yaml") else name
    return _folder() / f"{name}.yaml" if name in names() else None


def suggest(name: str) -> str:
    return "built-in architectures: " + did_you_mean(name, names()).replace("expected one of: ", "")
