"""The NumPy forward pass: walks the graph as the analysis engine does, runs every layer's kernel on
real arrays, and checks each actual output shape and weight count against the engine's record.

    >>> import cnncalc
    >>> from cnncalc.forward import run_forward
    >>> result = run_forward(cnncalc.load("feature-map-example").graph, dtype="float64")
    >>> result.output[0, 0].tolist()
    [[4.0, 3.0, 4.0], [2.0, 4.0, 3.0], [2.0, 3.0, 4.0]]

Weights are named by layer path and array name, `conv1.weight`, `layer2.0.bn1.running_var` (PyTorch's
state-dict names where the YAML keeps torchvision's layer names).
"""
from __future__ import annotations

import math
import os
import stat
import time
import weakref
import zipfile
from dataclasses import dataclass, field, replace
from typing import BinaryIO, Callable

import numpy as np

from .analysis import analyse
from .errors import CnnError, Where
from .fusion import plan as plan_fusions
from .graph import Graph, iter_layers, walk
from .kernels.conv import Epilogue, FiniteWatch, col_buffer_bytes, prepared_bytes
from .kernels.pool import BLOCK_BYTES, adaptive_scratch_bytes
from .kernels.prepared import CACHE_BYTES as PREPARED_CACHE_BYTES
from .kernels.prepared import unchangeable
from .layers import Layer
from .layers.conv import Conv2d
from .layers.normalization import BatchNorm
from .quoting import cut
from .records import Analysis
from .threads import available, run_shards, shard_bounds, shard_count
from .weights import FILE, INLINE, FileMatch, check_arrays, describe, match_file
from .weights import notes as partial_notes

DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class ForwardRecord:
    name: str
    type: str
    shape: tuple[int, ...]  # actual output array shape, batch excluded
    expected_shape: tuple[int, ...]  # the analysis engine's
    params: int  # actual trainable weight elements
    expected_params: int
    seconds: float
    ran_inside: str = ""  # the conv or add whose kernel ran this layer (cnncalc.fusion); its time is that one's

    @property
    def ok(self) -> bool:
        return self.shape == self.expected_shape and self.params == self.expected_params


@dataclass
class ForwardResult:
    name: str
    batch: int
    dtype: str
    records: list[ForwardRecord]
    output: np.ndarray
    seconds: float
    peak_bytes: int
    analysis: Analysis
    notes: list[str] = field(default_factory=list)
    weights: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # every array used, by path.name

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.records)


# -- weights ------------------------------------------------------------------------------------
def _fan_in(shape: tuple[int, ...]) -> int:
    return math.prod(shape[1:]) if len(shape) > 1 else shape[0]


def _normal(rng: np.random.Generator, shape, scale: float = 1.0, mean: float = 0.0) -> np.ndarray:
    a = rng.standard_normal(shape, dtype=np.float32)
    a *= scale
    a += mean
    return a


def _uniform(rng: np.random.Generator, shape, lo: float, hi: float) -> np.ndarray:
    a = rng.random(shape, dtype=np.float32)
    a *= hi - lo
    a += lo
    return a


def init_weights(layer: Layer, in_shape: tuple[int, ...], rng: np.random.Generator, dtype) -> dict[str, np.ndarray]:
    """Seeded initialisation: He-normal weights (Glorot-uniform for dense), PyTorch-style uniform
    biases, batch-norm statistics away from 0/1 so that every array matters. Drawn in float32
    whatever the run's dtype: float32 and float64 runs of one seed get the same weights, and VGG-16's
    138 M weights take a third of the time float64 draws would."""
    shapes = layer.weight_shapes(in_shape)
    out: dict[str, np.ndarray] = {}
    if isinstance(layer, BatchNorm):
        c = shapes["weight"]
        out["weight"] = _normal(rng, c, 0.1, 1.0)
        out["bias"] = _normal(rng, c, 0.1)
        out["running_mean"] = _normal(rng, c, 0.1)
        out["running_var"] = _uniform(rng, c, 0.5, 1.5)
    elif layer.kind in ("layernorm", "layer_scale"):
        # Scale factors around 1, as batch norm's γ: the ±1/√C of a bias would shrink every
        # ConvNeXt block's output to a few per cent.
        for name, shape in shapes.items():
            out[name] = _normal(rng, shape, 0.1, 1.0 if name == "weight" else 0.0)
    elif layer.kind == "prelu":
        out["weight"] = _uniform(rng, shapes["weight"], 0.0, 0.5)  # around PyTorch's initial 0.25
    else:
        w_shape = shapes.get("weight")
        fan_in = _fan_in(w_shape) if w_shape else 1
        for name, shape in shapes.items():
            if name == "weight" and len(shape) == 4:
                out[name] = _normal(rng, shape, math.sqrt(2 / fan_in))  # He
            elif name == "weight" and len(shape) == 2:
                limit = math.sqrt(6 / (shape[0] + shape[1]))  # Glorot
                out[name] = _uniform(rng, shape, -limit, limit)
            elif name == "prototypes":
                out[name] = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), shape)  # the paper's ±1 bitmaps
            else:
                bound = 1 / math.sqrt(fan_in)
                out[name] = _uniform(rng, shape, -bound, bound)
    return {k: _read_only(v.astype(dtype, copy=False)) for k, v in out.items()}


