"""Every layer kind against PyTorch inside a whole network, float64, 1e-8 relative.

The built-in architectures (tests/test_forward.py) use most kinds with their usual settings; these
small networks add the kinds and settings they leave out, each chosen so that a wrong formula
shows: LRN with alpha ≠ beta and an even size, softmax over the channels of a feature map and a
batch of 2 (every axis gives a different answer), batch norm with a large eps, average pooling
with padding counted and not counted, ceil_mode, dilated grouped rectangular convolutions,
adaptive pooling to sizes that do not divide the input, global max pooling."""
from __future__ import annotations

import numpy as np
import pytest

import cnncalc
from cnncalc.forward import run_forward

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")

from torch_reference import TorchNet  # noqa: E402  (after the importorskip above)

NORMALISATION_AND_ACTIVATIONS = """
name: oracle-normalisation-and-activations
input: [6, 7, 6]
layers:
  - conv: {name: c1, filters: 8, kernel: 3, padding: 1}
  - batchnorm: {eps: 0.5}
  - lrn: {size: 3, alpha: 0.5, beta: 0.3, k: 1.5}
  - gelu
  - conv: {name: c2, filters: 8, kernel: 1}
  - lrn: {size: 4, alpha: 2.0, beta: 1.2, k: 0.5}
  - leaky_relu: 0.3
  - identity
  - dropout: 0.3
  - softmax
  - globalmaxpool
  - flatten
  - dense: 5
  - softmax
"""

POOLING_AND_CONV_GEOMETRY = """
name: oracle-pooling-and-conv-geometry
input: [4, 19, 17]
layers:
  # Stride 1 and 19·17 outputs: conv2d's flat im2col path; c1 and dw take the side-by-side path.
  - conv: {name: c0, filters: 4, kernel: 3, dilation: 2, groups: 2, padding: 2}
  - conv: {name: c1, filters: 6, kernel: [3, 2], stride: [2, 1], padding: [1, 0, 0, 1], dilation: [1, 2],
           groups: 2, bias: false}
  - sigmoid
  - avgpool: {kernel: 3, stride: 2, padding: 1, count_include_pad: false}
  - conv: {name: dw, filters: 6, kernel: 3, groups: 6, padding: same, dilation: 2}
  - tanh
  - avgpool: {kernel: 3, stride: 1, padding: 1}
  - avgpool: {kernel: 2, stride: 2, ceil_mode: true}
  - adaptiveavgpool: [2, 3]
  - conv: {name: c3, filters: 5, kernel: 3, stride: 2, padding: same}
  - maxpool: {kernel: 2, stride: 1, padding: same}
  - relu
  - flatten
  - dense: 3
"""

LENET_KINDS = """
name: oracle-lenet-kinds
input: [3, 12, 13]
layers:
  - subsample: {kernel: [2, 3], stride: [2, 1]}
  - adaptiveavgpool: [4, 5]
  - conv: {name: c1, filters: 4, kernel: 2, table: [[0], [1, 2], [0, 2], [0, 1, 2]]}
  - globalavgpool
  - flatten
  - dense: 6
  - tanh
  - rbf: 4
"""

BRANCHES = """
name: oracle-branches
input: [3, 8, 8]
layers:
  - concat:
      branches:
        - [{conv: {name: a, filters: 2, kernel: 1}}]
        - []
        - [{maxpool: {kernel: 3, stride: 1, padding: 1}}]
  - residual:
      body: [{conv: {name: b, filters: 4, kernel: 3, stride: 2, padding: 1}}, batchnorm]
      shortcut: projection
"""

# Issue 11's kinds. Inputs are spread (σ = 2) and the first conv adds more, so hardswish and
# hardsigmoid see both sides of ±3, relu6 values above 6, hardtanh both bounds (asymmetric, so a
# swapped min/max shows); PReLU per channel and shared; layer norm with a large eps on a map (over the
# channels, not over H·W) and on a vector; a per-position dense layer with and without bias.
MODERN_KINDS = """
name: oracle-modern-kinds
input: [3, 7, 6]
layers:
  - conv: {name: c1, filters: 6, kernel: 3, padding: 1}
  - layernorm: {name: ln, eps: 0.3}
  - dense: {name: pw1, units: 8, per_position: true}
  - hardswish
  - dense: {name: pw2, units: 6, per_position: true, bias: false}
  - layer_scale: {name: ls}
  - prelu: {name: pc, per_channel: true}
  - residual:
      body:
        - conv: {name: c2, filters: 6, kernel: 3, padding: 1}
        - hardtanh: {min: -0.5, max: 2.5}
        - stochastic_depth: {p: 0.2, mode: row}
  - relu6
  - elu: 0.7
  - conv: {name: c3, filters: 6, kernel: 3, padding: 1}
  - mish
  - conv: {name: c4, filters: 6, kernel: 1}
  - silu
  - conv: {name: c5, filters: 6, kernel: 1}
  - hardsigmoid
  - prelu: {name: ps}
  - flatten
  - layernorm: {name: lnv, eps: 0.01}
  - dense: 4
"""

