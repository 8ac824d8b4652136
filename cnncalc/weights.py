"""Weights given by the user, checked in one place: a layer's arrays against its `weight_shapes`
(the analysis checks inline YAML lists, the forward pass inline and `--weights` arrays, with the
same rules and the same messages), and a weights file's names against the network's.

Pure Python: the analysis imports this module, and it must not import NumPy. Arrays are judged by
their shape alone, a nested list's from `nested_shape`, a NumPy array's from `.shape`.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from .errors import CnnError, Where

Shape = tuple[int, ...]

INLINE = "the inline weights"
FILE = "the weights file"

# How many names an error or note lists before it says how many more there are.
SHOWN = 5


def _fmt(shape: Shape) -> str:
    return "×".join(map(str, shape)) or "a single number"


def fits(got: Shape, want: Shape) -> bool:
    """Exactly the shape, or the shape with leading 1s left out: one filter may be written without
    its leading [[…]] (`[[1,0,1],[0,1,0],[1,0,1]]` for 1×1×3×3). Only 1s may go: the values of a
    2×1×3×3 weight written flat have no single reading, so they are refused, not reshaped."""
    if tuple(got) == tuple(want):
        return True
    dropped = len(want) - len(got)
    return dropped > 0 and tuple(want[dropped:]) == tuple(got) and all(d == 1 for d in want[:dropped])


def check_arrays(expected: Mapping[str, Shape], given: Mapping[str, Shape | None], source: str,
                 where: Where | None, layer: str, bias_option: bool = False) -> None:
    """Raise a CnnError on the first thing wrong with one layer's given arrays: a name the layer
    does not have, a ragged nested list (shape None), a shape that does not fit, a name missing.
    `bias_option`: the layer has a `bias` option, so a missing bias can also be switched off."""
    for name, got in given.items():
        want = expected.get(name)
        if want is None:
            raise CnnError(f"`{name}` in {source} is not an array of this layer (it has "
                           f"{', '.join(expected) or 'no weights'}); remove it", where, layer)
        if got is None:
            raise CnnError(f"`{name}` in {source} is ragged: its rows have different lengths; give every "
                           f"row the same length ({_fmt(want)} in all)", where, layer)
        if not fits(got, want):
            raise CnnError(f"`{name}` in {source} has shape {_fmt(got)}, expected {_fmt(want)} "
                           f"({math.prod(want)} numbers)", where, layer)
    for name, want in expected.items():
        if name not in given:
            hint = "add it or set `bias: false`" if name == "bias" and bias_option else "add it"
            raise CnnError(f"no `{name}` in {source} (expected {_fmt(want)}); {hint}", where, layer)


# -- a weights file against the network --------------------------------------------------------
@dataclass(frozen=True)
class FileMatch:
    """How a weights file's array names meet the network's (`PATH.NAME`, as PyTorch names them)."""

    unmatched: tuple[str, ...]  # names in the file that no layer has
    unfilled: tuple[str, ...]  # layers that own arrays and get none from the file (nor inline)
    missing: tuple[str, ...]  # the arrays of those layers, PATH.NAME
    hints: dict[str, str]  # unmatched name → "did you mean 'the network's name'?" or what its layer has

    @property
    def complete(self) -> bool:
        return not self.unmatched and not self.unfilled


def match_file(names: Iterable[str], wanted: Mapping[str, tuple[str, ...]], inline: Iterable[str] = ()) -> FileMatch:
    """`wanted`: layer path → the array names it owns (`conv1` → (`weight`, `bias`)); `inline`: the
    layers whose weights the YAML gives. Which file names match nothing, which layers get nothing,
    and a hint for each unmatched name."""
    names = set(names)
    expected = {f"{path}.{array}": path for path, arrays in wanted.items() for array in arrays}
    unmatched = tuple(sorted(names - set(expected)))
    touched = {expected[n] for n in names if n in expected}
    inline = set(inline)
    unfilled = tuple(p for p, arrays in wanted.items() if arrays and p not in touched and p not in inline)
    open_names = [n for n, p in expected.items() if p in unfilled]
    hints = {}
    for name in unmatched:
        path, _, array = name.rpartition(".")
        if wanted.get(path):
            # The layer exists: a misspelt array, or one it does not have (a bias where `bias: false`).
            close = difflib.get_close_matches(array, wanted[path], n=1, cutoff=0.6)
            hints[name] = (f"did you mean '{path}.{close[0]}'?" if close
                           else f"{path} has no {array}, only {', '.join(wanted[path])}")
            continue
        guess = closest_name(name, open_names) or closest_name(name, list(expected))
        if guess is not None:
            hints[name] = f"did you mean '{guess}'?"
    return FileMatch(unmatched, unfilled, tuple(open_names), hints)


def closest_name(name: str, choices: list[str]) -> str | None:
    """The choice that differs from `name` in one dotted segment, the closest such by that segment
    (torchvision's `layer2.0.downsample.0.weight` → `layer2.0.shortcut.0.weight`); else difflib's
    closest whole name; else None."""
    parts = name.split(".")
    best: tuple[float, str] | None = None
    for choice in choices:
        other = choice.split(".")
        if len(other) != len(parts):
            continue
        differ = [i for i, (a, b) in enumerate(zip(parts, other)) if a != b]
        if len(differ) != 1:
            continue
        i = differ[0]
        score = difflib.SequenceMatcher(None, parts[i], other[i]).ratio()
        if best is None or score > best[0] or (score == best[0] and choice < best[1]):
            best = (score, choice)
    if best is not None:
        return best[1]
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def describe(match: FileMatch) -> str:
    """The one-line error for an incomplete match: counts, the first few names, did-you-means."""
    parts = []
    if match.unmatched:
        shown = [f"{n} ({match.hints[n]})" if n in match.hints else n for n in match.unmatched]
        parts.append(f"{len(match.unmatched)} of its arrays match no layer: {_listed(shown)}")
    if match.unfilled:
        parts.append(f"{len(match.unfilled)} layer(s) would get no weights from it ({len(match.missing)} array(s) "
                     f"missing: {_listed(list(match.missing))})")
    return ("; ".join(parts) + "; name the arrays LAYER_PATH.NAME as `cnncalc params` lists the layers, "
            "or pass --partial-weights to initialise the rest from --seed")


def notes(match: FileMatch) -> list[str]:
    """What --partial-weights lets through, said in the report."""
    out = []
    if match.unmatched:
        out.append(f"{len(match.unmatched)} array(s) of the weights file match no layer: "
                   f"{_listed(list(match.unmatched))}")
    if match.unfilled:
        out.append(f"{len(match.unfilled)} layer(s) got no weights from the file and were initialised from "
                   f"--seed: {_listed(list(match.unfilled))}")
    return out