def _read_only(a: np.ndarray) -> np.ndarray:
    """The arrays cnncalc makes are read-only: kernels may then keep what they derive from them
    (kernels.winograd's transformed weights) without checking their bytes again on every run."""
    a.flags.writeable = False
    return a


def _given(layer: Layer, in_shape, supplied: dict[str, np.ndarray] | None, dtype) -> dict[str, np.ndarray] | None:
    """The layer's arrays from --weights (npz, by path) or inline in the YAML, checked by the one
    validator (cnncalc.weights) the analysis uses too; None when neither gives any."""
    shapes = layer.weight_shapes(in_shape)
    if not shapes:
        return None
    if supplied is not None and any(f"{layer.name}.{n}" in supplied for n in shapes):
        arrays = {n: np.asarray(supplied[f"{layer.name}.{n}"]) for n in shapes if f"{layer.name}.{n}" in supplied}
        source = FILE
    elif getattr(layer, "weights", None) is not None:
        arrays = {n: np.asarray(v, dtype=np.float64) for n, v in layer.weights.items()}
        source = INLINE
    else:
        return None
    for name, a in arrays.items():
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise CnnError(f"`{name}` in {source} holds {a.dtype} values; give numbers (float32 or float64)",
                           layer.where, layer.name)
    check_arrays(shapes, {n: tuple(a.shape) for n, a in arrays.items()}, source, layer.where, layer.name,
                 bias_option="bias" in layer.options)
    # Shapes fit: at most leading 1s were left out, which a reshape puts back.
    return {n: a.reshape(shapes[n]).astype(dtype, copy=False) for n, a in arrays.items()}


# PyTorch's batch norm keeps a step counter beside its statistics; it takes no part in inference,
# and a state dict saved as it is carries one per batch norm, so such arrays are accepted and left
# unused (where their layer's name differs, its other arrays already say so).
IGNORED_ARRAYS = ("num_batches_tracked",)


def match_weights(graph: Graph, analysis: Analysis, names) -> FileMatch:
    """The weights file's array names against the arrays every layer owns at its analysed input."""
    inputs = {r.name: tuple(r.input) for r in analysis.layers}
    wanted: dict[str, tuple[str, ...]] = {}
    inline = []
    for layer in iter_layers(graph.nodes):
        if layer.name in inputs:
            wanted[layer.name] = tuple(layer.weight_shapes(inputs[layer.name]))
            if getattr(layer, "weights", None) is not None:
                inline.append(layer.name)
    names = [n for n in names if n.rpartition(".")[2] not in IGNORED_ARRAYS]
    return match_file(names, wanted, inline)


def check_weights_file(graph: Graph, analysis: Analysis, shapes: dict[str, tuple[int, ...]],
                       partial_weights: bool, weights_file: str | None) -> FileMatch:
    """A weights file's names and shapes against the network, before anything runs (and, from the
    CLI, before the file's data is read: `shapes` may come from the headers). A name that matches
    nothing would leave a layer on random weights while every row still shows ✓."""
    match = match_weights(graph, analysis, shapes)
    if not match.complete and not partial_weights:
        raise CnnError(describe(match), Where(weights_file) if weights_file else None)
    inputs = {r.name: tuple(r.input) for r in analysis.layers}
    for layer in iter_layers(graph.nodes):
        if layer.name not in inputs:
            continue
        wanted = layer.weight_shapes(inputs[layer.name])
        given = {n: tuple(shapes[f"{layer.name}.{n}"]) for n in wanted if f"{layer.name}.{n}" in shapes}
        if given:
            check_arrays(wanted, given, FILE, layer.where, layer.name, bias_option="bias" in layer.options)
    return match


