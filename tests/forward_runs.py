"""Helpers for tests that run one network every way the forward pass can: on one thread and in
shards, fused and layer by layer, with a conv path forced."""
from __future__ import annotations

from cnncalc.forward import ForwardResult, run_forward
from cnncalc.kernels import conv as conv_mod


def every_way(graph, x, dtype: str, path: str, seed: int) -> dict[tuple[int, bool], ForwardResult]:
    """{(threads, fuse): result} for 1 and 3 threads, fused or not, with `path` as the conv path."""
    before = conv_mod.set_conv_path(path)
    try:
        return {(count, fuse): run_forward(graph, x, dtype=dtype, threads=count, fuse=fuse, seed=seed)
                for count in (1, 3) for fuse in (False, True)}
    finally:
        conv_mod.set_conv_path(before)
