"""MobileNetV3-Large, EfficientNet-B0, ShuffleNetV2 1.0× and RegNetY-400MF written in PyTorch the
way torchvision 0.28 writes them (torchvision itself is not installed here: its wheel is a CUDA
build): the same modules under the same attribute names, so `state_dict()` keys are torchvision's,
and the same forward passes. Test oracle only.

Where cnncalc's names differ, `torchvision_name` says how (RegNet's `proj` is cnncalc's residual
`shortcut`, as ResNet's `downsample` is)."""
from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from torch import nn


def _make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision.models._utils._make_divisible."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvNormAct(nn.Sequential):
    """torchvision.ops.Conv2dNormActivation: conv (no bias, padding (k − 1)/2) → norm → activation."""

    def __init__(self, cin, cout, kernel=3, stride=1, groups=1, norm=nn.BatchNorm2d, act=nn.ReLU):
        layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), norm(cout)]
        if act is not None:
            layers.append(act())
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation."""

    def __init__(self, channels, squeeze, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


# -- MobileNetV3-Large --------------------------------------------------------------------------------
# (in, kernel, expanded, out, use_se, activation, stride): torchvision's _mobilenet_v3_conf("mobilenet_v3_large")
MOBILENET_V3_LARGE = [
    (16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2), (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2), (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1), (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1), (160, 5, 960, 160, True, "HS", 1),
]


class MobileNetV3Block(nn.Module):
    """torchvision.models.mobilenetv3.InvertedResidual."""

    def __init__(self, cin, kernel, exp, cout, use_se, act, stride, norm):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        act_layer = nn.Hardswish if act == "HS" else nn.ReLU
        layers = []
        if exp != cin:
            layers.append(ConvNormAct(cin, exp, 1, norm=norm, act=act_layer))
        layers.append(ConvNormAct(exp, exp, kernel, stride, groups=exp, norm=norm, act=act_layer))
        if use_se:
            layers.append(SqueezeExcitation(exp, _make_divisible(exp // 4, 8), scale_activation=nn.Hardsigmoid))
        layers.append(ConvNormAct(exp, cout, 1, norm=norm, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return y + x if self.use_res_connect else y


class MobileNetV3Large(nn.Module):
    def __init__(self):
        super().__init__()
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        layers = [ConvNormAct(3, 16, 3, 2, norm=norm, act=nn.Hardswish)]
        layers += [MobileNetV3Block(*cfg, norm=norm) for cfg in MOBILENET_V3_LARGE]
        layers.append(ConvNormAct(160, 960, 1, norm=norm, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(960, 1280), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# -- EfficientNet-B0 ----------------------------------------------------------------------------------
# (expand_ratio, kernel, stride, in, out, layers): torchvision's _efficientnet_conf("efficientnet_b0")
EFFICIENTNET_B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                   (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth at inference: the input itself."""

    def __init__(self, p, mode):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        return x


