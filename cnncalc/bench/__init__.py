"""`cnncalc bench`: naive loops, textbook im2col, cnncalc's kernels and PyTorch timed side by side
against the machine's measured GEMM limit. Imports NumPy: load it only when benchmarking."""
from __future__ import annotations

from .suite import LAYERS, SUITE, Case, suite

__all__ = ["LAYERS", "SUITE", "Case", "suite", "run"]


def run(*args, **kwargs):
    """See cnncalc.bench.runner.run (imported lazily: it needs NumPy)."""
    from .runner import run as _run
    return _run(*args, **kwargs)
