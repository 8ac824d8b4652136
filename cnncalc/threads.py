"""How many CPU threads the forward pass may use, and BLAS held to one thread while it uses its own.

NumPy parallelises only inside BLAS (the matrix products); every copy, transform and elementwise
pass runs on one core. So a batch is cut into shards, one per thread, each walked through the whole
network (the forward pass) or one layer (`cnncalc bench`) by its own Python thread with BLAS at one
thread (NumPy releases the GIL inside its loops and BLAS calls, so the shards run at once).
docs/forward.md § Threads and fusion has the measurements.
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_here = threading.local()  # .in_shard: this thread runs a shard (BLAS held to one thread meanwhile)
_controller = None  # threadpoolctl's view of the loaded BLAS libraries, made on first use (~5 ms)
_blas_libs: list | None = None
_pools: dict[int, ThreadPoolExecutor] = {}
# Python's GIL switch interval while shards run (default 5 ms): a thread back from a NumPy call waits
# up to that long for the other to let go of the GIL. 1 ms measured 0.95× the time of 5 ms on
# ResNet-18 at batch 8 (interleaved runs); 0.2 and 0.05 ms no better.
SWITCH_INTERVAL = 0.001


def _blas():
    global _controller
    with _lock:
        if _controller is None:
            import numpy  # noqa: F401  (loads NumPy's BLAS, which the controller then finds)
            from threadpoolctl import ThreadpoolController
            _controller = ThreadpoolController()
        return _controller


def _blas_libraries() -> list:
    """threadpoolctl's controllers of the loaded BLAS libraries, found once (each reads its library's
    thread count live: a later threadpool_limits is seen); 9 µs a call when looked up every time."""
    global _blas_libs
    if _blas_libs is None:  # two threads may both look: they find the same libraries
        _blas_libs = list(_blas().select(user_api="blas").lib_controllers)
    return _blas_libs


def available() -> int:
    """Threads the forward pass may use: as many as NumPy's BLAS is set to use (OPENBLAS_NUM_THREADS,
    OMP_NUM_THREADS… or the CPU count), at most the CPUs this process may run on."""
    blas = [lib.num_threads for lib in _blas_libraries()]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(max(blas, default=1), cpus))


def blas_threads() -> int:
    """The BLAS threads a kernel called from this thread runs with: one inside a shard (run_shards
    holds BLAS to one thread meanwhile), else available(). The conv path rule reads it
    (kernels.conv): a layer of one sample, unsharded, has both cores for its GEMMs."""
    return 1 if getattr(_here, "in_shard", False) else available()


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


# Below about a billion multiply-accumulates a shard, threads cost more than they save (the GIL, waking
# the other thread, BLAS at one thread): measured with 2 threads, ResNet-18 at 64×64 batch 8 (1.2 G
# MACs) took 1.15× and AlexNet at batch 2 (1.4 G) 1.24× as long in two shards; ResNet-18 at 224×224
# batch 2 (3.6 G) 0.91×, batch 4 (7.3 G) 0.85×, VGG-16 batch 2 (31 G) 0.71×; on an Intel Xeon,
# ResNet-18 at 160×160 batch 2 (1.85 G) 1.16×. Two kinds of network pay for the threads sooner
# (docs/forward.md § Threads and fusion):
# - with depthwise convs, whose banded kernel runs BLAS at one thread even unsharded and which come
#   with many elementwise layers, an unsharded run leaves a core idle most of the time: MobileNetV2
#   at batch 2, 4 and 6 (0.3, 0.6, 0.9 G a shard) took 0.89×, 0.74× and 0.72× as long in two
#   shards, EfficientNet-B0 at batch 2, 4, 5 (0.39–0.96 G) 0.84×, 0.69×, 0.79×; MobileNetV2 at
#   160×160 batch 2 (0.15 G) 1.07×, at 112×112 (0.075 G) 1.22×. So a quarter of the work will do;
# - with a conv whose share is large, one layer's copies alone are worth a core: the bench's
#   single convs at 0.41–0.92 G a shard took 0.68–0.82× as long (the 7×7/2 stem at batch 8 0.73×,
#   a 1×1 256→64 at 56×56 batch 32 0.82×, a 3×3/2 128→256 at 28×28 batch 16 0.83×, batch 32 0.77×).
#   Not a dense layer: it has no copies, and each shard would read all its weights (the bench's
#   4096→4096 at batch 64, 1.07 G, took 3.2× as long in two shards).
SHARD_MIN_MACS = 1_000_000_000
DEPTHWISE_SHARE = 4  # networks with depthwise convs shard from SHARD_MIN_MACS / 4 a shard
BIG_LAYER_SHARE = 0.4  # or when their largest conv alone gives each shard 0.4 × SHARD_MIN_MACS


def shard_count(batch: int, macs: int, threads: int, largest: int = 0, depthwise: bool = False) -> int:
    """Shards for a batch whose work is `macs` multiply-accumulates (`largest` of them in its largest
    conv; `depthwise`: it has depthwise convs): one per thread, at most one per sample, and each of
    at least SHARD_MIN_MACS (a quarter of that with depthwise convs), or of at least
    BIG_LAYER_SHARE × SHARD_MIN_MACS of the largest conv."""
    least = SHARD_MIN_MACS // DEPTHWISE_SHARE if depthwise else SHARD_MIN_MACS
    worth = max(macs // max(least, 1), int(largest // max(BIG_LAYER_SHARE * SHARD_MIN_MACS, 1)))
    return max(1, min(batch, threads, worth))


def shard_bounds(batch: int, shards: int) -> list[tuple[int, int]]:
    """The batch cut into `shards` runs of consecutive samples, as even as can be."""
    cuts = [batch * i // shards for i in range(shards + 1)]
    return list(zip(cuts, cuts[1:]))


def split_count(size: int, least: int) -> int:
    """Parts an elementwise pass over `size` values is dealt out in (run_split): this thread's BLAS
    threads outside a shard (a batch of one: nothing else runs alongside), one inside; none smaller
    than `least` values."""
    return max(1, min(blas_threads(), size // max(least, 1)))


def run_split(fn: Callable[[int], None], count: int) -> None:
    """fn(0), …, fn(count − 1) at once, this thread running fn(0), with this thread's NumPy error
    settings: run_shards for an elementwise pass, which calls no BLAS (so BLAS's threads are left as
    they are). About 30 µs."""
    if count <= 1:
        fn(0)
        return
    import numpy as np
    state = np.geterr()

    def run(i: int) -> None:
        with np.errstate(**state):
            fn(i)
    _at_once(run, count)


def run_shards(fn: Callable[[int], T], count: int) -> list[T]:
    """[fn(0), …, fn(count − 1)], run at once on `count` threads (this one runs fn(0)), BLAS at one
    thread meanwhile. Each thread sees this one's floating-point error settings and conv algorithm
    (both per thread in NumPy / kernels.conv). Every call has ended when this returns or raises."""
    if count <= 1:
        return [fn(0)]
    import numpy as np

    from .kernels.conv import conv_path, set_conv_path
    state, path = np.geterr(), conv_path()

    def run(i: int) -> T:
        before, shard_before = set_conv_path(path), getattr(_here, "in_shard", False)
        _here.in_shard = True
        try:
            with np.errstate(**state):
                return fn(i)
        finally:
            set_conv_path(before)
            _here.in_shard = shard_before

    with single_threaded_blas():
        return _at_once(run, count)


def _at_once(run: Callable[[int], T], count: int) -> list[T]:
    """[run(0), …, run(count − 1)] on `count` threads of the kept pool (this one runs run(0)), the
    GIL switch interval at SWITCH_INTERVAL meanwhile; every call has ended when this returns or
    raises."""
    from concurrent.futures import wait
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    try:
        futures = [pool(count - 1).submit(run, i) for i in range(1, count)]
        try:
            first = run(0)
        finally:
            wait(futures)
    finally:
        sys.setswitchinterval(interval)
    return [first] + [f.result() for f in futures]
