""""Did you mean" for unknown layer kinds and options (issue 11): never a kind that computes
something else. The pairs below were written by hand: each wrong suggestion the issue reports
(relu6 → relu, scale → subsample, linear → leaky_relu, layernorm → batchnorm), the other
frameworks' names that mean a cnncalc kind, and slips of spelling."""
from __future__ import annotations

import re

import pytest

import cnncalc
from cnncalc.document import STRUCTURAL
from cnncalc.errors import CnnError
from cnncalc.layers import KINDS
from cnncalc.layers.suggest import FRAMEWORK_NAMES, suggest_kind, suggest_option

KNOWN = [*KINDS, *STRUCTURAL]


def _suggested(hint) -> list[str]:
    """The kinds a hint proposes ('did you mean …'), none for a list of choices."""
    text = str(hint)
    if not text.startswith("did you mean"):
        return []
    return re.findall(r"'([^']+)'", text.split("?")[0])


@pytest.mark.parametrize("word, removed", [
    # The reports, with the kind the user meant absent from the registry (as it was then):
    ("relu6", "relu6"),
    ("scale", None),
    ("layernorm", "layernorm"),
    ("relu7", None),
    ("elu", "elu"),  # without elu, an ELU is not a ReLU or a GELU
    ("selu", None),
    ("softmin", None),  # two letters from softmax, another function
    ("conv1d", None),
    ("maxunpool2d", None),
    ("groupnorm", None),
])
def test_never_suggests_another_function(word, removed):
    known = [k for k in KNOWN if k != removed]
    assert _suggested(suggest_kind(word, known)) == [], suggest_kind(word, known)


@pytest.mark.parametrize("word, kind", [
    ("linear", "dense"), ("Linear", "dense"), ("nn.Linear", "dense"), ("torch.nn.Linear", "dense"),
    ("fc", "dense"), ("InnerProduct", "dense"),
    ("Conv2d", "conv"), ("Conv2D", "conv"), ("convolution", "conv"),
    ("BatchNorm2d", "batchnorm"), ("BatchNormalization", "batchnorm"),
    ("GELU", "gelu"), ("ReLU", "relu"), ("ReLU6", "relu6"), ("LeakyReLU", "leaky_relu"), ("leaky-relu", "leaky_relu"),
    ("swish", "silu"), ("SiLU", "silu"), ("Hardswish", "hardswish"), ("h_swish", "hardswish"),
    ("hsigmoid", "hardsigmoid"), ("PReLU", "prelu"), ("Mish", "mish"), ("ELU", "elu"), ("Hardtanh", "hardtanh"),
    ("MaxPool2d", "maxpool"), ("MaxPooling2D", "maxpool"), ("AvgPool2d", "avgpool"),
    ("AdaptiveAvgPool2d", "adaptiveavgpool"), ("GlobalAveragePooling2D", "globalavgpool"),
    ("LayerNorm", "layernorm"), ("LayerNorm2d", "layernorm"), ("layer_norm", "layernorm"),
    ("LocalResponseNorm", "lrn"), ("Dropout", "dropout"), ("Dropout2d", "dropout"),
    ("StochasticDepth", "stochastic_depth"), ("DropPath", "stochastic_depth"), ("LayerScale", "layer_scale"),
    ("Flatten", "flatten"), ("Identity", "identity"), ("Softmax", "softmax"),
    ("cat", "concat"), ("Concatenate", "concat"),
    ("ChannelShuffle", "shuffle"), ("chunk", "slice"), ("SqueezeExcitation", "gate"),
    ("ConvTranspose2d", "convtranspose"), ("Conv2DTranspose", "convtranspose"), ("Deconvolution", "convtranspose"),
    ("Upsample", "upsample"), ("UpsamplingBilinear2d", "upsample"), ("UpSampling2D", "upsample"),
    ("ZeroPad2d", "pad"), ("ZeroPadding2D", "pad"), ("Cropping2D", "crop"),
])
def test_suggests_by_meaning(word, kind):
    assert _suggested(suggest_kind(word, KNOWN)) == [kind], suggest_kind(word, KNOWN)


@pytest.mark.parametrize("word, kinds", [
    ("maxpol", ["maxpool"]), ("batchnrom", ["batchnorm"]), ("conv_", ["conv"]), ("globalavgpol", ["globalavgpool"]),
    ("hardswsh", ["hardswish"]), ("sigmiod", ["sigmoid"]), ("dropuot", ["dropout"]), ("flaten", ["flatten"]),
    ("layernrom", ["layernorm"]), ("stochastic_dept", ["stochastic_depth"]),
    # equally near to three kinds: all three named, none chosen for the user
    ("eelu", ["elu", "gelu", "relu"]),
])
def test_suggests_by_spelling_only_when_close(word, kinds):
    assert _suggested(suggest_kind(word, KNOWN)) == kinds, suggest_kind(word, KNOWN)


def test_framework_names_point_at_real_kinds():
    for name, (kind, origin) in FRAMEWORK_NAMES.items():
        assert kind in KNOWN, f"{name} → {kind}, which is not a kind"
        assert name == name.lower() and "_" not in name, name


@pytest.mark.parametrize("key, allowed, option", [
    ("out_channels", ["filters", "kernel"], "filters"),
    ("kernel_size", ["filters", "kernel"], "kernel"),
    ("out_features", ["units", "bias"], "units"),
    ("negative_slope", ["slope"], "slope"),
    ("min_val", ["min", "max"], "min"),
    ("kernal", ["filters", "kernel"], "kernel"),
    ("scale_factor", ["scale", "size", "mode"], "scale"),
])
def test_option_names(key, allowed, option):
    assert _suggested(suggest_option(key, allowed)) == [option]


def test_a_block_name_is_still_suggested_by_spelling():
    text = "input: [1, 8, 8]\nblocks:\n  fire:\n    layers: [relu]\nlayers:\n  - fyre\n"
    with pytest.raises(CnnError, match="did you mean 'fire'"):
        cnncalc.loads(text)


def test_whole_message_through_the_builder():
    with pytest.raises(CnnError) as exc:
        cnncalc.loads("input: [4, 8, 8]\nlayers:\n  - swish\n")
    assert str(exc.value) == ("<string>:3:5: unknown layer kind 'swish'; did you mean 'silu'? "
                              "(swish is cnncalc's silu)")


@pytest.mark.parametrize("value, kind", [("relu", "relu"), ("swish", "silu"), ("LeakyReLU", "leaky_relu"),
                                         ("hard_swish", "hardswish"), ("selu", None), (None, None)])
def test_keras_activation_layer_points_at_the_kind(value, kind):
    hint = str(suggest_kind("Activation", KNOWN, value))
    assert "write the activation as the layer kind itself" in hint
    assert (f"`- {kind}`" in hint) if kind else "`- relu`, `- silu`" in hint

