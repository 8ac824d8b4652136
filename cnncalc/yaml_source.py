"""Safe YAML loading that remembers where every value came from.

Mappings load as `MarkedDict` and sequences as `MarkedList`: plain dict/list subclasses that also
carry the position of the container, of each key and of each value. Only `yaml.SafeLoader` is
used (through a subclass), so no YAML tag can construct arbitrary Python objects.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .errors import CnnError, Where


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


def load_yaml_text(text: str, source_name: str):
    """Parse YAML text; syntax errors become a CnnError with the file position."""
    loader = _MarkedLoader(text)
    loader.source_name = source_name
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _where(source_name, mark) if mark else Where(source_name)
        raise CnnError(f"this is not valid YAML: {exc.problem or exc.context}", where) from None
    except yaml.YAMLError as exc:
        raise CnnError(f"this is not valid YAML: {exc}", Where(source_name)) from None
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CnnError(f"cannot read the file: {exc.strerror}", Where(str(path))) from None
    except UnicodeDecodeError:
        raise CnnError("the file is not UTF-8 text", Where(str(path))) from None
    return load_yaml_text(text, str(path))


def where_of_key(container, key, fallback: Where | None = None) -> Where | None:
    """Position of `container[key]`'s value, or of the container, or the fallback."""
    if isinstance(container, MarkedDict):
        return container.value_where.get(key, container.where)
    if isinstance(container, MarkedList) and isinstance(key, int) and key < len(container.item_where):
        return container.item_where[key]
    return getattr(container, "where", fallback)
