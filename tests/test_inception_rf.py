"""Inception-v3 as TF-slim builds it (tests/networks/inception_v3_slim.yaml): receptive field size r,
effective stride S and effective padding P of every end point against the published values, and the
shapes against TF-slim's source comments.

References:
- Araujo, Norris, Sim. "Computing Receptive Fields of Convolutional Neural Networks". Distill, 2019.
  https://distill.pub/2019/computing-receptive-fields/ (doi:10.23915/distill.00021), Table 1,
  Inception v3: Mixed_7b r = 1183, S = 32, P = 554; Mixed_7c r = 1311, S = 32, P = 618.
- The same authors' library, google-research/receptive_field, receptive_field/RECEPTIVE_FIELD_TABLE.md,
  computed from the TF-slim models: the inception_v3 rows give every end point, with identical
  r, S, P at resolution None, 224 and 321 (every stride-2 layer is VALID and every SAME layer has
  stride 1, so no padding depends on the input size).
- tensorflow/models research/slim/nets/inception_v3.py, inception_v3_base: the network and the
  "# 149 x 149 x 32" ... "# mixed_10: 8 x 8 x 2048" shape comments (input 299 x 299 x 3).

Each mixed block of the YAML is one concat named after the end point, so the concat record
`Mixed_7c` is the block's output; a stem end point is its conv → BatchNorm → ReLU, whose output is
`<end point>.relu`.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc

NET = Path(__file__).parent / "networks" / "inception_v3_slim.yaml"

# end point → (r, S, P), the same on both axes. RECEPTIVE_FIELD_TABLE.md, inception_v3; Mixed_7b and
# Mixed_7c are also Distill's Table 1.
RF = {
    "Conv2d_1a_3x3.relu": (3, 2, 0),
    "Conv2d_2a_3x3.relu": (7, 2, 0),
    "Conv2d_2b_3x3.relu": (11, 2, 2),
    "MaxPool_3a_3x3": (15, 4, 2),
    "Conv2d_3b_1x1.relu": (15, 4, 2),
    "Conv2d_4a_3x3.relu": (23, 4, 2),
    "MaxPool_5a_3x3": (31, 8, 2),
    "Mixed_5b": (63, 8, 18),
    "Mixed_5c": (95, 8, 34),
    "Mixed_5d": (127, 8, 50),
    "Mixed_6a": (159, 16, 58),
    "Mixed_6b": (351, 16, 154),
    "Mixed_6c": (543, 16, 250),
    "Mixed_6d": (735, 16, 346),
    "Mixed_6e": (927, 16, 442),
    "Mixed_7a": (1055, 32, 490),
    "Mixed_7b": (1183, 32, 554),
    "Mixed_7c": (1311, 32, 618),
}

# end point → channels (TF-slim's comments and depth() arguments)
CHANNELS = {
    "Conv2d_1a_3x3.relu": 32, "Conv2d_2a_3x3.relu": 32, "Conv2d_2b_3x3.relu": 64, "MaxPool_3a_3x3": 64,
    "Conv2d_3b_1x1.relu": 80, "Conv2d_4a_3x3.relu": 192, "MaxPool_5a_3x3": 192,
    "Mixed_5b": 256, "Mixed_5c": 288, "Mixed_5d": 288,
    "Mixed_6a": 768, "Mixed_6b": 768, "Mixed_6c": 768, "Mixed_6d": 768, "Mixed_6e": 768,
    "Mixed_7a": 1280, "Mixed_7b": 2048, "Mixed_7c": 2048,
}

# end point → spatial size. At 299 these are TF-slim's comments (149, 147, 147, 73, 73, 71, 35, 35...,
# 17..., 8...). At 224 the same rules give: VALID 3x3/2 → floor((n − 3)/2) + 1, VALID 3x3/1 → n − 2,
# SAME stride 1 → n: 224 → 111 → 109 → 109 → 54 → 54 → 52 → 25; Mixed_6a 12; Mixed_7a 5.
SIZES = {
    299: [149, 147, 147, 73, 73, 71, 35, 35, 35, 35, 17, 17, 17, 17, 17, 8, 8, 8],
    224: [111, 109, 109, 54, 54, 52, 25, 25, 25, 25, 12, 12, 12, 12, 12, 5, 5, 5],
}


@pytest.fixture(scope="module", params=[299, 224], ids=lambda n: f"input{n}")
def analysis(request):
    n = request.param
    net = cnncalc.load(NET) if n == 299 else cnncalc.load(NET, (3, n, n))
    return n, net.analyse()


def test_shapes_follow_tf_slim(analysis):
    n, a = analysis
    assert a.input == (3, n, n)
    for name, size in zip(RF, SIZES[n]):
        assert a.layer(name).output == (CHANNELS[name], size, size), name
    # Mixed_7c is the network's last layer: inception_v3_base ends there.
    assert a.layers[-1].name == "Mixed_7c"


@pytest.mark.parametrize("name", ["Mixed_7b", "Mixed_7c"])
def test_distill_table_1(analysis, name):
    """Araujo et al., Distill 2019, Table 1 (Inception v3): Mixed_7b 1183/32/554, Mixed_7c 1311/32/618,
    for TF-slim's model at 299 and at 224 alike."""
    _, a = analysis
    expected = {"Mixed_7b": (1183, 32, 554), "Mixed_7c": (1311, 32, 618)}[name]
    rf = a.layer(name).rf
    assert rf.aligned and not rf.is_global and rf.undefined is None
    r, s, p = expected
    assert (rf.size, rf.jump, rf.pad) == ((r, r), (s, s), (p, p))


@pytest.mark.parametrize("name", list(RF))
def test_every_end_point(analysis, name):
    """google-research/receptive_field, RECEPTIVE_FIELD_TABLE.md, inception_v3 (all resolutions)."""
    _, a = analysis
    r, s, p = RF[name]
    rf = a.layer(name).rf
    assert rf.aligned
    assert (rf.size, rf.jump, rf.pad) == ((r, r), (s, s), (p, p))


def test_params_match_keras():
    """A check of every channel count: Keras's InceptionV3(include_top=False) has 21,802,784
    params, 34,432 of them non-trainable (its BatchNorm has scale=False: beta trainable, moving mean
    and variance not). So the convs hold 21,802,784 − 3·17,216 = 21,751,136 weights over 17,216
    BatchNorm channels. cnncalc's BatchNorm has γ and β: params = convs + 2·17,216."""
    a = cnncalc.load(NET).analyse()
    bn_channels = sum(r.output[0] for r in a.layers if r.type == "batchnorm")
    conv_weights = sum(r.params for r in a.layers if r.type == "conv")
    assert bn_channels == 17_216
    assert conv_weights == 21_751_136
    assert a.totals.params == conv_weights + 2 * bn_channels
    assert a.totals.non_trainable == 34_432
