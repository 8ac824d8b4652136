"""cnncalc and the ecosystem: ONNX files in (`onnx_reader`, `onnx_ops`, `onnx_structure`,
`onnx_import`), ONNX and PyTorch out (`onnx_export`, `pytorch_export`).

The `onnx` package is an optional extra (`pip install "cnncalc[onnx]"`), imported lazily by
`require_onnx`: the analysis of YAML files never loads it."""
from __future__ import annotations

from ..errors import CnnError

ONNX_MISSING = 'reading and writing ONNX needs the onnx package: pip install "cnncalc[onnx]"'


def require_onnx():
    """The onnx module, or the one-line message saying what to install."""
    try:
        import onnx
    except ImportError:
        raise CnnError(ONNX_MISSING) from None
    return onnx


def is_onnx_path(spec: object) -> bool:
    return str(spec).lower().endswith(".onnx")
