"""The architecture document's own shape, checked before anything is expanded.

This module knows the top level of a YAML architecture file: which keys it may have, what `input`,
`input_data` and `blocks` must look like. It builds nothing; `builder` expands the validated
`Document` into a graph. Every error names the file, line and column of the offending key or value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import re
from typing import Any

from .errors import CnnError, Where, did_you_mean
from .i18n import msg
from .layers import KINDS
from .quoting import cut, shown
from .yaml_source import MarkedDict, WrittenInt, where_of_key

MAX_NAME = 64  # characters in a layer or block name: each message about a layer repeats it
TOP_LEVEL_KEYS = ("name", "description", "reference", "input", "input_data", "blocks", "layers")
STRUCTURAL = ("concat", "residual", "repeat", "gate")
BLOCK_KEYS = ("args", "layers", "description")


@dataclass
class Document:
    """A document whose top level is known to be right; `layers` and block bodies are still raw."""

    raw: MarkedDict
    source: str
    input_shape: tuple[int, ...]
    layers: list
    blocks: dict[str, MarkedDict] = field(default_factory=dict)

    def where(self, key: str) -> Where | None:
        return where_of_key(self.raw, key)

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or self.source)

    def text(self, key: str) -> str:
        return str(self.raw.get(key) or "")


def read_document(doc: Any, source: str, input_override: tuple[int, ...] | None = None) -> Document:
    """Check the top level in the order a reader would fix it: mapping, keys, input, blocks, layers."""
    if not isinstance(doc, dict):
        raise CnnError(
            "an architecture file is a mapping with at least `input: [C, H, W]` and `layers: [...]`",
            getattr(doc, "where", Where(source, 1, 1)),
        )
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            raise CnnError(msg("unknown key '{key}'; {hint}", key=cut(key), hint=did_you_mean(key, TOP_LEVEL_KEYS)),
                           doc.key_where[key])
    for key in ("input", "layers"):
        if key not in doc:
            raise CnnError(f"missing `{key}`", doc.where)
    input_shape = input_override or read_input(doc["input"], where_of_key(doc, "input"))
    blocks = read_blocks(doc.get("blocks") or {}, where_of_key(doc, "blocks"))
    layers = doc["layers"]
    if not isinstance(layers, list) or not layers:
        raise CnnError("`layers` must be a non-empty list", where_of_key(doc, "layers"))
    return Document(doc, source, input_shape, layers, blocks)


def read_input(value: Any, where: Where | None) -> tuple[int, ...]:
    if (isinstance(value, list) and len(value) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
        return tuple(value)
    raise CnnError(f"input must be [C, H, W] with whole numbers ≥ 1, got {shown(value)}", where)


def read_blocks(blocks: Any, where: Where | None) -> dict[str, MarkedDict]:
    """Block definitions by name; their bodies are expanded (and their layers checked) where used."""
    if not isinstance(blocks, dict):
        raise CnnError("`blocks` maps block names to {args: ..., layers: [...]}", where)
    for name, body in blocks.items():
        _check_block(name, body, where_of_key(blocks, name, where))
    return dict(blocks)


# docs/format.md § Naming: letters (any script), digits, `_` and `-`, in parts joined by single dots
# (`features.3.block.1.0`, torchvision's module paths). A whole number written in plain digits is
# read as those digits (`name: 0`).
_NAME = re.compile(r"[\w-]+(\.[\w-]+)*")


def checked_name(explicit: Any, where: Where | None) -> str:
    """A name as written, by the one rule above, of at most MAX_NAME characters."""
    if isinstance(explicit, WrittenInt):
        raise CnnError(f"name {cut(explicit.text)} is read by YAML as the number {int(explicit)}; to keep the "
                       f"characters, quote it: name: \"{cut(explicit.text)}\"", where)
    if not isinstance(explicit, (str, int)) or isinstance(explicit, bool):
        raise CnnError(f"name must be text such as conv1 or features.3, got {shown(explicit)}"
                       + ("; quote it" if isinstance(explicit, float) else ""), where)
    text = str(explicit)
    if len(text) > MAX_NAME:
        raise CnnError(f"name '{cut(text)}' has {len(text):,} characters; a name has at most {MAX_NAME}", where)
    if not _NAME.fullmatch(text):
        raise CnnError(f"name {shown(text)} is not a name: {_name_fault(text)}; a name is letters, digits, "
                       "`_` and `-`, in parts joined by dots (features.3.conv)", where)
    return text


def _name_fault(text: str) -> str:
    if text == "":
        return "it is empty"
    if text.startswith(".") or text.endswith(".") or ".." in text:
        return "a dot must stand between two parts"
    bad = next((c for c in text if not (c.isalnum() or c in "_-.")), text[0])
    return "it has a space" if bad == " " else f"it has {shown(bad)}"


def _check_block(name: Any, body: Any, where: Where | None) -> None:
    if not isinstance(name, str):
        raise CnnError(f"a block's name is text such as basic or fire, got {shown(name)}", where)
    checked_name(name, where)  # the one rule for names: it prefixes the names of unnamed calls
    if name in KINDS or name in STRUCTURAL:
        raise CnnError(f"block name '{name}' is already a layer kind; pick another name", where)
    if not isinstance(body, dict) or "layers" not in body:
        raise CnnError(f"block '{name}' needs `layers: [...]` (and optional `args: {{name: default}}`)", where)
    for key in body:
        if key not in BLOCK_KEYS:
            raise CnnError(f"unknown key '{cut(key)}' in block '{name}'; {did_you_mean(key, BLOCK_KEYS)}",
                           body.key_where[key])
    args = body.get("args") or {}
    if not isinstance(args, dict):
        raise CnnError(f"block '{name}': args must map argument names to defaults (null: required)",
                       where_of_key(body, "args"))
    if "name" in args:
        # A call's `name` names the block's scope (`- b: {name: layer1}`), so an argument of that
        # name could never be given: refused here, where it is written, not at each call.
        raise CnnError(f"block '{name}': `name` cannot be an argument, since `name` in a call names the "
                       "block's scope (`- b: {name: x}`); call the argument something else",
                       args.key_where["name"] if isinstance(args, MarkedDict) else where_of_key(body, "args"))


def read_input_data(document: Document) -> list | None:
    """Inline input for homework examples: [C][H][W] nested lists ([H][W] when C = 1), or None."""
    if "input_data" not in document.raw:
        return None
    value, shape = document.raw["input_data"], document.input_shape
    if shape[0] == 1 and isinstance(value, list) and value and isinstance(value[0], list) \
            and value[0] and not isinstance(value[0][0], list):
        value = [value]
    got = _nested_dims(value)
    if got != tuple(shape):
        what = "×".join(map(str, got)) if got else "not a rectangular nested list of numbers"
        raise CnnError(f"input_data must be {'×'.join(map(str, shape))} to match `input`, got {what}",
                       document.where("input_data"))
    return value


def _nested_dims(v: Any) -> tuple[int, ...] | None:
    """The shape of a rectangular nested list of numbers, or None."""
    if isinstance(v, list) and v:
        inner = [_nested_dims(x) for x in v]
        return (len(v), *inner[0]) if inner[0] is not None and all(i == inner[0] for i in inner) else None
    return () if isinstance(v, (int, float)) and not isinstance(v, bool) else None
