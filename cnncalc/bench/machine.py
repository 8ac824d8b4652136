"""What the numbers were measured on: CPU, cores, NumPy, and the BLAS that threadpoolctl finds."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

# OpenBLAS kernel names by the widest vector ISA they use (lower case).
_KERNEL_LEVEL = {
    "prescott": 1, "core2": 1, "penryn": 1, "dunnington": 1, "atom": 1, "nehalem": 1,
    "barcelona": 1, "opteron": 1, "bobcat": 1,
    "sandybridge": 2, "bulldozer": 2, "piledriver": 2, "steamroller": 2, "excavator": 2,
    "haswell": 3, "zen": 3,
    "skylakex": 4, "cooperlake": 4, "sapphirerapids": 4,
}
_LEVEL_NAME = {1: "SSE", 2: "AVX", 3: "AVX2/FMA", 4: "AVX-512"}


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    numpy: str
    blas: str
    blas_kernel: str
    warnings: tuple[str, ...] = field(default=())


def _cpuinfo() -> tuple[str, set[str]]:
    name, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and name == "unknown":
                    name = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        import platform
        name = platform.processor() or platform.machine() or "unknown"
    return name, flags


def cpu_level(flags: set[str]) -> int:
    if "avx512f" in flags:
        return 4
    if "avx2" in flags and "fma" in flags:
        return 3
    if "avx" in flags:
        return 2
    return 1 if flags else 0


def kernel_warning(coretype: str | None, kernel: str, flags: set[str]) -> str | None:
    """A warning when OPENBLAS_CORETYPE (or the kernel found) is older than the CPU supports."""
    have = cpu_level(flags)
    for source, name in (("OPENBLAS_CORETYPE", coretype), ("BLAS kernel", kernel)):
        level = _KERNEL_LEVEL.get((name or "").lower())
        if level and have and level < have:
            why = f"{source}={name}" if source == "OPENBLAS_CORETYPE" else f"the BLAS kernel {name}"
            return (f"{why} uses {_LEVEL_NAME[level]} but this CPU supports {_LEVEL_NAME[have]}: "
                    f"GEMM and every im2col number are below what the machine can do"
                    + ("; unset OPENBLAS_CORETYPE for the bench" if source == "OPENBLAS_CORETYPE" else ""))
    return None


def machine_info() -> Machine:
    import numpy

    cpu, flags = _cpuinfo()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    blas, kernel, threads = "unknown", "unknown", None
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                blas = f"{pool.get('internal_api', '?')} {pool.get('version') or ''}".strip()
                kernel = str(pool.get("architecture") or "unknown")
                threads = pool.get("num_threads")
                break
    if threads is not None:
        blas += f" ({threads} threads)"
    warnings = [kernel_warning(os.environ.get("OPENBLAS_CORETYPE"), kernel, flags), load_warning(cores)]
    return Machine(cpu, cores, numpy.__version__, blas, kernel, tuple(w for w in warnings if w))


def load_warning(cores: int) -> str | None:
    """Other processes on the CPU make every multi-threaded timing slower and noisier."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return None
    if load >= 0.5:
        return (f"load average {load:.2f} on {cores} cores before the bench started: other processes are "
                f"using the CPU, so times are slower and noisier than the machine can do")
    return None