def trainable_elements(layer: Layer, arrays: dict[str, np.ndarray], in_shape) -> int:
    """The weights that actually take part and train (a connection table masks the rest)."""
    total = 0
    for name in layer.trainable_names():
        if name not in arrays:
            continue
        if name == "weight" and isinstance(layer, Conv2d) and layer.table is not None:
            total += int(layer.table_mask(in_shape[0]).sum()) * layer.kernel[0] * layer.kernel[1]
        else:
            total += arrays[name].size
    return total


# -- arrays read from files -------------------------------------------------------------------
@dataclass(frozen=True)
class ArrayHeader:
    """What a .npy header declares, read before any of the data is."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _kind_words(dtype: np.dtype) -> str:
    if dtype.fields:
        return f"structured records (fields {cut(', '.join(dtype.fields), 40)})"
    words = {"c": "complex", "U": "text", "S": "bytes", "O": "Python object", "b": "true/false",
             "M": "date", "m": "time-span", "V": "raw bytes"}
    return f"{words.get(dtype.kind, 'non-numeric')} ({dtype})"


def read_header(f: BinaryIO, what: str, size: int) -> ArrayHeader:
    """The header of the .npy array at `f`'s position (`size` bytes from there): magic, version,
    shape, dtype; refused when the dtype is not real numbers or the data the header declares is
    longer than what follows it (a header can declare terabytes: nothing is allocated here).
    `what` starts the message ('array `conv1.weight`' inside an archive, else empty)."""
    fmt = np.lib.format
    lead = f"{what}: " if what else ""
    if size == 0:
        raise CnnError(f"{lead}the file is empty; save the array with numpy.save")
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} (structured records with UTF-8 "
                             "field names), not a plain array")
    except (ValueError, EOFError, OSError, SyntaxError) as exc:
        raise CnnError(f"{lead}not a NumPy .npy array: {cut(exc, 80)}; save the array with numpy.save") from None
    if dtype.kind not in "iuf":
        raise CnnError(f"{lead}the array holds {_kind_words(dtype)} values; give real numbers (float32 or "
                       "float64)")
    header = ArrayHeader(tuple(shape), dtype, fortran)
    left = size - f.tell()
    if header.nbytes > left:
        raise CnnError(f"{lead}the header declares a {'×'.join(map(str, shape)) or '0-d'} {dtype} array "
                       f"({_fmt_bytes(header.nbytes)}) but only {left:,} bytes follow it; the file is cut short "
                       "or was not written by numpy.save")
    return header


def _open_regular(path: str) -> tuple[BinaryIO, int]:
    """`path` opened for reading when it is a regular file (a FIFO would block, a device never end)."""
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):
            raise CnnError("not a regular file (a directory, pipe or device); give a .npy or .npz file",
                           Where(cut(path, 100)))
        return open(path, "rb"), status.st_size
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "cannot be opened"
        raise CnnError(f"{why.lower()}; give the path of an existing file", Where(cut(path, 100))) from None


def read_npy_header(path: str) -> ArrayHeader:
    """The input array's header, checked: real numbers, (N, C, H, W) or (C, H, W), no empty axis."""
    f, size = _open_regular(path)
    with f:
        try:
            header = read_header(f, "", size)
        except CnnError as exc:
            raise exc.at(Where(cut(path, 100))) from None
    shape = header.shape
    if len(shape) not in (3, 4) or 0 in shape:
        got = "a 0-d array (one number)" if not shape else f"{'×'.join(map(str, shape))}"
        raise CnnError(f"the input array is {got}; it must be (N, C, H, W) or (C, H, W) with every size ≥ 1",
                       Where(cut(path, 100)))
    return header


def load_npy(path: str) -> np.ndarray:
    """The array whose header read_npy_header checked (and the memory guard allowed)."""
    f, _ = _open_regular(path)
    with f:
        try:
            return np.load(f, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise CnnError(f"cannot read it as a .npy array: {cut(exc, 80)}", Where(cut(path, 100))) from None


def read_npz_headers(path: str) -> dict[str, ArrayHeader]:
    """Every array's header in a .npz archive, by name, checked as read_header checks one; the
    archive's members are read only as far as their headers."""
    f, _ = _open_regular(path)
    where = Where(cut(path, 100))
    headers: dict[str, ArrayHeader] = {}
    with f:
        try:
            archive = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise CnnError("not a .npz archive (not a zip file); save the weights with numpy.savez", where) from None
        with archive:
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                if name == info.filename:
                    raise CnnError(f"`{cut(info.filename)}` in the archive is not a .npy array; save the weights "
                                   "with numpy.savez", where)
                try:
                    with archive.open(info) as member:
                        headers[name] = read_header(member, f"array `{cut(name)}`", info.file_size)
                except CnnError as exc:
                    raise exc.at(where) from None
                except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, EOFError) as exc:
                    raise CnnError(f"array `{cut(name)}` cannot be read from the archive: {cut(exc, 80)}",
                                   where) from None
    return headers


