"""Quoting what the user wrote inside a message, cut short.

A message repeats the key, value or expression it refuses, but what the user wrote can be a
10,000-character string or a list of a million numbers: one error line must stay readable (under
300 characters), so every echoed value goes through `cut` or `shown`.
"""
from __future__ import annotations

import re
from typing import Any

# Enough to recognise the value; the position in the message says where the rest is.
QUOTE_LIMIT = 40


# Characters a terminal would act on or break the line at (ESC, CR, U+2028...), not print.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escaped(text: str) -> str:
    """`text` with every control character written as Python would (`\\x1b`, `\\r`), so a
    quoted value can neither colour the terminal nor split the one error line in two."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


def cut(text: Any, limit: int = QUOTE_LIMIT) -> str:
    """`text` as written when it is short, else its first `limit` characters and '…';
    control characters escaped."""
    text = str(text)
    return escaped(text if len(text) <= limit else text[:limit] + "…")


def one_line(message: str, word_limit: int = 2 * QUOTE_LIMIT) -> str:
    """A message built by someone else (click) that may quote the user: control characters
    escaped and every word longer than `word_limit` cut."""
    return re.sub(r"\S{%d,}" % (word_limit + 1), lambda m: cut(m.group(), word_limit), escaped(message))


def shown(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """A value as Python writes it (`'full'`, `[1, 1, 1]`, `True`), cut to `limit` characters;
    a cut string keeps its closing quote so the message still reads as a quotation."""
    if isinstance(value, str):  # repr escapes control characters itself
        return repr(value if len(value) <= limit else value[:limit] + "…")
    return cut(repr(value), limit)
