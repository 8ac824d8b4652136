"""Kinds that select or reorder channels and leave every position where it is (ShuffleNetV2's
channel split and channel shuffle): no params, no connections, the receptive field unchanged."""
from __future__ import annotations

from typing import Any

from ..quoting import shown
from ..shapes import Shape
from .base import Counts, Layer, Option, Output


def _index(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    raise ValueError(f"must be a whole number ≥ 0 (a channel index, from 0), got {shown(v)}")


def _count(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
        return v
    raise ValueError(f"must be a whole number ≥ 1, got {shown(v)}")


class _SameMap(Layer):
    """Positions untouched: the receptive field and the coverage pass see an elementwise layer."""

    def counts(self, in_shape: Shape, out: Output) -> Counts:
        return Counts()

    def window(self, in_shape: Shape, out: Output) -> None:
        return None


class Slice(_SameMap):
    """Channels `start` up to (not including) `stop` (`x[:, start:stop]`), or chunk `index` of
    `chunks` as torch.chunk cuts them: chunks of ⌈C/chunks⌉ channels, the last one shorter.
    At the top of a concat branch it feeds that branch a slice of the input (ShuffleNetV2's
    `x1, x2 = x.chunk(2, dim=1)`)."""

    kind = "slice"
    options = {
        "start": Option(_index, None, "first channel (0-based)"),
        "stop": Option(_index, None, "one past the last channel (default: all the rest)"),
        "chunks": Option(_count, None, "cut the channels into this many chunks, as torch.chunk does"),
        "index": Option(_index, None, "which chunk (0-based)"),
    }

    def check(self) -> None:
        ranged = self.start is not None or self.stop is not None
        chunked = self.chunks is not None or self.index is not None
        if ranged == chunked or (chunked and (self.chunks is None or self.index is None)):
            raise self.fail("slice takes `start` and/or `stop` (channels start … stop − 1), or `chunks` and `index` "
                            "(torch.chunk), e.g. `slice: {chunks: 2, index: 1}`")
        if chunked and self.index >= self.chunks:
            raise self.fail(f"index {self.index} is not one of the {self.chunks} chunks (0 … {self.chunks - 1})")

    def bounds(self, c: int) -> tuple[int, int]:
        if self.chunks is not None:
            size = -(-c // self.chunks)
            start, stop = self.index * size, min((self.index + 1) * size, c)
            if start >= c:
                raise self.fail(f"{c} channels make only {-(-c // size)} chunks of {size} (torch.chunk), so chunk "
                                f"{self.index} is empty; use fewer chunks")
            return start, stop
        start = self.start or 0
        stop = c if self.stop is None else self.stop
        if stop > c or start >= stop:
            raise self.fail(f"channels {start} … {stop - 1} are not a slice of the input's {c} channels "
                            f"(0 … {c - 1}); give 0 ≤ start < stop ≤ {c}")
        return start, stop

    def output(self, in_shape: Shape) -> Output:
        start, stop = self.bounds(in_shape[0])
        return Output((stop - start, *in_shape[1:]))

    def forward(self, x, weights):
        start, stop = self.bounds(x.shape[1])
        return x[:, start:stop]  # a view: the runner never writes into an array it does not own


class Shuffle(_SameMap):
    """ShuffleNet's channel shuffle: channels seen as `groups` rows of C/groups, transposed, so
    channel g·(C/groups) + i moves to i·groups + g (torchvision's `channel_shuffle`)."""

    kind = "shuffle"
    primary = "groups"
    options = {"groups": Option(_count, doc="number of groups the channels are dealt from")}

    def output(self, in_shape: Shape) -> Output:
        c = self.feature_map(in_shape)[0]
        if c % self.groups:
            raise self.fail(f"{c} channels do not split into {self.groups} equal groups; groups must divide them")
        return Output(in_shape)

    def forward(self, x, weights):
        n, c, h, w = x.shape
        return x.reshape(n, self.groups, c // self.groups, h, w).transpose(0, 2, 1, 3, 4).reshape(n, c, h, w)
