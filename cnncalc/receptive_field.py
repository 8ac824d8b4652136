"""Receptive fields, bottom-up through the graph and top-down for one layer (DESIGN.md § Receptive field).

Convention: index coordinates. Input pixel i has its centre at i, so the input has r = 1, j = 1,
start = 0; `start` of a layer is the input coordinate of the centre of its first unit's field.
Per axis:  r_out = r_in + (k'−1)·j_in,  j_out = j_in·s,  start_out = start_in + ((k'−1)/2 − pad_lo)·j_in,
and the effective padding P_out = P_in + pad_lo·j_in (so start = (r−1)/2 − P).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from .formula import Expr, Num


@dataclass(frozen=True)
class Step:
    """One windowed layer on the path that gives a unit its receptive field."""

    layer: str
    kernel: tuple[int, int]  # effective kernel k' per axis
    stride: tuple[int, int]


@dataclass(frozen=True)
class AxisRF:
    size: int
    jump: int
    start: Fraction
    pad: int  # effective padding P

    def through(self, k_eff: int, stride: int, pad_lo: int) -> "AxisRF":
        return AxisRF(
            size=self.size + (k_eff - 1) * self.jump,
            jump=self.jump * stride,
            start=self.start + (Fraction(k_eff - 1, 2) - pad_lo) * self.jump,
            pad=self.pad + pad_lo * self.jump,
        )


@dataclass(frozen=True)
class RF:
    h: AxisRF
    w: AxisRF
    chain: tuple[Step, ...] = ()
    is_global: bool = False
    aligned: bool = True

    @staticmethod
    def of_input() -> "RF":
        one = AxisRF(1, 1, Fraction(0), 0)
        return RF(one, one)

    def through(self, layer: str, k_eff: tuple[int, int], stride: tuple[int, int],
                pad_lo: tuple[int, int]) -> "RF":
        if self.is_global:
            return self
        return replace(
            self,
            h=self.h.through(k_eff[0], stride[0], pad_lo[0]),
            w=self.w.through(k_eff[1], stride[1], pad_lo[1]),
            chain=self.chain + (Step(layer, k_eff, stride),),
        )

    def whole_input(self, image_hw: tuple[int, int]) -> "RF":
        """Flatten, dense and global pooling see the whole input image."""
        h, w = image_hw
        return replace(
            self,
            h=AxisRF(h, h, Fraction(h - 1, 2), 0),
            w=AxisRF(w, w, Fraction(w - 1, 2), 0),
            is_global=True,
        )

    @property
    def size(self) -> tuple[int, int]:
        return (self.h.size, self.w.size)

    @property
    def jump(self) -> tuple[int, int]:
        return (self.h.jump, self.w.jump)

    @property
    def start(self) -> tuple[Fraction, Fraction]:
        return (self.h.start, self.w.start)

    @property
    def pad(self) -> tuple[int, int]:
        return (self.h.pad, self.w.pad)


def merge(paths: list[RF]) -> RF:
    """Where paths meet (add, concat): the largest field, flagged when the paths are not aligned.

    Aligned means equal jump and equal centre offset (r−1)/2 − P, which in index coordinates is
    `start`; then the largest-RF path gives r, P and start (Araujo et al., Distill 2019).
    """
    if any(p.is_global for p in paths):
        return next(p for p in paths if p.is_global)
    best = max(paths, key=lambda p: (p.h.size * p.w.size, p.h.size))
    aligned = all(p.jump == best.jump and p.start == best.start for p in paths)
    return replace(best, aligned=aligned and all(p.aligned for p in paths))


@dataclass(frozen=True)
class TopDownStep:
    layer: str
    expr: tuple[Expr, Expr]  # how RF_i was computed, per axis
    size: tuple[int, int]


def top_down(chain: tuple[Step, ...]) -> list[TopDownStep]:
    """The textbook derivation: RF_L = k_L, then RF_i = (RF_{i+1} − 1)·s_i + k_i walking back to the input."""
    steps: list[TopDownStep] = []
    if not chain:
        return steps
    last = chain[-1]
    current = (Num(last.kernel[0]), Num(last.kernel[1]))
    steps.append(TopDownStep(last.layer, current, (last.kernel[0], last.kernel[1])))
    sizes = last.kernel
    for step in reversed(chain[:-1]):
        exprs = tuple((Num(sizes[a]) - 1) * step.stride[a] + step.kernel[a] for a in (0, 1))
        sizes = tuple(int(e.value()) for e in exprs)
        steps.append(TopDownStep(step.layer, exprs, sizes))
    return steps
