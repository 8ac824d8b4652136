"""What to suggest for an unknown layer kind or option: by meaning for the names other frameworks
use (`Linear` → dense, `swish` → silu), by spelling only for a slip of one or two letters, and
never a kind that computes something else (`relu6` is not `relu`, `layernorm` is not `batchnorm`,
`selu` is not `elu`).

difflib's ratio, which the other "did you mean" messages use, matches on shared letters: it
offered `leaky_relu` for `linear`, `subsample` for `scale` and `relu` for `relu6`. Here a name is
first normalised (case, `_`, `-`, a `nn.`-style prefix), then looked up among the kinds and the
framework names below; failing that, a kind is suggested only when it is within one edit (two for
names longer than five letters), has the same digits, and the name is not one of another
framework's functions that cnncalc lacks (`selu`, `softmin`: those get said so instead).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import did_you_mean, one_of
from ..i18n import msg
from . import KINDS

# Other frameworks' names (normalised) → (cnncalc kind, whose name it is). A kind's own name in any
# case or with any underscores needs no line: normalising finds it (LeakyReLU → leaky_relu).
FRAMEWORK_NAMES: dict[str, tuple[str, str]] = {
    "linear": ("dense", "PyTorch's nn.Linear"),
    "fc": ("dense", "a fully connected layer"),
    "fullyconnected": ("dense", "a fully connected layer"),
    "innerproduct": ("dense", "Caffe's InnerProduct"),
    "conv2d": ("conv", "PyTorch's nn.Conv2d"),
    "convolution": ("conv", "Caffe's Convolution"),
    "convolution2d": ("conv", "Keras's Convolution2D"),
    "batchnorm2d": ("batchnorm", "PyTorch's nn.BatchNorm2d"),
    "batchnorm1d": ("batchnorm", "PyTorch's nn.BatchNorm1d"),
    "batchnormalization": ("batchnorm", "Keras's BatchNormalization"),
    "bn": ("batchnorm", "bn"),
    "maxpool2d": ("maxpool", "PyTorch's nn.MaxPool2d"),
    "maxpooling2d": ("maxpool", "Keras's MaxPooling2D"),
    "avgpool2d": ("avgpool", "PyTorch's nn.AvgPool2d"),
    "averagepooling2d": ("avgpool", "Keras's AveragePooling2D"),
    "adaptiveavgpool2d": ("adaptiveavgpool", "PyTorch's nn.AdaptiveAvgPool2d"),
    "globalaveragepooling2d": ("globalavgpool", "Keras's GlobalAveragePooling2D"),
    "globalmaxpooling2d": ("globalmaxpool", "Keras's GlobalMaxPooling2D"),
    "localresponsenorm": ("lrn", "PyTorch's nn.LocalResponseNorm"),
    "dropout2d": ("dropout", "PyTorch's nn.Dropout2d (at inference)"),
    "swish": ("silu", "swish"),
    "hswish": ("hardswish", "h-swish"),
    "hsigmoid": ("hardsigmoid", "h-sigmoid"),
    "layernorm2d": ("layernorm", "torchvision's LayerNorm2d"),
    "layernormalization": ("layernorm", "Keras's LayerNormalization"),
    "droppath": ("stochastic_depth", "timm's DropPath"),
    "zeropad2d": ("pad", "PyTorch's nn.ZeroPad2d"),
    "zeropadding2d": ("pad", "Keras's ZeroPadding2D"),
    "cropping2d": ("crop", "Keras's Cropping2D"),
    "channelshuffle": ("shuffle", "PyTorch's nn.ChannelShuffle"),
    "chunk": ("slice", "torch.chunk"),
    "squeezeexcitation": ("gate", "torchvision's SqueezeExcitation"),
    "convtranspose2d": ("convtranspose", "PyTorch's nn.ConvTranspose2d"),
    "conv2dtranspose": ("convtranspose", "Keras's Conv2DTranspose"),
    "deconvolution": ("convtranspose", "Caffe's Deconvolution"),
    "interpolate": ("upsample", "F.interpolate"),
    "upsampling2d": ("upsample", "Keras's UpSampling2D"),
    "upsamplingnearest2d": ("upsample", "PyTorch's nn.UpsamplingNearest2d"),
    "upsamplingbilinear2d": ("upsample", "PyTorch's nn.UpsamplingBilinear2d (mode: bilinear, align_corners: true)"),
    "cat": ("concat", "torch.cat"),
    "concatenate": ("concat", "Keras's Concatenate"),
    "add": ("residual", "Keras's Add"),
}

# Other frameworks' functions that cnncalc has no kind for: named as such, never "corrected" into a
# kind that is spelled alike and computes something else.
NOT_KINDS: dict[str, str] = {
    name.lower(): name for name in (
        "SELU", "CELU", "RReLU", "GLU", "Softplus", "Softsign", "Softmin", "LogSoftmax", "LogSigmoid",
        "Tanhshrink", "Hardshrink", "Softshrink", "Threshold", "MaxUnpool2d", "LPPool2d", "FractionalMaxPool2d",
        "AdaptiveMaxPool2d", "GroupNorm", "InstanceNorm2d", "Embedding", "LSTM", "GRU", "RNN",
        "MultiheadAttention", "Conv1d", "Conv3d", "MaxPool1d", "MaxPool3d", "AvgPool1d", "AvgPool3d",
        "BatchNorm3d", "PixelShuffle",
    )
}

# PyTorch's option names → cnncalc's, for "has no option" messages (the "From PyTorch" table of
# docs/format.md lists them side by side).
OPTION_NAMES: dict[str, str] = {
    "out_channels": "filters",
    "kernel_size": "kernel",
    "out_features": "units",
    "negative_slope": "slope",
    "min_val": "min",
    "max_val": "max",
    "num_parameters": "per_channel",
    "output_size": "size",
    "scale_factor": "scale",
}


def normalised(name: str) -> str:
    """`nn.LeakyReLU` → `leakyrelu`: the part after the last dot, lower case, without `_ - ` and spaces."""
    return re.sub(r"[\s_\-]", "", name.rsplit(".", 1)[-1].lower())


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b: optimal string alignment."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _digits(name: str) -> str:
    return "".join(c for c in name if c.isdigit())


def _close_by_spelling(word: str, choices: Iterable[str]) -> list[str]:
    """The choices one slip away (two for longer names) with the same digits, nearest first."""
    w = normalised(word)
    scored = []
    for choice in choices:
        c = normalised(choice)
        if _digits(c) != _digits(w):
            continue  # relu6 vs relu, conv1d vs conv2d: a different layer, not a typo
        if abs(len(c) - len(w)) > 2:
            continue  # at least that many edits apart (and a 10,000-letter word costs nothing)
        d = _distance(w, c)
        if d <= (1 if min(len(w), len(c)) <= 5 else 2):
            scored.append((d, choice))
    if not scored:
        return []
    best = min(d for d, _ in scored)
    return sorted(c for d, c in scored if d == best)


def _by_meaning(word: str, known: list[str]) -> str | None:
    """The kind a name means: itself in another case or spelling of `_`, or a framework's name."""
    w = normalised(word)
    same = [k for k in known if normalised(k) == w]
    if same:
        return same[0]
    if w in FRAMEWORK_NAMES and FRAMEWORK_NAMES[w][0] in known:
        return FRAMEWORK_NAMES[w][0]
    return None


