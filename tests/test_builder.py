"""Layer.from_options is the one place where options are parsed and defaults filled in: the layers a
user writes and the projection shortcut cnncalc builds must come out alike."""
import pytest

import cnncalc
from cnncalc.errors import CnnError
from cnncalc.graph import iter_layers
from cnncalc.layers.conv import Conv2d
from cnncalc.layers.normalization import BatchNorm

# The same residual twice: once with `shortcut: projection`, once with the shortcut written out
# as the ResNet paper's option B (1×1 conv, stride 2, no bias, then batch norm).
RESIDUAL = """
input: [4, 8, 8]
layers:
  - residual:
      body: [{{conv: {{filters: 8, kernel: 3, stride: 2, padding: 1}}}}]
      shortcut: {shortcut}
"""
WRITTEN = "[{conv: {filters: 8, kernel: 1, stride: 2, bias: false}}, batchnorm]"


def _options(layer) -> dict:
    return {k: v for k, v in vars(layer).items() if k not in ("name", "where")}


def test_projection_equals_the_shortcut_written_out():
    built = cnncalc.loads(RESIDUAL.format(shortcut="projection"))
    built.analyse()  # the projection is made once shapes are known
    written = cnncalc.loads(RESIDUAL.format(shortcut=WRITTEN))
    made = [layer for layer in iter_layers(built.graph.nodes) if ".shortcut." in f".{layer.name}."]
    wrote = [layer for layer in iter_layers(written.graph.nodes) if layer.kind in ("conv", "batchnorm")][1:]
    assert [type(layer) for layer in made] == [Conv2d, BatchNorm]
    assert [_options(a) for a in made] == [_options(b) for b in wrote]


def test_from_options_parses_and_fills_defaults():
    conv = Conv2d.from_options("c", {"filters": 6, "kernel": 5})
    assert (conv.kernel, conv.stride, conv.padding, conv.dilation, conv.groups, conv.bias) == \
        ((5, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1, True)
    assert BatchNorm.from_options("bn", {}).eps == 1e-5


def test_from_options_names_the_layer_in_its_errors():
    with pytest.raises(CnnError, match="conv needs `kernel`") as missing:
        Conv2d.from_options("net.c", {"filters": 6})
    assert missing.value.layer == "net.c"
    with pytest.raises(CnnError, match="stride must be") as bad:
        Conv2d.from_options("net.c", {"filters": 6, "kernel": 3, "stride": 0})
    assert bad.value.layer == "net.c"
