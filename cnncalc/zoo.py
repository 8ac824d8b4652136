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
    name = name[:-5] if name.endswith(".yaml") else name
    candidate = _folder() / f"{name}.yaml"
    return candidate if candidate.is_file() else None


def suggest(name: str) -> str:
    return "built-in architectures: " + did_you_mean(name, names()).replace("expected one of: ", "")
