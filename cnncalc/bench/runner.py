"""The timing runner: checks every implementation against the float64 reference on a reduced copy
of each case, then times it, measures the GEMM limit for the same M, N, K, and returns plain records
(every ratio computed here; the renderer only formats)."""
from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from ..errors import CnnError
from . import impls
from .machine import Machine, machine_info
from .suite import Case

IMPL_ORDER = ("naive", "im2col-textbook", "im2col", "winograd", "banded", "torch")
SQUARE = 2048          # the large square GEMM
NAIVE_BUDGET_S = 0.25  # Python loops run this long per case, then are extrapolated per MAC
SWITCH_PAUSE_S = 0.2   # untimed pause when switching between torch and NumPy (spinning threads)
# ... and between two NumPy implementations: after a GEMM on several threads OpenBLAS's worker spins
# for about 0.1 s (2^28 cycles), on the core a sharded implementation's second thread needs. Without
# it, cnncalc's sharded rows timed right after the textbook's GEMM took 1.3–2.2× as long as on quiet
# cores (the suite's stem, 3×3/2 and 1×1 convs; the Intel Xeon, 7 December 2026).
IMPL_PAUSE_S = 0.12
TOLERANCE = 1e-10


@dataclass(frozen=True)
class Result:
    case: str
    layer: str
    impl: str
    dtype: str
    median_s: float
    gflops: float
    pct_of_peak: float | None
    ratio_to_torch: float | None      # median over rounds of this time / torch's in the same round
    extrapolated: bool
    speedup_vs_naive: float | None    # naive's time / this time
    speedup_vs_textbook: float | None  # im2col-textbook's time / this time
    column_bytes: int | None          # peak NumPy bytes allocated beyond the output (tracemalloc)


@dataclass(frozen=True)
class Peak:
    case: str
    gflops: float
    m: int
    n: int
    k: int
    dtype: str


@dataclass
class Report:
    machine: Machine
    cases: list[Case]
    results: list[Result] = field(default_factory=list)
    peaks: list[Peak] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repeat: int = 0
    wall_s: float = 0.0


