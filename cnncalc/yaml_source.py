"""Safe YAML loading that remembers where every value came from.

Mappings load as `MarkedDict` and sequences as `MarkedList`: plain dict/list subclasses that also
carry the position of the container, of each key and of each value. Only PyYAML's safe constructor
is used (through a subclass), so no YAML tag can construct arbitrary Python objects.

Everything a file can do to the reader is bounded here, where the text is read: its type and size
(`read_text_file`, `read_stdin_text`), its characters, the depth of its nesting, the values its
aliases expand to, and the size of its whole numbers.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import sys
from pathlib import Path
from typing import BinaryIO

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

from .arith import MAX_WHOLE
from .errors import CnnError, Where
from .i18n import msg
from .quoting import cut

try:  # libyaml's scanner and parser, in C: about five times faster than PyYAML's own
    from yaml.cyaml import CParser as _FastParser
except ImportError:  # a PyYAML built without libyaml: its pure-Python parser, same results
    _FastParser = None

class MarkedDict(dict):
    where: Where
    key_where: dict
    value_where: dict


class MarkedList(list):
    where: Where
    item_where: list


def _where(file: str, mark) -> Where:
    return Where(file, mark.line + 1, mark.column + 1)


# Limits on what a document may hold; each is far beyond a real architecture or answers file.
# 256 KiB: the largest built-in architecture is 3.4 KB. Reading costs about 20 µs per value even
# with libyaml's parser (the nodes, positions and checks are Python), so this bounds a file to about
# 2 s; a 2 MB file took over 10 s with PyYAML's pure-Python parser.
MAX_BYTES = 256 * 1024
MAX_DEPTH = 100  # levels of nested mappings and lists: real files use about 10
# A document that expands to more values than this (aliases of aliases: a "billion laughs") is
# refused before anything walks it; real architectures have a few thousand.
MAX_VALUES = 1_000_000
# Text longer than this is refused before int() reads it (Python refuses 4,300 digits itself);
# anything shorter is converted and held to MAX_WHOLE.
_MAX_INT_TEXT = 100


def _construct_mapping(loader: SafeConstructor, node: yaml.MappingNode) -> MarkedDict:
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
                f"key '{cut(key)}' appears twice in this mapping; keep one",
                _where(loader.source_name, key_node.start_mark),
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_where[key] = _where(loader.source_name, key_node.start_mark)
        result.value_where[key] = _where(loader.source_name, value_node.start_mark)
    return result


def _construct_sequence(loader: SafeConstructor, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.where = _where(loader.source_name, node.start_mark)
    result.item_where = [_where(loader.source_name, child.start_mark) for child in node.value]
    return result


def _construct_int(loader: SafeConstructor, node: yaml.ScalarNode) -> int:
    """YAML's own int rules (1_000, 0x1f), held to MAX_WHOLE: the one place a whole number of the
    document is made, so no later sum, product or message meets a 5,000-digit number."""
    text = str(node.value)
    value = SafeConstructor.construct_yaml_int(loader, node) if len(text) <= _MAX_INT_TEXT else None
    if value is None or abs(value) > MAX_WHOLE:
        raise CnnError(f"the number {cut(text)} is too large; cnncalc reads whole numbers up to "
                       f"2^63 − 1 ({MAX_WHOLE:,})", _where(loader.source_name, node.start_mark))
    return value if text == str(value) else WrittenInt(value, text)


class WrittenInt(int):
    """A whole number YAML read from other digits than its own (`010` is 8, `1_000`, `0x1f`, `+5`):
    it keeps the text, so that where digits are a name (`name: 010`) the reading can be refused
    instead of silently naming the layer `8`. Arithmetic on it gives plain ints."""

    text: str

    def __new__(cls, value: int, text: str) -> "WrittenInt":
        number = super().__new__(cls, value)
        number.text = text
        return number

    def __getnewargs__(self) -> tuple[int, str]:  # copy and pickle keep the text
        return int(self), self.text


class _MarkedConstructor(SafeConstructor):
    """PyYAML's safe constructor, building MarkedDict / MarkedList and bounded ints."""

    source_name = "<input>"

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, AttributeError, OverflowError):
            # An explicit tag on text it cannot read (`!!int abc`, `!!timestamp x`): PyYAML's
            # constructors raise plain Python errors, outside its marked ones.
            tag = node.tag.rsplit(":", 1)[-1]
            raise CnnError(f"cannot read {cut(repr(node.value))} as a YAML {tag}; remove the tag `!!{tag}` "
                           "or write a value of that kind", _where(self.source_name, node.start_mark)) from None


