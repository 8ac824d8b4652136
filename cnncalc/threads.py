"""How many CPU threads the forward pass may use, and BLAS held to one thread while it uses its own.

NumPy parallelises only inside BLAS (the matrix products); every copy, transform and elementwise
pass runs on one core. So a batch is cut into shards, one per thread, each walked through the whole
network by its own Python thread with BLAS at one thread (NumPy releases the GIL inside its loops
and BLAS calls, so the shards run at once). docs/forward.md § Threads has the measurements.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_controller = None  # threadpoolctl's view of the loaded BLAS libraries, made on first use (~5 ms)
_pools: dict[int, ThreadPoolExecutor] = {}


def _blas():
    global _controller
    with _lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController
            _controller = ThreadpoolController()
        return _controller


def available() -> int:
    """Threads the forward pass may use: as many as NumPy's BLAS is set to use (OPENBLAS_NUM_THREADS,
    OMP_NUM_THREADS… or the CPU count), at most the CPUs this process may run on."""
    blas = [lib.num_threads for lib in _blas().select(user_api="blas").lib_controllers]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(max(blas, default=1), cpus))


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS at one thread inside the block (restored after): the caller runs its own threads, and two
    threads each calling a multi-threaded BLAS would oversubscribe the cores."""
    with _blas().limit(limits=1, user_api="blas"):
        yield


def pool(workers: int) -> ThreadPoolExecutor:
    """A pool of `workers` threads kept for the process: the kernels keep their scratch buffers per
    thread (kernels.conv), so the same threads find them again on the next run instead of faulting
    in tens of fresh megabytes."""
    with _lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="cnncalc-shard")
        return _pools[workers]
