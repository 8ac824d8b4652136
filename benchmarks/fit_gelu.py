#!/usr/bin/env python
"""Fit the rational function of cnncalc's float32 GELU (cnncalc.kernels.elementwise._GELU_P, _GELU_Q)
and print the coefficients to paste there, with the error they give.

    python benchmarks/fit_gelu.py

GELU(x) = x·Φ(x) = max(x, 0) − h(|x|), where h(a) = a·Φ(−a) (Φ(−a) = erfc(a/√2)/2: for x < 0
this is x·Φ(x) itself, for x ≥ 0 it is x − x·Φ(−x)). The float32 kernel computes

    h(a) = a · 2^(K·a²) · P(a)/Q(a),   K = −1/(2·ln 2)   (2^(K·a²) = e^(−a²/2)),

so P/Q approximates R(a) = Φ(−a)·e^(a²/2) = erfc(a/√2)·e^(a²/2)/2: smooth, positive, falling
like 1/(a·√(2π)), without the Gaussian that no low-degree rational function follows.

The fit: R is sampled in float64 from math.erfc on [0, 14] (2^(K·a²) is below float32's smallest
value from a = 14.4 on); P has degree 3, Q degree 4 with Q(0) = 1; the coefficients minimise the
largest weighted error |P/Q − R|·w by linearised least squares (P − R·Q, divided by the previous
Q), reweighted towards the worst points (Lawson's iteration). The weight w asks for
    · an absolute error in h of at most TAU (the float32 test holds the result to 2e-7·max(|ref|, 1),
      and 1 ulp of a result in [1, 2) is 1.19e-7: h's error must leave room for rounding), and
    · a relative error in R of at most RHO_NEAR for a < NEAR and RHO beyond (the result for x < 0
      is −h, and for small |x| about x/2 ± h: R's relative error is theirs; near 0 the float32
      arithmetic itself costs a few ulps, so the fit need not be much better there),
so "weighted error ≤ 1" meets both. Then Q is divided by its leading coefficient (monic: one
multiplication fewer) and every coefficient rounded to float32; the script checks the float32
evaluation against math.erfc and prints what it measured.
"""
from __future__ import annotations

import math

import numpy as np

DEG_P, DEG_Q = 3, 4
TOP = 14.0
TAU = 2e-8
RHO_NEAR, NEAR, RHO = 1.5e-7, 0.5, 1e-6
K = -0.5 / math.log(2)


def phi_neg(a: np.ndarray) -> np.ndarray:
    """Φ(−a) = erfc(a/√2)/2 in float64, relative to 1e-15 on the whole range (math.erfc)."""
    return np.array([0.5 * math.erfc(v / math.sqrt(2)) for v in a])


def fit(a: np.ndarray, r: np.ndarray, w: np.ndarray, iterations: int = 100) -> tuple[float, np.ndarray, np.ndarray]:
    """min over P, Q of max w·|P/Q − r| (Q(0) = 1); coefficients lowest power first."""
    v = a / a.max()  # scaled for the least squares' conditioning; rescaled at the end
    vp = np.vander(v, DEG_P + 1, increasing=True)
    vq = np.vander(v, DEG_Q + 1, increasing=True)[:, 1:]
    q, lawson, best = np.ones_like(a), np.ones_like(a), None
    for _ in range(iterations):
        ww = w * lawson / np.abs(q)
        c, *_ = np.linalg.lstsq(np.hstack([vp, -r[:, None] * vq]) * ww[:, None], r * ww, rcond=None)
        p, q = vp @ c[:DEG_P + 1], 1 + vq @ c[DEG_P + 1:]
        err = w * np.abs(p / q - r)
        if best is None or err.max() < best[0]:
            best = (err.max(), c.copy())
        lawson = lawson * (err / err.max()) ** 0.7 + 1e-4
        lawson /= lawson.max()
    worst, c = best
    scale = a.max()
    p = c[:DEG_P + 1] / scale ** np.arange(DEG_P + 1)
    q = np.concatenate([[1.0], c[DEG_P + 1:] / scale ** np.arange(1, DEG_Q + 1)])
    return worst, p, q


def h_float32(a: np.ndarray, p: tuple[float, ...], q: tuple[float, ...]) -> np.ndarray:
    """h(a) as the kernel computes it, in float32 (p, q highest power first, q monic without its 1)."""
    a = a.astype(np.float32)
    num = a * np.float32(p[0])
    for c in p[1:]:
        num += np.float32(c)
        num *= a
    den = a + np.float32(q[0])
    for c in q[1:]:
        den *= a
        den += np.float32(c)
    e = a * np.float32(K)
    e *= a
    num *= np.exp2(e)
    return num / den


def main() -> None:
    a = np.concatenate([np.linspace(0, 1, 3000), np.linspace(1, TOP, 8000)[1:]])
    tail = phi_neg(a)
    r = tail * np.exp(a * a / 2)
    h = a * tail
    rho = np.where(a < NEAR, RHO_NEAR, RHO)
    worst, p, q = fit(a, r, np.maximum(h / TAU, 1 / rho) / r)
    lead = q[-1]
    p32 = tuple(float(np.float32(c)) for c in (p / lead)[::-1])
    q32 = tuple(float(np.float32(c)) for c in (q / lead)[::-1][1:])
    assert np.all(np.polyval(np.concatenate([[1.0], q32]), a) > 0), "Q has a zero: a pole"
    print(f"largest weighted error {worst:.3f} (≤ 1: |δh| ≤ {TAU:g} and |δR/R| ≤ {RHO_NEAR:g} below "
          f"{NEAR:g}, {RHO:g} beyond)")
    print(f"_GELU_P = {p32!r}")
    print(f"_GELU_Q = {q32!r}")
    grid = np.linspace(0, TOP, 200_001)
    exact = grid * phi_neg(grid)
    got = h_float32(grid, p32, q32).astype(np.float64)
    seen = exact > 1e-30
    print(f"float32 evaluation on [0, {TOP:g}]: largest |δh| {np.max(np.abs(got - exact)):.3g}; relative, where "
          f"h > 1e-30: {np.max(np.abs(got - exact)[seen] / exact[seen]):.3g}")


if __name__ == "__main__":
    main()
