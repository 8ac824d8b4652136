"""Quoting what the user wrote inside a message, cut short.

A message repeats the key, value or expression it refuses, but what the user wrote can be a
10,000-character string or a list of a million numbers: one error line must stay readable (under
300 characters), so every echoed value goes through `cut` or `shown`.
"""
from __future__ import annotations

from typing import Any

# Enough to recognise the value; the position in the message says where the rest is.
QUOTE_LIMIT = 40


def cut(text: Any, limit: int = QUOTE_LIMIT) -> str:
    """`text` as written when it is short, else its first `limit` characters and '…'."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


def shown(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """A value as Python writes it (`'full'`, `[1, 1, 1]`, `True`), cut to `limit` characters;
    a cut string keeps its closing quote so the message still reads as a quotation."""
    if isinstance(value, str):
        return repr(cut(value, limit))
    return cut(repr(value), limit)