class MBConv(nn.Module):
    """torchvision.models.efficientnet.MBConv."""

    def __init__(self, expand, kernel, stride, cin, cout, sd_prob):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        exp = _make_divisible(cin * expand, 8)
        layers = []
        if exp != cin:
            layers.append(ConvNormAct(cin, exp, 1, act=nn.SiLU))
        layers.append(ConvNormAct(exp, exp, kernel, stride, groups=exp, act=nn.SiLU))
        layers.append(SqueezeExcitation(exp, max(1, cin // 4), activation=nn.SiLU))
        layers.append(ConvNormAct(exp, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob, "row")

    def forward(self, x):
        y = self.block(x)
        return self.stochastic_depth(y) + x if self.use_res_connect else y


class EfficientNetB0(nn.Module):
    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = [ConvNormAct(3, 32, 3, 2, act=nn.SiLU)]
        total, block_id = sum(cfg[-1] for cfg in EFFICIENTNET_B0), 0
        for expand, kernel, stride, cin, cout, n in EFFICIENTNET_B0:
            stage = []
            for i in range(n):
                stage.append(MBConv(expand, kernel, stride if i == 0 else 1, cin if i == 0 else cout, cout,
                                    0.2 * block_id / total))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        layers.append(ConvNormAct(320, 1280, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# -- ShuffleNetV2 1.0× ----------------------------------------------------------------------------------
def channel_shuffle(x, groups):
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, c, h, w)


class ShuffleUnit(nn.Module):
    """torchvision.models.shufflenetv2.InvertedResidual."""

    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride = stride
        bf = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, bias=False, groups=inp), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU())
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else bf, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU(),
            nn.Conv2d(bf, bf, 3, stride, 1, bias=False, groups=bf), nn.BatchNorm2d(bf),
            nn.Conv2d(bf, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU())

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, repeats=(4, 8, 4), channels=(24, 116, 232, 464, 1024)):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, channels[0], 3, 2, 1, bias=False), nn.BatchNorm2d(channels[0]),
                                   nn.ReLU())
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = channels[0]
        for i, (n, cout) in enumerate(zip(repeats, channels[1:4]), start=2):
            setattr(self, f"stage{i}", nn.Sequential(ShuffleUnit(cin, cout, 2),
                                                     *[ShuffleUnit(cout, cout, 1) for _ in range(n - 1)]))
            cin = cout
        self.conv5 = nn.Sequential(nn.Conv2d(cin, channels[-1], 1, bias=False), nn.BatchNorm2d(channels[-1]),
                                   nn.ReLU())
        self.fc = nn.Linear(channels[-1], 1000)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


# -- RegNetY-400MF --------------------------------------------------------------------------------------
class BottleneckTransform(nn.Sequential):
    def __init__(self, w_in, w_out, stride, group_width, se_ratio):
        w_b = w_out  # bottleneck multiplier 1
        layers = OrderedDict()
        layers["a"] = ConvNormAct(w_in, w_b, 1)
        layers["b"] = ConvNormAct(w_b, w_b, 3, stride, groups=w_b // group_width)
        layers["se"] = SqueezeExcitation(w_b, int(round(se_ratio * w_in)))
        layers["c"] = ConvNormAct(w_b, w_out, 1, act=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    def __init__(self, w_in, w_out, stride, group_width=8, se_ratio=0.25):
        super().__init__()
        self.proj = ConvNormAct(w_in, w_out, 1, stride, act=None) if w_in != w_out or stride != 1 else None
        self.f = BottleneckTransform(w_in, w_out, stride, group_width, se_ratio)
        self.activation = nn.ReLU()

    def forward(self, x):
        return self.activation((self.proj(x) if self.proj is not None else x) + self.f(x))


class RegNetY400MF(nn.Module):
    WIDTHS, DEPTHS = (48, 104, 208, 440), (1, 3, 6, 6)

    def __init__(self):
        super().__init__()
        self.stem = ConvNormAct(3, 32, 3, 2)
        stages, w_in = OrderedDict(), 32
        for i, (w, d) in enumerate(zip(self.WIDTHS, self.DEPTHS), start=1):
            blocks = OrderedDict()
            for j in range(d):
                blocks[f"block{i}-{j}"] = ResBottleneckBlock(w_in if j == 0 else w, w, 2 if j == 0 else 1)
            stages[f"block{i}"] = nn.Sequential(blocks)
            w_in = w
        self.trunk_output = nn.Sequential(stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w_in, 1000)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.trunk_output(self.stem(x))), 1))


MODELS = {"mobilenet_v3_large": MobileNetV3Large, "efficientnet_b0": EfficientNetB0,
          "shufflenet_v2_x1_0": ShuffleNetV2, "regnet_y_400mf": RegNetY400MF}


def torchvision_name(cnncalc_name: str) -> str:
    """A cnncalc weight name as torchvision spells it: RegNet's projection is `proj`, not `shortcut`."""
    return cnncalc_name.replace(".shortcut.", ".proj.")
