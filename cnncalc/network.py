"""The library's front door: load an architecture (file, text or built-in name) and analyse it."""
from __future__ import annotations

import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .analysis import analyse, receptive_field_of
from .builder import build_graph
from .errors import CnnError, Where, did_you_mean
from .graph import Graph
from .i18n import msg
from .records import Analysis, TopDown
from .quoting import cut
from .yaml_source import file_status, load_yaml_file, load_yaml_text
from . import zoo
from .interop import is_onnx_path

DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "int8": 1}


@dataclass
class Network:
    graph: Graph
    imported: Any = None  # interop.onnx_import.Imported, for a network read from an .onnx file
    check_failed: bool = False  # set by analyse: the engine's shapes disagree with the file's

    @property
    def name(self) -> str:
        return self.graph.name

    def analyse(self, batch: int = 1, dtype: str = "float32") -> Analysis:
        if dtype not in DTYPE_BYTES:
            raise CnnError(f"unknown dtype '{dtype}'; use one of {', '.join(DTYPE_BYTES)}")
        analysis = analyse(self.graph, batch=batch, dtype_bytes=DTYPE_BYTES[dtype])
        if self.imported is None or tuple(self.graph.input_shape) != tuple(self.imported.input_shape):
            return analysis  # at another input size the file's shapes say nothing
        mismatches = self.imported.mismatches(analysis)
        self.check_failed = bool(mismatches)
        said = [f"✗ {m.layer}: cnncalc computes {_dims(m.engine)}, the ONNX file {_dims(m.onnx)}" for m in mismatches]
        return replace(analysis, warnings=tuple(said) + analysis.warnings)

    def _repr_svg_(self) -> str:
        """A notebook shows the network's picture: the paper figure for one path, else the graph."""
        from .render.pictures import default_style, render_picture
        from .structure import drawing_of
        drawing = drawing_of(self.graph, self.analyse())
        return render_picture(drawing, default_style(drawing), "nb")

    def _repr_html_(self) -> str:
        """A notebook shows the summary table, the totals and the picture."""
        from .render.html_report import render_notebook_html
        return render_notebook_html(self.analyse(), self._repr_svg_())

    def receptive_field(self, layer: str) -> TopDown:
        analysis = self.analyse()
        names = [r.name for r in analysis.layers]
        if layer not in names:
            raise CnnError(msg("there is no layer '{layer}'; {hint}", layer=layer, hint=_suggest_layer(layer, names)),
                           Where(self.graph.source))
        return receptive_field_of(analysis, layer)


def _dims(shape) -> str:
    return "×".join("?" if d is None else str(d) for d in shape)


def _suggest_layer(layer: str, names: list[str]) -> str:
    """A scope's own output first (`Mixed_7c` → `Mixed_7c.concat`, the last layer under it), else the
    closest name."""
    inside = [n for n in names if n.startswith(layer + ".")]
    if inside:
        return msg("did you mean '{x}' (the output of {scope})?", x=inside[-1], scope=layer)
    return did_you_mean(layer, names)


def loads(text: str, source: str = "<string>", input_shape: tuple[int, ...] | None = None) -> Network:
    """Build a network from YAML text."""
    return Network(build_graph(load_yaml_text(text, source), source, input_shape))


def load_onnx(path: str | Path, input_shape: tuple[int, ...] | None = None) -> Network:
    """An ONNX file, imported (cnncalc.interop.onnx_import) and built like any YAML network; its
    notes (batch norm folded) go with the analysis, and the file's shapes are checked against it
    when it runs at the file's own input size."""
    from .interop.onnx_import import import_onnx

    imported = import_onnx(path)
    graph = build_graph(load_yaml_text(imported.yaml_text, str(path)), str(path), input_shape)
    graph.notes = tuple(imported.notes)
    return Network(graph, imported)


def load(spec: str | Path, input_shape: tuple[int, ...] | None = None) -> Network:
    """Build a network from a file path, or the name of a built-in architecture (`lenet5`).

    A regular file wins; a built-in name wins over anything else of that name (a folder called
    `resnet18`); what is left is read as a file, so a folder, pipe or device is refused as such."""
    path = Path(spec)
    status = file_status(path)
    builtin = zoo.find(str(spec))
    if builtin is not None and (status is None or not stat.S_ISREG(status.st_mode)):
        source = f"{spec}.yaml"
        return Network(build_graph(load_yaml_text(builtin.read_text(encoding="utf-8"), source), source, input_shape))
    if status is not None and is_onnx_path(path) and stat.S_ISREG(status.st_mode):
        return load_onnx(path, input_shape)
    if status is not None:
        return Network(build_graph(load_yaml_file(path), str(path), input_shape))
    hint = "; " + zoo.suggest(cut(spec)) if zoo.names() else ""
    raise CnnError(f"no such file or built-in architecture{hint}", Where(cut(spec, 100)))