def suggest_kind(word: str, known: Iterable[str], value: object = None) -> str:
    """The hint after "unknown layer kind 'word'; ": a kind by meaning or by spelling, or the list.
    `value` is what was written after the kind (`- activation: relu` gives `relu`)."""
    known = list(known)
    w = normalised(str(word))
    if w == "activation":  # Keras's Activation('relu'): in cnncalc the function is the kind
        target = _by_meaning(value, known) if isinstance(value, str) else None
        if target is not None:
            return msg("write the activation as the layer kind itself: `- {x}`", x=target)
        return msg("write the activation as the layer kind itself (`- relu`, `- silu`, …; docs/format.md "
                   "lists them)")
    target = _by_meaning(str(word), known)
    if target is not None and normalised(target) == w:
        return msg("did you mean '{x}'? (kinds are written as listed: lower case, with their underscores)",
                   x=target)
    if target is not None:
        return msg("did you mean '{x}'? ({origin} is cnncalc's {x})", x=target, origin=FRAMEWORK_NAMES[w][1])
    if w in NOT_KINDS:
        return msg("cnncalc has no kind for {name} (docs/format.md lists the kinds)", name=NOT_KINDS[w])
    if w in {normalised(k) for k in KINDS}:
        return one_of(known)  # a function's own name (`elu` where elu is not offered) is no misspelling
    close = _close_by_spelling(str(word), known)
    if len(close) == 1:
        return msg("did you mean '{x}'?", x=close[0])
    if close:
        return msg("did you mean one of {choices}?", choices=", ".join(f"'{c}'" for c in close))
    return one_of(known)


def suggest_option(key: str, allowed: Iterable[str]) -> str:
    """The hint after "X has no option 'key'; ": PyTorch's option name translated, else by spelling."""
    allowed = list(allowed)
    target = OPTION_NAMES.get(str(key))
    if target in allowed:
        return msg("did you mean '{x}'? (PyTorch's {key} is cnncalc's {x})", x=target, key=key)
    return did_you_mean(key, allowed)