# U-Net's skip connection (a branch centre-cropped to its sibling's size, odd differences so the
# before/after split shows), explicit padding per side, crops by sides and to a fixed size.
BORDERS = """
name: oracle-borders
input: [3, 17, 15]
layers:
  - conv: {name: c0, filters: 4, kernel: 3}
  - concat:
      transparent: true
      branches:
        skip: [crop: up]
        up:
          - maxpool: 2
          - conv: {name: c1, filters: 5, kernel: 2}
          - pad: [0, 1, 2, 0]
  - pad: [2, 1, 0, 3]
  - crop: {sides: [1, 0, 2, 1]}
  - relu
  - crop: {size: [4, 3]}
  - conv: {name: c2, filters: 2, kernel: 2, padding: 1}
"""

# Squeeze-and-excitation (a C×1×1 gate), a spatial gate of the input's own shape, a gate over
# one channel broadcast over the channels (1×H×W), an unnamed gate; ShuffleNetV2's split (chunk)
# and shuffle, a channel range with an odd count, chunks of an odd channel count (torch.chunk's
# shorter last chunk), and a gate on a vector.
GATES_AND_CHANNELS = """
name: oracle-gates-and-channels
input: [6, 9, 8]
layers:
  - conv: {name: c0, filters: 8, kernel: 3, padding: 1}
  - gate:
      name: se
      layers:
        - globalavgpool: {name: avgpool}
        - conv: {name: fc1, filters: 3, kernel: 1}
        - relu
        - conv: {name: fc2, filters: 8, kernel: 1}
        - sigmoid
  - concat:
      name: unit
      transparent: true
      branches:
        x1: [slice: {chunks: 2, index: 0}]
        branch2:
          - slice: {chunks: 2, index: 1}
          - conv: {name: "0", filters: 4, kernel: 1}
          - gate: {layers: [conv: {filters: 4, kernel: 3, padding: 1}, sigmoid]}
          - conv: {name: "1", filters: 4, kernel: 3, padding: 1, groups: 4}
  - shuffle: 2
  - gate: {name: spatial, layers: [conv: {filters: 1, kernel: 3, padding: 1}, tanh]}
  - concat:
      branches:
        - [slice: {start: 1, stop: 4}]
        - [slice: {start: 5}]
        - [slice: {chunks: 3, index: 2}, conv: {filters: 2, kernel: 1}]
  - globalavgpool
  - flatten
  - gate: {name: vec, layers: [dense: 8, hardsigmoid]}
  - dense: 3
"""

# Decoders: transposed convolutions with groups, dilation, rectangular kernels and strides, padding
# and output_padding; upsampling nearest (up and down by whole factors) and bilinear (a scale, a size
# that shrinks, align_corners both ways, a factor of 3 whose source points are not binary fractions).
DECODER = """
name: oracle-decoder
input: [4, 5, 6]
layers:
  - convtranspose: {name: t1, filters: 6, kernel: [3, 2], stride: [2, 3], padding: [1, 0], output_padding: [1, 2],
                    groups: 2}
  - relu
  - convtranspose: {name: t2, filters: 4, kernel: 3, stride: 2, dilation: [2, 1], padding: 2, output_padding: 1,
                    bias: false}
  - upsample: {size: [13, 20], mode: bilinear}
  - upsample: {scale: [2, 3]}
  - upsample: {size: [13, 30], mode: bilinear, align_corners: true}
  - upsample: {size: [26, 15]}
  - conv: {name: c, filters: 3, kernel: 3, stride: 2}
  - upsample: {scale: 3, mode: bilinear}
  - upsample: {scale: 2, mode: bilinear, align_corners: true}
"""

NETS = {
    "borders": BORDERS,
    "gates-and-channels": GATES_AND_CHANNELS,
    "normalisation-and-activations": NORMALISATION_AND_ACTIVATIONS,
    "pooling-and-conv-geometry": POOLING_AND_CONV_GEOMETRY,
    "lenet-kinds": LENET_KINDS,
    "branches": BRANCHES,
    "modern-kinds": MODERN_KINDS,
    "decoder": DECODER,
}


def compare_with_pytorch(net: cnncalc.Network, batch: int = 2) -> float:
    """The largest difference between cnncalc's forward pass and PyTorch's, relative to the output."""
    result = run_forward(net.graph, batch=batch, seed=7, dtype="float64")
    assert result.ok
    model = TorchNet(net.graph, result.weights)
    assert sum(p.numel() for p in model.parameters()) == result.analysis.totals.params
    # Spread inputs (σ = 2) so activations leave their near-linear range and formulas differ.
    x = 2 * np.random.default_rng(8).standard_normal((batch, *net.graph.input_shape))
    ours = run_forward(net.graph, x, result.weights, dtype="float64").output
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert ours.shape == ref.shape
    return float(np.max(np.abs(ours - ref)) / max(1e-300, np.max(np.abs(ref))))


@pytest.mark.parametrize("name", NETS)
def test_network_equals_pytorch(name):
    assert compare_with_pytorch(cnncalc.loads(NETS[name], f"{name}.yaml")) <= 1e-8