_MarkedConstructor.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_MarkedConstructor.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_MarkedConstructor.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _DepthComposer(Composer):
    """PyYAML's composer (in Python, over either parser's events) with a nesting limit, checked as
    each level opens: libyaml's own composer recurses in C and crashes the process on 100,000
    brackets, and every later walk of the document (constructor, builder) recurses too."""

    source_name = "<input>"
    depth = 0

    def compose_node(self, parent, index):
        if self.depth >= MAX_DEPTH and not self.check_event(AliasEvent):
            raise CnnError(f"this YAML nests more than {MAX_DEPTH} levels of mappings and lists; "
                           "flatten it (write repetition with `repeat` or a block)",
                           _where(self.source_name, self.peek_event().start_mark))
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _PureLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _DepthComposer,
                  _MarkedConstructor, Resolver):
    def __init__(self, stream: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _DepthComposer.__init__(self)
        _MarkedConstructor.__init__(self)
        Resolver.__init__(self)


def _loader_class() -> type:
    """libyaml's parser under the same composer and constructor where PyYAML has it."""
    if _FastParser is None:
        return _PureLoader

    class _FastLoader(_DepthComposer, _FastParser, _MarkedConstructor, Resolver):
        def __init__(self, stream: str):
            _FastParser.__init__(self, stream)
            _DepthComposer.__init__(self)
            _MarkedConstructor.__init__(self)
            Resolver.__init__(self)

    return _FastLoader


_Loader = _loader_class()


def _expanded_size(node: yaml.Node, memo: dict[int, tuple[int, int]], open_: set[int],
                   source: str) -> tuple[int, int]:
    """How many values the document holds, and how deep it nests, once every alias is expanded
    (memoised per node, so a bomb is measured without being expanded). An alias can put a deep
    collection inside another: the composed depth alone does not bound what the builder walks."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in open_:
        raise CnnError("a YAML alias refers to the collection that contains it", _where(source, node.start_mark))
    open_.add(key)
    children = []
    if isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    size, deepest = 1, 0
    for child in children:
        if isinstance(child, yaml.ScalarNode):  # most nodes: counted here, no call and no memo entry
            size, deepest = size + 1, max(deepest, 1)
        else:
            child_size, child_depth = _expanded_size(child, memo, open_, source)
            size, deepest = size + child_size, max(deepest, child_depth)
    depth = 1 + deepest
    open_.discard(key)
    if size > MAX_VALUES:
        raise CnnError(f"this document expands to more than {MAX_VALUES:,} values through YAML aliases "
                       "(&anchor / *alias); write the repetition with `repeat` or a block instead",
                       _where(source, node.start_mark))
    if depth > MAX_DEPTH:
        raise CnnError(f"through its YAML aliases this nests more than {MAX_DEPTH} levels of mappings and "
                       "lists; flatten it", _where(source, node.start_mark))
    memo[key] = size, depth
    return size, depth


# What the parser met → what to do about it. PyYAML and libyaml word their problems differently
# ("expected ',' or '}', but got" / "did not find expected ',' or '}'"); the needles fit both.
_YAML_HINTS = (
    ("<block end>", "check this line's indentation against the lines above it"),
    ("expected '-' indicator", "check this line's indentation against the lines above it"),
    ("could not determine a constructor", "cnncalc reads plain YAML only (safe loading); remove the tag"),
    ("end of stream", "a quote or bracket opened earlier is never closed"),
)
# A problem met inside one of these was caused where the parser's context mark is: the bracket or
# quote that was opened and never closed (the problem mark is where the parser gave up, often the
# end of the file).
_UNCLOSED = {
    "while parsing a flow mapping": "this `{` is never closed; close the `{` of a flow mapping with `}`",
    "while parsing a flow sequence": "this `[` is never closed; close the `[` of a flow list with `]`",
    "while scanning a quoted scalar": "this quote is never closed; end the text with the same quote",
}


def _char_at(text: str, mark) -> str:
    """The character under a mark, read from the text (libyaml's problem names none)."""
    lines = text.split("\n")
    line = lines[mark.line] if mark.line < len(lines) else ""
    return line[mark.column] if mark.column < len(line) else ""


# `${expr}` written bare inside `{…}` or `[…]`: YAML reads its `{` as a mapping of its own. Only a
# `$` that does not follow a quote is meant (a quoted "${…}" is fine).
_BARE_EXPRESSION = re.compile(r"(?<![\"'])\$\{[^}\n]*\}?")


def _offset(text: str, mark) -> int:
    lines = text.split("\n")
    return sum(len(line) + 1 for line in lines[:mark.line]) + mark.column


def _bare_expression(exc: yaml.MarkedYAMLError, text: str, source: str) -> CnnError | None:
    """The message for an unquoted `${…}` inside a flow mapping or list, where there is one
    between the bracket and the place the parser gave up."""
    if not (exc.context or "").startswith("while parsing a flow") or exc.context_mark is None:
        return None
    end = _offset(text, exc.problem_mark) + 1 if exc.problem_mark is not None else len(text)
    found = _BARE_EXPRESSION.search(text, _offset(text, exc.context_mark), end)
    if found is None:
        return None
    found = _BARE_EXPRESSION.match(text, found.start())  # the whole expression, past where the parser stopped
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    expr = cut(found.group(), 30)
    return CnnError(f"`{expr}` inside `{{…}}` or `[…]` must be quoted: write \"{expr}\" (unquoted, YAML "
                    "reads its `{` as the start of a mapping)", Where(source, line, column))


def _yaml_error(exc: yaml.MarkedYAMLError, text: str, source: str) -> CnnError:
    """One message for a syntax error, at the place the user must look."""
    bare = _bare_expression(exc, text, source)
    if bare is not None:
        return bare
    problem = cut(exc.problem or exc.context or "", 120)
    unclosed = _UNCLOSED.get(exc.context or "")
    if unclosed and exc.context_mark is not None:
        found = f" (at {exc.problem_mark.line + 1}:{exc.problem_mark.column + 1}: {problem})" \
            if exc.problem_mark is not None else ""
        return CnnError(msg("this is not valid YAML: {why}", why=unclosed + found), _where(source, exc.context_mark))
    mark = exc.problem_mark or exc.context_mark
    if mark is not None and _char_at(text, mark) == "\t":
        hint = "indent with spaces, not tabs"
    else:
        hint = next((hint for needle, hint in _YAML_HINTS if needle in problem), "")
    where = _where(source, mark) if mark else Where(source)
    return CnnError(msg("this is not valid YAML: {why}", why=problem + (f"; {hint}" if hint else "")), where)


def _check_printable(text: str, source: str) -> None:
    """YAML allows no control character but tab and line breaks; name the first one and where it
    is (PyYAML's own check reports an offset, outside its marked errors)."""
    found = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if found is None:
        return
    pos = found.start()
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    raise CnnError(f"character U+{ord(found.group()):04X} is a control character, which YAML does not allow; "
                   "delete it (tabs and line breaks are the only ones allowed)", Where(source, line, column))


def load_yaml_text(text: str, source_name: str):
    """Parse YAML text; every problem becomes a CnnError with the file position."""
    if len(text) > MAX_BYTES:
        raise CnnError(_too_large(len(text), "characters"), Where(source_name))
    _check_printable(text, source_name)
    try:
        return _parse(_Loader, text, source_name)
    except _ParserNestingCap:
        # libyaml (0.2.6 on) stops at 1,000 levels, and its scanner reads a run of brackets to the
        # end before our composer sees the 101st: the pure parser finds where the limit is passed.
        return _parse(_PureLoader, text, source_name)


class _ParserNestingCap(Exception):
    """libyaml's own nesting limit met before ours."""


def _parse(loader_class: type, text: str, source_name: str):
    loader = loader_class(text)
    loader.source_name = source_name
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {}, set(), source_name)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in (exc.problem or "") and loader_class is not _PureLoader:
            raise _ParserNestingCap from None
        raise _yaml_error(exc, text, source_name) from None
    except yaml.YAMLError as exc:
        raise CnnError(msg("this is not valid YAML: {why}", why=cut(exc, 120)), Where(source_name)) from None
    finally:
        loader.dispose()


def _too_large(size: int, unit: str) -> str:
    return msg("this is {size} {unit}, more than cnncalc reads ({limit} bytes)",
               size=f"{size:,}", unit=unit, limit=f"{MAX_BYTES:,}")


def file_status(path: Path) -> os.stat_result | None:
    """What is at `path`, or None when nothing is; a name the system cannot look up is an error."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except ValueError:  # a NUL in the name (possible from the library, not from a shell)
        raise CnnError("the file name contains a NUL character", Where(cut(repr(str(path))))) from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            longest = max(len(part) for part in path.parts)
            raise CnnError(f"the file name is too long ({longest:,} characters in its longest part, "
                           f"{len(str(path)):,} in all; the system allows 255 per part and 4,096 in all)",
                           Where(cut(str(path)))) from None
        raise CnnError(msg("cannot read the file: {why}", why=exc.strerror), Where(cut(str(path)))) from None


def read_text_file(path: str | Path) -> str:
    """The UTF-8 text of a regular file of at most MAX_BYTES (256 KiB). The type is checked before the file
    is opened: opening a FIFO waits forever for a writer, and /dev/zero never ends."""
    path = Path(path)
    info = file_status(path)
    where = Where(str(path))
    if info is None:
        raise CnnError("no such file", where)
    if stat.S_ISDIR(info.st_mode):
        raise CnnError(msg("this is a directory, not a file; give the path of a YAML file"), where)
    if not stat.S_ISREG(info.st_mode):
        raise CnnError(msg("this is not a regular file (a pipe, device or socket); save the text to a file, "
                           "or pipe it in as `-`"), where)
    if info.st_size > MAX_BYTES:
        raise CnnError(_too_large(info.st_size, "bytes"), where)
    try:
        with path.open("rb") as stream:
            return _decode(_read_bounded(stream, str(path)), str(path))
    except OSError as exc:
        raise CnnError(msg("cannot read the file: {why}", why=exc.strerror), where) from None


def read_stdin_text() -> str:
    """Standard input's UTF-8 text, at most MAX_BYTES of it (`yes | cnncalc params -` ends)."""
    return _decode(_read_bounded(sys.stdin.buffer, "<stdin>"), "<stdin>")


def _read_bounded(stream: BinaryIO, source: str) -> bytes:
    """At most MAX_BYTES; one byte more means the source is larger (a file that grew, a pipe)."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise CnnError(msg("this is more than {limit} bytes, more than cnncalc reads",
                           limit=f"{MAX_BYTES:,}"), Where(source))
    return data


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CnnError(_not_utf8_message(exc), _byte_where(source, exc)) from None


def load_yaml_file(path: str | Path):
    return load_yaml_text(read_text_file(path), str(path))


def _byte_where(path: str, exc: UnicodeDecodeError) -> Where:
    before = exc.object[: exc.start]
    line = before.count(b"\n") + 1
    column = len(before) - (before.rfind(b"\n") + 1) + 1
    return Where(path, line, column)


def _not_utf8_message(exc: UnicodeDecodeError) -> str:
    return (f"the text is not UTF-8 (byte 0x{exc.object[exc.start]:02x}); save it as UTF-8 "
            "(most editors: File → Save with encoding)")


def where_of_key(container, key, fallback: Where | None = None) -> Where | None:
    """Position of `container[key]`'s value, or of the container, or the fallback."""
    if isinstance(container, MarkedDict):
        return container.value_where.get(key, container.where)
    if isinstance(container, MarkedList) and isinstance(key, int) and key < len(container.item_where):
        return container.item_where[key]
    return getattr(container, "where", fallback)
