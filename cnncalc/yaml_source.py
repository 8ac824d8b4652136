"""Safe YAML loading that remembers where every value came from.

Mappings load as `MarkedDict` and sequences as `MarkedList`: plain dict/list subclasses that also
carry the position of the container, of each key and of each value. Only `yaml.SafeLoader` is
used (through a subclass), so no YAML tag can construct arbitrary Python objects.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .errors import CnnError, Where
from .i18n import msg


class MarkedDict(dict):
    where: Where
    key_where: dict
    value_where: dict


class MarkedList(list):
    where: Where
    item_where: list


def _where(file: str, mark) -> Where:
    return Where(file, mark.line + 1, mark.column + 1)


class _MarkedLoader(yaml.SafeLoader):
    source_name = "<input>"


def _construct_mapping(loader: _MarkedLoader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.where = _where(loader.source_name, node.start_mark)
    result.key_where, result.value_where = {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (list, dict)):
            raise CnnError("a mapping key must be a plain word", _where(loader.source_name, key_node.start_mark))
        if key in result:
            raise CnnError(
                f"key '{key}' appears twice in this mapping; keep one",
                _where(loader.source_name, key_node.start_mark),
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_where[key] = _where(loader.source_name, key_node.start_mark)
        result.value_where[key] = _where(loader.source_name, value_node.start_mark)
    return result


def _construct_sequence(loader: _MarkedLoader, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.where = _where(loader.source_name, node.start_mark)
    result.item_where = [_where(loader.source_name, child.start_mark) for child in node.value]
    return result


_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


# A document that expands to more values than this (aliases of aliases: a "billion laughs") is
# refused before anything walks it; real architectures have a few thousand.
MAX_VALUES = 1_000_000


def _expanded_size(node: yaml.Node, memo: dict[int, int], open_: set[int], source: str) -> int:
    """How many values the document holds once every alias is expanded (memoised per node, so a
    bomb is measured without being expanded)."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in open_:
        raise CnnError("a YAML alias refers to the collection that contains it", _where(source, node.start_mark))
    open_.add(key)
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo, open_, source) + _expanded_size(v, memo, open_, source)
                       for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, memo, open_, source) for child in node.value)
    else:
        size = 1
    open_.discard(key)
    if size > MAX_VALUES:
        raise CnnError(f"this document expands to more than {MAX_VALUES:,} values through YAML aliases "
                       "(&anchor / *alias); write the repetition with `repeat` or a block instead",
                       _where(source, node.start_mark))
    memo[key] = size
    return size


# PyYAML's wording → what to do about it.
_YAML_HINTS = (
    ("'\\t'", "indent with spaces, not tabs"),
    ("<block end>", "check this line's indentation against the lines above it"),
    ("could not determine a constructor", "cnncalc reads plain YAML only (safe loading); remove the tag"),
    ("expected ',' or '}'", "close the `{` of a flow mapping with `}`"),
    ("expected ',' or ']'", "close the `[` of a flow list with `]`"),
    ("end of stream", "a quote or bracket opened earlier is never closed"),
)


def _yaml_problem(problem: str) -> str:
    hints = [hint for needle, hint in _YAML_HINTS if needle in problem]
    return msg("this is not valid YAML: {why}", why=problem + (f"; {hints[0]}" if hints else ""))


def load_yaml_text(text: str, source_name: str):
    """Parse YAML text; syntax errors become a CnnError with the file position."""
    loader = _MarkedLoader(text)
    loader.source_name = source_name
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {}, set(), source_name)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _where(source_name, mark) if mark else Where(source_name)
        raise CnnError(_yaml_problem(exc.problem or exc.context or ""), where) from None
    except yaml.YAMLError as exc:
        raise CnnError(msg("this is not valid YAML: {why}", why=str(exc)), Where(source_name)) from None
    except RecursionError:
        raise CnnError("this YAML is nested too deeply to read (hundreds of levels of brackets or "
                       "indentation)", Where(source_name)) from None
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CnnError(f"cannot read the file: {exc.strerror}", Where(str(path))) from None
    except UnicodeDecodeError as exc:
        raise CnnError(_not_utf8_message(exc), _byte_where(str(path), exc)) from None
    return load_yaml_text(text, str(path))


def _byte_where(path: str, exc: UnicodeDecodeError) -> Where:
    before = exc.object[: exc.start]
    line = before.count(b"\n") + 1
    column = len(before) - (before.rfind(b"\n") + 1) + 1
    return Where(path, line, column)


def _not_utf8_message(exc: UnicodeDecodeError) -> str:
    return (f"the file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save it as UTF-8 "
            "(most editors: File → Save with encoding)")


def where_of_key(container, key, fallback: Where | None = None) -> Where | None:
    """Position of `container[key]`'s value, or of the container, or the fallback."""
    if isinstance(container, MarkedDict):
        return container.value_where.get(key, container.where)
    if isinstance(container, MarkedList) and isinstance(key, int) and key < len(container.item_where):
        return container.item_where[key]
    return getattr(container, "where", fallback)