def load_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays of an archive whose headers read_npz_headers checked."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: _read_only(z[k]) for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CnnError(f"cannot read it as a .npz archive: {cut(exc, 80)}", Where(cut(path, 100))) from None


# -- memory ---------------------------------------------------------------------------------------
def available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def scratch_bytes(layer: Layer, in_shape: tuple[int, ...], out_shape: tuple[int, ...], itemsize: int,
                  batch: int, blas_threads: int | None = None) -> int:
    """Bytes a layer's kernel allocates beyond its input and output, for the buffers that grow with
    its options: conv's column matrix (cnncalc.kernels.conv says how much), LRN's squares, their sum
    and two temporaries (whatever its size: kernels.elementwise pads nothing), a pooling's block of partial sums
    (kernels.pool: at least one plane of H×OW), adaptive pooling's first-axis sums, a transposed
    convolution's contributions and uncropped map, bilinear upsampling's gathered rows and columns.
    `blas_threads`: those the kernel's GEMMs get (kernels.conv.winograd_tile)."""
    kind = layer.kind
    if kind == "conv" and len(in_shape) == 3:
        return col_buffer_bytes(in_shape, layer.weight_shapes(in_shape)["weight"], layer.output(in_shape).axes,
                                layer.dilation, itemsize, batch, blas_threads)
    if kind == "lrn":
        rest = math.prod(in_shape[1:])
        return batch * 4 * in_shape[0] * rest * itemsize
    if kind in ("maxpool", "avgpool", "subsample") and len(in_shape) == 3:
        c, h, w = in_shape
        planes = min(max(1, BLOCK_BYTES // max(1, h * w * itemsize)), batch * c)
        return planes * h * out_shape[2] * itemsize
    if kind == "adaptiveavgpool":
        return adaptive_scratch_bytes(in_shape, out_shape[1:], itemsize, batch)
    if kind == "convtranspose":
        from .kernels.upsampling import transposed_scratch_bytes
        return transposed_scratch_bytes(in_shape, out_shape, layer.kernel, layer.stride, layer.dilation,
                                        layer.padding, itemsize, batch)
    if kind == "upsample" and layer.mode == "bilinear":
        from .kernels.upsampling import bilinear_scratch_bytes
        return bilinear_scratch_bytes(in_shape, out_shape, itemsize, batch)
    return 0


@dataclass(frozen=True)
class PeakEstimate:
    total: int
    scratch: int  # the largest kernel scratch, in `total`
    scratch_layer: str | None
    prepared: int = 0  # weights prepared for the kernels and kept (kernels.prepared), in `total`


def network_shards(analysis: Analysis, batch: int, threads: int) -> int:
    """The shards a run of this network cuts its batch into (cnncalc.threads.shard_count): its MACs,
    its largest conv's (a dense layer has no copies to share out, and each shard would read all its
    weights), and whether it has depthwise convs, for the whole batch."""
    from .kernels.depthwise import applies as depthwise
    largest = max((r.macs for r in analysis.layers if r.type == "conv"), default=0) * batch
    has_depthwise = any(r.type == "conv" and depthwise(r.input[0], r.options.get("groups", 1))
                        for r in analysis.layers)
    return shard_count(batch, analysis.totals.macs, threads, largest, has_depthwise)


def estimate_peak(graph: Graph, analysis: Analysis, batch: int, itemsize: int, threads: int = 1,
                  fuse: bool = True) -> PeakEstimate:
    """Activations kept + the largest kernel scratch buffer (one per thread: each keeps its own, for
    its shard of the batch; a batch of one is split inside the kernels, so a bound still) + the
    weights + the weights the conv kernels prepare from them and keep (a batch norm's scale folded
    in, Winograd's transforms, the shift as a column: up to kernels.prepared.CACHE_BYTES).

    At any moment the walker holds a layer's input and output plus, inside a residual or concat,
    the merge input and the finished branches; three times the largest activation bounds that for
    chains and residual nets, and the concat's own output covers Inception-style branching."""
    acts = [math.prod(r.output) for r in analysis.layers] + [math.prod(graph.input_shape)]
    biggest = sorted(acts, reverse=True)[:3]
    scratch, scratch_layer, prepared = 0, None, 0
    by_name = {layer.name: layer for layer in iter_layers(graph.nodes)}
    shards = network_shards(analysis, batch, threads)
    blas = 1 if shards > 1 else None  # a shard's kernels run with BLAS at one thread
    fusions = plan_fusions(graph.nodes) if fuse else {}
    shard = -(-batch // shards)
    for r in analysis.layers:
        layer = by_name.get(r.name)
        if layer is None:
            continue
        b = threads * scratch_bytes(layer, tuple(r.input), tuple(r.output), itemsize, shard, blas)
        if b > scratch:
            scratch, scratch_layer = b, r.name
        if layer.kind == "conv" and len(r.input) == 3:
            fusion = fusions.get(id(layer))
            affine = fusion is not None and fusion.affine is not None
            shapes = layer.weight_shapes(tuple(r.input))
            prepared += prepared_bytes(tuple(r.input), shapes["weight"], layer.output(tuple(r.input)).axes,
                                       layer.dilation, itemsize, shard, affine, affine or "bias" in shapes, blas)
    prepared = min(prepared, PREPARED_CACHE_BYTES)
    weights = (analysis.totals.params + analysis.totals.non_trainable) * itemsize
    return PeakEstimate(sum(biggest) * batch * itemsize + scratch + weights + prepared, scratch, scratch_layer,
                        prepared)


def guard_memory(graph: Graph, analysis: Analysis, batch: int, itemsize: int, max_memory: int | None,
                 extra: int = 0, extra_what: str = "", threads: int = 1, fuse: bool = True) -> int:
    """The estimated peak (plus `extra` bytes: arrays read from files and kept beside their
    converted copies); a CnnError before anything is allocated when it exceeds `max_memory`
    (default: half the available memory)."""
    memo = _kept_for(graph)
    key = ("peak", id(analysis), batch, itemsize, threads, fuse)
    if key not in memo:
        memo[key] = estimate_peak(graph, analysis, batch, itemsize, threads, fuse)
    peak = memo[key]
    limit = max_memory if max_memory is not None else available_memory() // 2
    if peak.total + extra > limit:
        parts = "activations kept + weights"
        if peak.prepared:
            parts += f" + weights prepared for the kernels ({_fmt_bytes(peak.prepared)})"
        if peak.scratch_layer:
            parts += f" + the largest kernel scratch buffer ({_fmt_bytes(peak.scratch)}, in {peak.scratch_layer})"
        if extra:
            parts += f" + {extra_what} ({_fmt_bytes(extra)})"
        raise CnnError(
            f"the forward pass would need about {_fmt_bytes(peak.total + extra)} ({parts}) but the limit is "
            f"{_fmt_bytes(limit)}; use a smaller --batch (now {batch}) or a smaller --input C,H,W, or raise "
            f"--max-memory")
    return peak.total


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def nonfinite_count(a: np.ndarray) -> int:
    return int(a.size - np.count_nonzero(np.isfinite(a)))


# -- the walker -----------------------------------------------------------------------------------
class _WeightMaker:
    """A walk over shapes, before any kernel runs, that gives every layer its arrays: read from
    --weights or the YAML, else drawn from the seed in walk order (as they always were, so a seed
    gives the same weights), so that every shard of the batch runs with the same arrays."""

    def __init__(self, rng, dtype, supplied):
        self.rng = rng
        self.dtype = dtype
        self.supplied = supplied
        self.arrays: dict[int, tuple[tuple[int, ...], dict[str, np.ndarray]]] = {}  # id(layer): (input, arrays)
        self.weights: dict[str, np.ndarray] = {}  # by path.name, in walk order
        # id(batch norm): its (scale, shift), made from these arrays by the first run that fuses it
        self.affines: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape

    def layer(self, layer: Layer, shape: tuple[int, ...], source) -> tuple[int, ...]:
        arrays = _given(layer, shape, self.supplied, self.dtype)
        if arrays is None:
            arrays = init_weights(layer, shape, self.rng, self.dtype)
        self.arrays[id(layer)] = (shape, arrays)
        self.weights.update({f"{layer.name}.{n}": a for n, a in arrays.items()})
        return tuple(layer.output(shape).shape)

    def merge(self, layer: Layer, shapes: list[tuple[int, ...]], source) -> tuple[int, ...]:
        return tuple(layer.merge(shapes))


class _Runner:
    """The forward pass of one shard of the batch as a graph.Visitor: `graph.walk` decides the order
    and what each branch reads; this runs the kernels, decides when a layer may overwrite its input,
    and runs the layers cnncalc.fusion planned inside the conv or add before them."""

    def __init__(self, expected: dict, arrays: dict[int, tuple[tuple[int, ...], dict[str, np.ndarray]]], dtype,
                 on_layer: Callable[[str], None] | None, fusions: dict | None = None, affines: dict | None = None):
        self.expected = expected
        self.arrays = arrays
        self.affines = {} if affines is None else affines  # _WeightMaker.affines: shared by the shards
        self.dtype = dtype
        self.on_layer = on_layer
        self.fusions = fusions or {}
        self.ran_inside: dict[int, str] = {}  # id(layer): the layer whose kernel ran it, this run
        self.records: list[ForwardRecord] = []
        self.nonfinite: tuple[int, str, int, int] | None = None  # (record index, layer, values, per sample)

    def shape(self, x: np.ndarray) -> tuple[int, ...]:
        return tuple(x.shape[1:])

    def layer(self, layer: Layer, x: np.ndarray, source: np.ndarray) -> np.ndarray:
        # The enclosing sequence's source belongs to the caller (a shortcut or another branch may
        # read it again); what the sequence made from it, and no view of it, is its own to overwrite.
        owned = x is not source and not np.may_share_memory(x, source)
        in_shape = tuple(x.shape[1:])
        made_for, arrays = self.arrays[id(layer)]
        if made_for != in_shape:
            # A kernel before this one disagreed with the analysis (its record says so): arrays for
            # the input that came, so the run goes on to report every mismatch.
            arrays = init_weights(layer, in_shape, np.random.default_rng(0), self.dtype)
        host = self.ran_inside.pop(id(layer), None)
        if host is not None:  # done already, inside the conv's or add's kernel: x is this layer's output
            self._record(layer, x, trainable_elements(layer, arrays, in_shape), 0.0, host)
            return x
        fusion = self.fusions.get(id(layer))
        if fusion is not None and (made_for != in_shape or x.dtype != self.dtype):
            fusion = None  # the layers after it run on their own, and report what they get
        watch = FiniteWatch() if isinstance(layer, Conv2d) and x.dtype == self.dtype else None
        start = time.perf_counter()
        try:
            if watch is not None:
                y = layer.forward(x, arrays, epilogue=self._epilogue(fusion, watch))
                if fusion is not None:
                    self.ran_inside.update({id(f): fusion.host.name for f in fusion.followers})
            elif owned and layer.supports_in_place and x.dtype == self.dtype:
                y = layer.forward(x, arrays, in_place=True)
            else:
                y = layer.forward(x, arrays)
        except CnnError as exc:
            raise exc.at(layer.where, layer.name) from None
        y = y.astype(self.dtype, copy=False)
        name = layer.name
        if fusion is not None and fusion.affine is not None:  # a batch norm's scale can overflow too
            name = f"{layer.name} or {fusion.affine.name} (run inside it)"
        if watch is None or not watch.finite:  # else the kernel saw every block finite
            self._count_nonfinite(name, y)
        self._record(layer, y, trainable_elements(layer, arrays, in_shape), time.perf_counter() - start)
        return y

    def _epilogue(self, fusion, watch: FiniteWatch | None = None) -> Epilogue:
        """The fused layers (if any) as the host kernel's epilogue, from their arrays of this run."""
        scale = shift = activation = None
        if fusion is not None and fusion.affine is not None:
            key = id(fusion.affine)
            if key not in self.affines:  # kept with the arrays: a run reusing them reuses this too
                self.affines[key] = fusion.affine.channel_affine(self.arrays[key][1])
            scale, shift = self.affines[key]
        if fusion is not None and fusion.activation is not None:
            act = fusion.activation
            activation = lambda block: act.forward(block, {}, in_place=True)  # noqa: E731
        return Epilogue(scale, shift, activation, watch)

    def merge(self, layer: Layer, xs: list[np.ndarray], source: np.ndarray) -> np.ndarray:
        # An add writes the sum into the body's output (xs[0]) when that is a fresh array of the
        # run's dtype: not the merge's input `source` (an empty body) nor a view of it.
        first = xs[0]
        in_place = layer.supports_in_place and first.dtype == self.dtype and not np.may_share_memory(first, source)
        fusion = self.fusions.get(id(layer)) if in_place else None
        watch = FiniteWatch()
        start = time.perf_counter()
        try:
            if fusion is not None:
                ep = self._epilogue(fusion, watch)
                y = layer.forward(xs, {}, in_place=True, then=lambda sample: ep.apply(sample, 0))
                self.ran_inside[id(fusion.activation)] = fusion.host.name
            else:
                y = layer.forward(xs, {}, in_place=True) if in_place else layer.forward(xs, {})
        except CnnError as exc:
            raise exc.at(layer.where, layer.name) from None
        if fusion is None or not watch.finite:
            self._count_nonfinite(layer.name, y)
        self._record(layer, y, 0, time.perf_counter() - start)
        return y

    def _count_nonfinite(self, name: str, y: np.ndarray) -> None:
        """The first layer whose output holds inf or NaN (values beyond the dtype's range, or inf − inf
        after them), counted once for a note; the layers after it carry them on."""
        # A sum in the array's own dtype is one vectorised pass (float64 accumulation took 3× as
        # long: 7% of ResNet-18's forward); a finite array whose sum overflows counts 0 and says nothing.
        if self.nonfinite is None and not np.isfinite(y.sum()):
            count = nonfinite_count(y)
            if count:
                self.nonfinite = (len(self.records), name, count, y[:1].size)

    def _record(self, layer: Layer, y: np.ndarray, params: int, seconds: float, ran_inside: str = "") -> None:
        rec = self.expected.get(layer.name)
        self.records.append(ForwardRecord(
            layer.name, layer.kind, tuple(y.shape[1:]),
            tuple(rec.output) if rec else (), params, rec.params if rec else -1, seconds, ran_inside))
        if self.on_layer:
            self.on_layer(layer.name)


def run_forward(graph: Graph, x: np.ndarray | None = None, weights: dict[str, np.ndarray] | None = None,
                batch: int = 1, seed: int = 0, dtype: str = "float32", max_memory: int | None = None,
                on_layer: Callable[[str], None] | None = None, partial_weights: bool = False,
                weights_file: str | None = None, threads: int | None = None, fuse: bool = True) -> ForwardResult:
    """Run the network on real arrays. `x` (N, C, H, W) or (C, H, W); else the YAML's `input_data`,
    else a seeded standard-normal batch. Raises CnnError before allocating if the estimated peak
    memory exceeds `max_memory` (default: half the available memory).

    `weights` (PATH.NAME → array) must name every array of every layer that owns some (inline
    weights aside), and nothing else: a CnnError lists what does not match, unless
    `partial_weights`, which initialises the rest from `seed` and says so in the notes. `weights_file`
    names the file in that error."""
    if dtype not in DTYPES:
        raise CnnError(f"--dtype must be float32 or float64 for the forward pass, got {dtype}")
    np_dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    if x is not None:
        x = np.asarray(x)
        if x.ndim == len(graph.input_shape):
            x = x[None]
        if tuple(x.shape[1:]) != tuple(graph.input_shape):
            raise CnnError(f"the input array is {'×'.join(map(str, x.shape))}, but the network takes "
                           f"N×{'×'.join(map(str, graph.input_shape))}; pass --input C,H,W to match it")
        batch = x.shape[0]
    memo = _kept_for(graph)
    key = (batch, np_dtype.itemsize)
    if key not in memo:
        memo[key] = analyse(graph, batch=batch, dtype_bytes=np_dtype.itemsize)
    analysis = memo[key]
    threads = forward_threads(threads)
    peak = guard_memory(graph, analysis, batch, np_dtype.itemsize, max_memory, threads=threads, fuse=fuse)
    if x is None:
        if graph.input_data is not None:
            x = np.broadcast_to(np.asarray(graph.input_data, dtype=np.float64), (batch, *graph.input_shape))
        else:
            x = rng.standard_normal((batch, *graph.input_shape))
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise CnnError(f"the input array holds {x.dtype} values; give numbers (float32 or float64)")
    notes, maker = _layer_arrays(graph, analysis, memo, rng, np_dtype, weights, partial_weights, weights_file)
    expected = {r.name: r for r in analysis.layers}
    # Values beyond the dtype's range become inf, and inf − inf NaN, as IEEE arithmetic says: not a
    # warning on stderr per kernel, but one counted note in the report.
    with np.errstate(all="ignore"):
        x = np.ascontiguousarray(x, dtype=np_dtype)
        bad_input = nonfinite_count(x)
    start = time.perf_counter()
    if fuse and "fusions" not in memo:
        memo["fusions"] = plan_fusions(graph.nodes)
    fusions = memo["fusions"] if fuse else {}
    shards = network_shards(analysis, batch, threads)
    out, records, nonfinite = _walk_shards(graph, x, expected, maker, np_dtype, on_layer, shards, fusions)
    seconds = time.perf_counter() - start
    if bad_input:
        notes.append(f"{bad_input:,} of the input's {x.size:,} values are inf or NaN (beyond {dtype}'s range, "
                     "or so in the array given); the layers carry them on")
    elif nonfinite is not None:
        name, count, size = nonfinite
        notes.append(f"{count:,} of {size:,} values overflowed to inf or NaN in layer {name} (beyond {dtype}'s "
                     "range, or inf − inf after it); the layers after it carry them on")
    return ForwardResult(graph.name, batch, dtype, records, out, seconds, peak, analysis, notes,
                         dict(maker.weights))


def _layer_arrays(graph: Graph, analysis: Analysis, memo: dict, rng, dtype, weights, partial_weights: bool,
                  weights_file: str | None) -> tuple[list[str], "_WeightMaker"]:
    """The weights file's check (its notes) and every layer's arrays for this run, from a walk over
    shapes. A run again with the same complete set of read-only arrays (those cnncalc made, as a
    benchmark or a notebook passes back) reuses the last run's: the check and the walk took 2 ms of
    ResNet-18's 35 at batch 1. Arrays that can change are walked again, since a copy made for
    another dtype would not follow them."""
    key = None
    if weights is not None and not partial_weights and all(
            isinstance(a, np.ndarray) and unchangeable(a) for a in weights.values()):
        key = (dtype.str, weights_file, tuple((name, id(a)) for name, a in weights.items()))
        kept = memo.get("arrays")
        if kept is not None and kept[0] == key and all(a is b for a, b in zip(kept[1], weights.values())):
            return list(kept[2]), kept[3]
    notes = []
    if weights is not None:
        notes += partial_notes(check_weights_file(graph, analysis, {k: np.shape(v) for k, v in weights.items()},
                                                  partial_weights, weights_file))
    maker = _WeightMaker(rng, dtype, weights)
    walk(graph.nodes, tuple(graph.input_shape), maker)
    if key is not None:
        memo["arrays"] = (key, tuple(weights.values()), tuple(notes), maker)
    return notes, maker


# What a run derives from the graph alone (its analysis per batch and dtype, its fusion plan), kept
# for the graphs run last: running a network again (a benchmark, a notebook) skips the analysis, 6 ms
# of ResNet-18's 40 ms at batch 1. A built graph does not change, so what is kept stays true.
_KEEP_GRAPHS = 4
_kept: dict[int, tuple[weakref.ref, dict]] = {}


def _kept_for(graph: Graph) -> dict:
    entry = _kept.get(id(graph))
    if entry is None or entry[0]() is not graph:  # a new graph (perhaps at a dead one's address)
        while len(_kept) >= _KEEP_GRAPHS:
            del _kept[next(iter(_kept))]
        entry = _kept[id(graph)] = (weakref.ref(graph), {})
    return entry[1]


def forward_threads(threads: int | None = None) -> int:
    """Threads a run uses: `threads`, or as many as NumPy's BLAS (cnncalc.threads.available)."""
    return max(1, available() if threads is None else threads)


def _walk_shards(graph: Graph, x: np.ndarray, expected: dict, maker: _WeightMaker, dtype, on_layer,
                 shards: int, fusions: dict) -> tuple[np.ndarray, list[ForwardRecord], tuple[str, int, int] | None]:
    """The walk over `shards` slices of the batch at once, one thread each (this one runs the first,
    and reports progress), BLAS at one thread meanwhile (cnncalc.threads: NumPy's copies and
    elementwise passes use one core, so slicing the batch is what puts the other cores to work).
    Returns the output, the records (each layer's time is the slowest shard's) and the first
    overflow note's (layer, values, of how many)."""
    bounds = shard_bounds(x.shape[0], shards)
    runners = [_Runner(expected, maker.arrays, dtype, on_layer if i == 0 else None, fusions, maker.affines)
               for i in range(shards)]
    with np.errstate(all="ignore"):
        outs = run_shards(lambda i: walk(graph.nodes, x[slice(*bounds[i])], runners[i]), shards)
    out = outs[0] if shards == 1 else np.concatenate(outs)
    records = runners[0].records
    if shards > 1:
        records = [replace(r, seconds=max(run_.records[i].seconds for run_ in runners))
                   for i, r in enumerate(records)]
    found = [r.nonfinite for r in runners if r.nonfinite is not None]
    nonfinite = None
    if found:
        first = min(f[0] for f in found)
        at = [f for f in found if f[0] == first]
        nonfinite = (at[0][1], sum(f[2] for f in at), at[0][3] * x.shape[0])
    return out, records, nonfinite