def _median_time(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_times(fns: dict[str, Callable[[], object]], libs: dict[str, str], repeat: int,
                      clock: Callable[[], float] = time.perf_counter,
                      pause: Callable[[float], None] = time.sleep) -> dict[str, list[float]]:
    """Each fn timed once per round, `repeat` rounds: {name: its times, one per round}. Each timed
    call comes right after an untimed one of the same fn, so that it finds the caches as a run of
    its own calls leaves them (its weights, its buffers), not as the other library left them. The
    libraries take turns going first (NumPy's then torch's, then torch's then NumPy's…), so neither
    always runs after the other's spinning threads; a pause comes before each implementation that
    follows another (SWITCH_PAUSE_S across libraries, IMPL_PAUSE_S within NumPy). On a shared
    2-core machine a slow spell lasts seconds: rounds see it on both sides, where blocks of one
    implementation's calls would see it on one side only (docs/bench.md)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    last = None
    for round_ in range(repeat):
        for name in round_order(fns, libs, round_):
            if last is not None and name != last:
                pause(SWITCH_PAUSE_S if libs[name] != libs[last] else IMPL_PAUSE_S)
            last = name
            fns[name]()  # untimed
            t0 = clock()
            fns[name]()
            times[name].append(clock() - t0)
    return times


def round_order(names, libs: dict[str, str], round_: int) -> list[str]:
    """The order of a round of interleaved_times: NumPy's implementations first in even rounds,
    torch's first in odd ones (each side in the order given)."""
    return sorted(names, key=lambda name: (libs[name] == "torch") != (round_ % 2 == 1))


def paired_ratio(times: list[float], reference: list[float]) -> float:
    """The median over rounds of this time / the reference's time in the same round: what a slow
    spell does to both sides of a round cancels out, where a ratio of two medians would keep it."""
    return statistics.median(t / r for t, r in zip(times, reference, strict=True))


def check_case(case: Case) -> Case:
    """A reduced float64 copy of a case with the same kernel, stride, padding, dilation and groups:
    small enough for the Python loops and the einsum reference."""
    n = 2
    if case.layer == "dense":
        return replace(case, name=case.name + "/check", shape=(n, min(case.shape[1], 24)),
                       filters=min(case.filters, 8), dtype="float64")
    (kh, kw), (sh, sw), (dh, dw) = case.kernel, case.stride, case.dilation
    g = case.groups
    c = g * min(case.shape[1] // g, 3)
    h = min(case.shape[2], dh * (kh - 1) + 1 + 2 * sh)
    w = min(case.shape[3], dw * (kw - 1) + 1 + 3 * sw)
    filters = g * min(case.filters // g, 4) if case.layer == "conv" else 0
    return replace(case, name=case.name + "/check", shape=(n, c, h, w), filters=filters, dtype="float64")


def verify(case: Case, impl: str) -> float:
    """Largest absolute difference from the float64 reference on the reduced case."""
    small = check_case(case)
    arrays = impls.make_arrays(small, seed=1)
    want = impls.reference(small, arrays)
    got = impls.to_numpy(impls.IMPLS[impl](small, arrays)())
    if got.shape != want.shape:
        return float("inf")
    return float(np.max(np.abs(got - want))) if want.size else 0.0


def _column_bytes(fn: Callable[[], object], out_bytes: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return max(0, peak - base - out_bytes)


def _kept_scratch_bytes(case: Case) -> int:
    """The conv kernel keeps its column, padding and result buffers between calls, so tracemalloc
    sees them only on the first call: count them from the kernel's own account, once per thread
    (each shard of the batch keeps its own; cnncalc.threads)."""
    if case.layer != "conv":
        return 0
    from ..kernels.conv import col_buffer_bytes, set_conv_path
    from ..threads import shard_bounds
    from .impls import case_shards
    n, c, h, w = case.shape
    weight = (case.filters, c // case.groups, *case.kernel)
    shards = shard_bounds(n, case_shards(case))
    before = set_conv_path("im2col")
    try:
        return sum(col_buffer_bytes((c, h, w), weight, case.axes(), case.dilation, np.dtype(case.dtype).itemsize,
                                    end - start) for start, end in shards)
    finally:
        set_conv_path(before)


def case_bytes(case: Case, impl_names=IMPL_ORDER) -> int:
    """The most a case holds at once, estimated before anything is allocated: its arrays (the input
    drawn in float64, then converted), two outputs (a result and the one being timed), then the
    largest of what one step adds: the textbook's column matrix and its transposed copy beside the
    padded input, cnncalc's kept conv buffers, the GEMM limit's three matrices (drawn in float64)."""
    itemsize = np.dtype(case.dtype).itemsize
    x = math.prod(case.shape)
    weights = 0 if case.layer == "pool" else case.filters * math.prod(case.shape[1:]) // case.groups
    held = x * (8 + itemsize) + weights * itemsize + 2 * math.prod(case.out_shape()) * itemsize
    steps = [0]
    if case.layer != "dense" and "im2col-textbook" in impl_names:
        n, c, h, w = case.shape
        t, b, l, r = case.padding
        (kh, kw), (ho, wo) = case.kernel, case.out_hw()
        steps.append((2 * n * c * kh * kw * ho * wo + n * c * (h + t + b) * (w + l + r)) * itemsize)
    if "im2col" in impl_names:
        steps.append(_kept_scratch_bytes(case))
    mnk = case.gemm_mnk()
    if mnk is not None:
        m, n_, k, _ = mnk
        steps.append((m * k + k * n_) * (8 + itemsize) + m * n_ * itemsize)
    return held + max(steps)


def guard_memory(cases: list[Case], impl_names=IMPL_ORDER, limit: int | None = None) -> None:
    """A CnnError before anything is allocated when a case would need more than `limit` (default:
    half the available memory, as `cnncalc forward`)."""
    from ..forward import _fmt_bytes, available_memory

    limit = limit if limit is not None else available_memory() // 2
    for case in cases:
        need = case_bytes(case, impl_names)
        if need > limit:
            raise CnnError(f"the bench case {case.name} would need about {_fmt_bytes(need)} (its input, weights and "
                           f"outputs, then the largest of the textbook's columns, the kernels' buffers and the GEMM "
                           f"check) but the limit is {_fmt_bytes(limit)} (half the available memory); give a "
                           "smaller --shape")


def gemm_gflops(m: int, n: int, k: int, dtype: str, repeat: int, groups: int = 1) -> float:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    t = _median_time(lambda: [np.matmul(a, b) for _ in range(groups)], repeat)
    return 2.0 * m * n * k * groups / t / 1e9


def available_impls(impl_names=IMPL_ORDER) -> tuple[list[str], list[str]]:
    names, notes = [], []
    for name in impl_names:
        why = impls.torch_available() if name == "torch" else None
        if why:
            notes.append(why)
        else:
            names.append(name)
    return names, notes


def run(cases: list[Case], repeat: int = 5, impl_names=IMPL_ORDER, square: bool = True,
        progress: Callable[[str], None] | None = None, naive_budget_s: float = NAIVE_BUDGET_S) -> Report:
    """Time every implementation on every case. `progress(label)` is called once per step."""
    start = time.perf_counter()
    report = Report(machine_info(), list(cases), repeat=repeat)
    names, report.notes = available_impls(impl_names)
    if "naive" in names:
        report.notes.append(f"naive runs its Python loops for {naive_budget_s:g} s on batch 1 and is "
                            "extrapolated per MAC to the full layer (marked *)")
    step = progress or (lambda label: None)
    if "torch" in names:
        import torch
        report.notes.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    last_lib = None
    for case in cases:
        arrays = impls.make_arrays(case)
        times: dict[str, float] = {}
        rounds: dict[str, list[float]] = {}
        rows: list[dict] = []
        timed: dict[str, Callable[[], object]] = {}  # timed together, in rounds (interleaved_times)
        for name in names:
            step(f"{case.name}: {name}")
            if name == "winograd" and not impls.winograd_applies(case):
                continue  # 3×3 stride-1 convolutions only
            if name == "banded" and not impls.banded_applies(case):
                continue  # depthwise convolutions only
            err = verify(case, name)
            if not err <= TOLERANCE:
                report.notes.append(f"{case.name}: {name} differs from the float64 reference by {err:.3g} "
                                    f"(> {TOLERANCE:g}); not timed")
                continue
            extrapolated = False
            if name == "naive":
                if last_lib == "torch":
                    time.sleep(SWITCH_PAUSE_S)
                last_lib = "numpy"
                one = replace(case, shape=(1, *case.shape[1:]))
                small = {k: (v[:1] if k == "x" else v) for k, v in arrays.items()}
                impls.naive(one, small, 0.01)  # warm up
                t0 = time.perf_counter()
                _, done = impls.naive(one, small, naive_budget_s)
                elapsed = time.perf_counter() - t0
                times[name] = elapsed / max(done, 1) * case.macs()
                extrapolated = True
            else:
                timed[name] = impls.IMPLS[name](case, arrays)
            if name == "winograd":
                report.notes.append(impls.winograd_note(case, arrays))
            rows.append({"impl": name, "extrapolated": extrapolated, "col": None})
        if timed:
            libs = {name: "torch" if name == "torch" else "numpy" for name in timed}
            if last_lib == "torch" and "numpy" in libs.values():
                time.sleep(SWITCH_PAUSE_S)
            rounds = interleaved_times(timed, libs, repeat)
            times.update({name: statistics.median(t) for name, t in rounds.items()})
            last_lib = libs[round_order(timed, libs, repeat)[-1]]
        for row in rows:  # after the rounds: a first call's scratch buffers are not the call's own
            if row["impl"] in timed and row["impl"] != "torch":
                fn = timed[row["impl"]]
                row["col"] = _column_bytes(fn, int(np.prod(case.out_shape())) * np.dtype(case.dtype).itemsize)
                if row["impl"] == "im2col":
                    row["col"] += _kept_scratch_bytes(case)
        peak = None
        mnk = case.gemm_mnk()
        if mnk is not None:
            step(f"{case.name}: GEMM")
            if last_lib == "torch":
                time.sleep(SWITCH_PAUSE_S)
            last_lib = "numpy"
            m, n, k, g = mnk
            peak = gemm_gflops(m, n, k, case.dtype, repeat, g)
            report.peaks.append(Peak(case.name, peak, m, n, k, case.dtype))
        for row in rows:
            t = times[row["impl"]]
            gflops = case.flops() / t / 1e9
            if row["impl"] in rounds and "torch" in rounds:
                to_torch = paired_ratio(rounds[row["impl"]], rounds["torch"])
            else:  # naive, timed on its own
                to_torch = t / times["torch"] if "torch" in times else None
            report.results.append(Result(
                case=case.name, layer=case.layer, impl=row["impl"], dtype=case.dtype, median_s=t,
                gflops=gflops, pct_of_peak=None if peak is None else 100.0 * gflops / peak,
                ratio_to_torch=to_torch,
                extrapolated=row["extrapolated"],
                speedup_vs_naive=times["naive"] / t if "naive" in times else None,
                speedup_vs_textbook=times["im2col-textbook"] / t if "im2col-textbook" in times else None,
                column_bytes=row["col"]))
        del arrays
    if square and any(c.layer != "pool" for c in cases):
        dtypes = sorted({c.dtype for c in cases})
        for dt in dtypes:
            step(f"GEMM {SQUARE}³ {dt}")
            if last_lib == "torch":
                time.sleep(SWITCH_PAUSE_S)
            last_lib = "numpy"
            g = gemm_gflops(SQUARE, SQUARE, SQUARE, dt, max(3, min(repeat, 5)))
            report.peaks.append(Peak(f"square-{SQUARE}", g, SQUARE, SQUARE, SQUARE, dt))
    report.wall_s = time.perf_counter() - start
    return report


def steps(cases: list[Case], impl_names=IMPL_ORDER, square: bool = True) -> int:
    """How many times `run` calls progress: for the progress bar's total."""
    names, _ = available_impls(impl_names)
    n = sum(len(names) + (c.gemm_mnk() is not None) for c in cases)
    if square and any(c.layer != "pool" for c in cases):
        n += len({c.dtype for c in cases})
    return n
