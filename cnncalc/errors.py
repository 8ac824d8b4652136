"""Errors that reach the user as one clear line (file:line:col: layer: what is wrong; what is right)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
import difflib

from .i18n import msg


class ExitCode(IntEnum):
    """Every command's exit status, decided here only."""

    OK = 0
    CHECK_FAILED = 1  # the input was fine, the verdict is not: a forward check ✗, a homework answer wrong
    BAD_INPUT = 2  # a CnnError: the one-line message says what is wrong and what would be right


@dataclass(frozen=True)
class Where:
    """A place in a source file; line and column are 1-based, as editors show them."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class CnnError(Exception):
    """Bad input. The CLI prints `str(err)` and exits with ExitCode.BAD_INPUT; nothing else is shown."""

    def __init__(self, message: str, where: Where | None = None, layer: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.layer = layer

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        layer = f"{self.layer}: " if self.layer else ""
        return f"{prefix}{layer}{self.message}"

    def at(self, where: Where | None = None, layer: str | None = None) -> "CnnError":
        """Fill in whatever location the raiser did not know."""
        if self.where is None and where is not None:
            self.where = where
        if self.layer is None and layer is not None:
            self.layer = layer
        return self


_MAX_LISTED = 120  # characters of choices in one message, which must stay one readable line


def did_you_mean(word: str, choices) -> str:
    """' (did you mean 'x'?)' or a list of what is allowed, for unknown-key messages."""
    choices = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.5)
    if close:
        return msg("did you mean '{x}'?", x=close[0])
    return one_of(choices)


def one_of(choices) -> str:
    """'expected one of: a, b, c' (sorted), cut to one readable line."""
    choices = sorted(str(c) for c in choices)
    listed = ", ".join(choices)
    if len(listed) > _MAX_LISTED:  # a network's 170 layer names would make one 3,000-character line
        listed = listed[:listed.rfind(", ", 0, _MAX_LISTED)] + f", … ({len(choices)} in all)"
    return msg("expected one of: {choices}", choices=listed)
