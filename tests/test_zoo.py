"""The built-in architectures reproduce published figures.

Every expected number comes from outside cnncalc: torchvision's model metadata (the `_metadata`
dicts in torchvision/models/*.py: "num_params" and "_ops" = GMACs, which docs/design.md explains are
multiply-accumulates of conv and dense layers without bias), the papers, PyTorch run as an oracle,
or a hand derivation written next to the number.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnncalc
from cnncalc.cli import main

ARCHITECTURES = Path(__file__).resolve().parent.parent / "architectures"


def analyse(name: str):
    return cnncalc.load(name).analyse()


# -- LeNet-5 -----------------------------------------------------------------------------------

def test_lenet5_modern_variant():
    a = analyse("lenet5")
    # The common modern LeNet-5 (conv 6@5x5, pool, conv 16@5x5, pool, 120, 84, 10):
    # 61,706 params, the figure quoted by most tutorials and reproduced by hand:
    # C1 (25·1+1)·6 = 156; C3 (25·6+1)·16 = 2,416; C5 (400+1)·120 = 48,120;
    # F6 (120+1)·84 = 10,164; OUTPUT (84+1)·10 = 850; total 61,706.
    assert a.totals.params == 61_706
    assert a.layer("C1").params == 156
    assert a.layer("C3").params == 2_416
    assert a.layer("C5").params == 48_120  # LeCun et al. 1998, C5: 48,120 trainable connections
    assert a.layer("F6").params == 10_164  # LeCun et al. 1998, F6: 10,164 trainable parameters
    assert a.layer("OUTPUT").params == 850


def test_lenet5_modern_variant_against_pytorch():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )
    expected = sum(p.numel() for p in model.parameters())  # PyTorch as the oracle
    assert analyse("lenet5").totals.params == expected
    assert tuple(model(torch.zeros(1, 1, 32, 32)).shape[1:]) == analyse("lenet5").layers[-1].output


# Values from LeCun, Bottou, Bengio, Haffner 1998, section II.B (and docs/design.md's reference table):
# (params, connections) per layer.
LENET5_1998 = {
    "C1": (156, 122_304),
    "S2": (12, 5_880),
    "C3": (1_516, 151_600),
    "S4": (32, 2_000),
    "C5": (48_120, 48_120),
    "F6": (10_164, 10_164),
    "OUTPUT": (0, 840),  # Euclidean RBF: fixed prototypes; 10 units × 84 inputs, no bias
}


@pytest.mark.parametrize("layer", list(LENET5_1998))
def test_lenet5_1998_per_layer(layer):
    record = analyse("lenet5-1998").layer(layer)
    assert (record.params, record.connections) == LENET5_1998[layer]


def test_lenet5_1998_totals():
    a = analyse("lenet5-1998")
    # LeCun et al. 1998: "340,908 connections, but only 60,000 trainable free parameters"
    assert a.totals.params == 60_000
    assert a.totals.connections == 340_908
    # The RBF prototypes are fixed: 10·84 = 840 non-trainable values.
    assert a.layer("OUTPUT").non_trainable == 840


def test_lenet5_c3_full_connectivity():
    # LeCun et al. 1998 / docs/design.md: a fully connected C3 would have (6·25 + 1)·16 = 2,416
    # params and 2,416·10·10 = 241,600 connections.
    net = cnncalc.loads(
        """
input: [6, 14, 14]
layers:
  - conv: {name: C3, filters: 16, kernel: 5}
"""
    )
    record = net.analyse().layer("C3")
    assert (record.params, record.connections) == (2_416, 241_600)


# -- ImageNet models (torchvision) -------------------------------------------------------------

def test_alexnet():
    a = analyse("alexnet")
    assert a.totals.params == 61_100_840  # torchvision AlexNet_Weights metadata: num_params
    assert a.totals.macs == 714_188_480  # torchvision metadata: _ops 0.714 GFLOPS (= GMACs)
    # RF of the last max pool (features.12): 195, Araujo et al., Distill 2019, table of RFs
    # (AlexNet: 195); by hand, top-down (docs/design.md's formula) from that pool:
    # 3 → (3−1)·1+3 = 5 → 7 → 9 (three 3x3/s1 convs) → (9−1)·2+3 = 19 (pool 3/2)
    # → (19−1)·1+5 = 23 (conv 5) → (23−1)·2+3 = 47 (pool 3/2) → (47−1)·4+11 = 195 (conv 11/4).
    assert a.layer("pool3").rf.size == (195, 195)
    # the textbook top-down walk agrees (docs/design.md: both forms must give the same size)
    assert cnncalc.load("alexnet").receptive_field("pool3").size == (195, 195)


def test_vgg16():
    a = analyse("vgg16")
    assert a.totals.params == 138_357_544  # torchvision VGG16_Weights metadata: num_params
    assert a.totals.macs == 15_470_264_320  # torchvision metadata: _ops 15.47 GFLOPS (= GMACs)
    # RF of the last max pool (pool5): 212, as in Araujo et al., Distill 2019, table of RFs
    # (VGG-16: 212); by hand: each stage of n 3x3 convs then a 2x2 pool at jump j adds 2n·j + j.
    # 2·2·1+1 + 2·2·2+2 + 2·3·4+4 + 2·3·8+8 + 2·3·16+16 = 5+10+28+56+112 = 211, plus 1 = 212.
    assert a.layer("pool5").rf.size == (212, 212)
    assert cnncalc.load("vgg16").receptive_field("pool5").size == (212, 212)


def test_resnet18():
    a = analyse("resnet18")
    assert a.totals.params == 11_689_512  # torchvision ResNet18_Weights metadata: num_params
    assert a.totals.macs == 1_814_073_344  # torchvision metadata: _ops 1.814; docs/design.md's exact value
    # torchvision's paths
    assert a.layer("layer1.0.conv1").params == 64 * 64 * 9
    assert a.layer("layer2.0.shortcut.0").params == 64 * 128  # torchvision: layer2.0.downsample.0
    assert a.layer("layer2.0.shortcut.0").output == (128, 28, 28)
    assert a.layer("fc").params == 512 * 1000 + 1000
    # RF of the last feature map, by hand (r += (k−1)·j along the 3x3 convs of the bodies):
    # stem conv 7/2: 7, j 2; maxpool 3/2: 7 + 2·2 = 11, j 4; layer1: 4 convs · 2·4 → 43;
    # layer2: 43 + 8 = 51 (strided conv at j 4), j 8, 3 convs · 16 → 99;
    # layer3: 99 + 16 = 115, j 16, 3 · 32 → 211; layer4: 211 + 32 = 243, j 32, 3 · 64 → 435.
    assert a.layer("layer4.1.relu2").rf.size == (435, 435)


def test_resnet50():
    a = analyse("resnet50")
    assert a.totals.params == 25_557_032  # torchvision ResNet50_Weights.IMAGENET1K_V1 metadata: num_params
    assert a.totals.macs == 4_089_184_256  # torchvision metadata: _ops 4.089 GFLOPS (= GMACs)
    # ResNet v1.5: the stride sits on the 3x3 conv
    assert a.layer("layer2.0.conv1").output == (128, 56, 56)
    assert a.layer("layer2.0.conv2").output == (128, 28, 28)
    # RF of the last feature map, by hand, along the 3x3 convs: stem 11 (j 4); layer1 3·8 → 35;
    # layer2 35 + 8 = 43, j 8, 3·16 → 91; layer3 91 + 16 = 107, j 16, 5·32 → 267;
    # layer4 267 + 32 = 299, j 32, 2·64 → 427. (Araujo et al.'s 483 is TF-slim's ResNet-50,
    # which strides in the last unit of a stage, not the first as torchvision does.)
    assert a.layer("layer4.2.relu3").rf.size == (427, 427)


def test_googlenet():
    a = analyse("googlenet")
    assert a.totals.params == 6_624_904  # torchvision GoogLeNet_Weights metadata: num_params (no aux heads)
    assert round(a.totals.macs / 1e9, 3) == 1.498  # torchvision metadata: _ops 1.498 GFLOPS (= GMACs)
    # Szegedy et al. 2015, Table 1: output sizes of the inception stages
    assert a.layer("inception3b.concat").output == (480, 28, 28)
    assert a.layer("inception4e.concat").output == (832, 14, 14)
    assert a.layer("inception5b.concat").output == (1024, 7, 7)


# -- Network in Network (CIFAR-10) ---------------------------------------------------------------

def test_nin():
    a = analyse("nin")
    # By hand, (k·k·C_in + 1)·C_out per conv (Lin et al. 2014, the authors' Caffe CIFAR-10 model):
    #   mlpconv1: conv 5x5 3→192      (75+1)·192   =  14,592
    #             cccp1 1x1 192→160   (192+1)·160  =  30,880
    #             cccp2 1x1 160→96    (160+1)·96   =  15,456
    #   mlpconv2: conv 5x5 96→192     (2400+1)·192 = 460,992
    #             cccp3 1x1 192→192   (192+1)·192  =  37,056
    #             cccp4 1x1 192→192                =  37,056
    #   mlpconv3: conv 3x3 192→192    (1728+1)·192 = 331,968
    #             cccp5 1x1 192→192                =  37,056
    #             cccp6 1x1 192→10    (192+1)·10   =   1,930
    #   total                                        966,986
    assert a.totals.params == 966_986
    # MACs by hand: feature maps 32x32, 16x16 (after 3/2 ceil pool), 8x8:
    #   1024·(75·192 + 192·160 + 160·96) = 1024·60,480 = 61,931,520
    #   256·(2400·192 + 192·192·2)   = 256·534,528 = 136,839,168
    #   64·(1728·192 + 192·192 + 192·10) = 64·370,560 = 23,715,840
    #   total 222,486,528
    assert a.totals.macs == 222_486_528
    assert a.layer("mlpconv3.cccp2").output == (10, 8, 8)


def test_nin_against_pytorch():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def mlpconv(c_in, c, k, p, m1, m2):
        return [nn.Conv2d(c_in, c, k, padding=p), nn.ReLU(), nn.Conv2d(c, m1, 1), nn.ReLU(),
                nn.Conv2d(m1, m2, 1), nn.ReLU()]

    model = nn.Sequential(
        *mlpconv(3, 192, 5, 2, 160, 96), nn.MaxPool2d(3, 2, ceil_mode=True), nn.Dropout(),
        *mlpconv(96, 192, 5, 2, 192, 192), nn.AvgPool2d(3, 2, ceil_mode=True), nn.Dropout(),
        *mlpconv(192, 192, 3, 1, 192, 10), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )
    a = analyse("nin")
    assert a.totals.params == sum(p.numel() for p in model.parameters())
    assert tuple(model(torch.zeros(1, 3, 32, 32)).shape[1:]) == a.layers[-1].output


# -- the complete examples in docs/format.md load ---------------------------------------------------

def _doc_examples():
    text = (ARCHITECTURES.parent / "docs" / "format.md").read_text(encoding="utf-8")
    blocks = text.split("```yaml\n")[1:]
    return [b.split("```")[0] for b in blocks if "\ninput:" in "\n" + b.split("```")[0]]


def test_format_doc_examples_load():
    examples = _doc_examples()
    assert len(examples) >= 2
    for example in examples:
        cnncalc.loads(example, "docs/format.md").analyse()


def test_format_doc_resnet_example():
    demo = next(e for e in _doc_examples() if "resnet-stage-demo" in e)
    a = cnncalc.loads(demo).analyse()
    # 1x1 conv, stride 2, 64 -> 128 maps, no bias: 64·128 = 8,192 (as the doc says)
    assert a.layer("layer2.0.shortcut.0").params == 8_192
    assert a.layer("layer2.0.shortcut.0").output == (128, 28, 28)
    assert a.layer("layer1.0.add1").output == (64, 56, 56)


# -- the CLI lists them all ------------------------------------------------------------------------

def test_list_shows_every_architecture(runner):
    result = runner.invoke(main, ["list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = {row["name"] for row in json.loads(result.output)}
    on_disk = {p.stem for p in ARCHITECTURES.glob("*.yaml")}
    assert on_disk <= listed
    assert {"lenet5", "lenet5-1998", "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "nin"} <= on_disk


# The built-ins when the family table and README's zoo table were written: each has its family and
# its README row (a built-in added later and not yet in them is listed under "other", not an error).
KNOWN = {"lenet5", "lenet5-1998", "alexnet", "nin", "vgg16", "googlenet", "inception_v3", "inception_v3_aux",
         "resnet18", "resnet50", "resnext50_32x4d", "densenet121", "squeezenet1_1", "mobilenet_v3_large",
         "efficientnet_b0", "shufflenet_v2_x1_0", "regnet_y_400mf", "feature-map-example", "rf-example",
         "mobilenet_v2", "convnext_tiny"}


def test_every_architecture_has_one_family():
    # cnncalc.zoo.FAMILIES is the table `cnncalc list` groups by: each name in a row is a built-in,
    # in one row only. A built-in no row names is listed under "other" (its name missing from the
    # table is a one-line fix, not a broken command); none of these is.
    from cnncalc import zoo
    rows = [n for _, members in zoo.FAMILIES for n in members]
    assert len(rows) == len(set(rows)) and set(rows) <= set(zoo.names())
    others = {n for f, n in zoo.grouped() if f == zoo.OTHER}
    assert others == set(zoo.names()) - set(rows)
    assert not others & KNOWN


def test_list_groups_by_family(runner):
    from cnncalc import zoo
    listed = json.loads(runner.invoke(main, ["list", "--format", "json"]).output)
    families = [row["family"] for row in listed]
    # each family once, in one run of rows, in FAMILIES' order
    runs = [f for i, f in enumerate(families) if i == 0 or families[i - 1] != f]
    present = set(zoo.names())
    shown = [f for f, members in zoo.FAMILIES if present & set(members)]
    assert runs == shown + ([zoo.OTHER] if zoo.OTHER in families else [])
    assert {row["name"]: row["family"] for row in listed}["resnext50_32x4d"] == "ResNet/ResNeXt"
    table = runner.invoke(main, ["list"]).output
    positions = [table.index(f"  {f}  ") for f in runs]
    assert positions == sorted(positions)
    assert table.index("  ResNet/ResNeXt ") < table.index("resnet18") < table.index("  DenseNet ")


def test_list_table_names_every_architecture(runner):
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    for path in ARCHITECTURES.glob("*.yaml"):
        assert path.stem in result.output


@pytest.mark.parametrize("name", sorted(p.stem for p in ARCHITECTURES.glob("*.yaml")))
def test_params_command_runs_on_every_architecture(runner, name):
    result = runner.invoke(main, ["params", name, "--format", "json"])
    assert result.exit_code == 0, result.output


def test_rf_command_top_down_alexnet(runner):
    result = runner.invoke(main, ["rf", "alexnet", "--layer", "pool3"])
    assert result.exit_code == 0, result.output
    assert "195" in result.output  # Araujo et al., Distill 2019: AlexNet RF 195


def test_googlenet_against_pytorch():
    # torchvision's GoogLeNet rewritten (torchvision itself is not installed), aux heads off.
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def basic(c_in, c_out, **kw):
        return nn.Sequential(nn.Conv2d(c_in, c_out, bias=False, **kw), nn.BatchNorm2d(c_out, eps=0.001), nn.ReLU())

    class Inception(nn.Module):
        def __init__(self, c_in, ch1, ch3r, ch3, ch5r, ch5, pool):
            super().__init__()
            self.b1 = basic(c_in, ch1, kernel_size=1)
            self.b2 = nn.Sequential(basic(c_in, ch3r, kernel_size=1), basic(ch3r, ch3, kernel_size=3, padding=1))
            self.b3 = nn.Sequential(basic(c_in, ch5r, kernel_size=1), basic(ch5r, ch5, kernel_size=3, padding=1))
            self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), basic(c_in, pool, kernel_size=1))

        def forward(self, x):
            return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)

    model = nn.Sequential(
        basic(3, 64, kernel_size=7, stride=2, padding=3), nn.MaxPool2d(3, 2, ceil_mode=True),
        basic(64, 64, kernel_size=1), basic(64, 192, kernel_size=3, padding=1), nn.MaxPool2d(3, 2, ceil_mode=True),
        Inception(192, 64, 96, 128, 16, 32, 32), Inception(256, 128, 128, 192, 32, 96, 64),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Inception(480, 192, 96, 208, 16, 48, 64), Inception(512, 160, 112, 224, 24, 64, 64),
        Inception(512, 128, 128, 256, 24, 64, 64), Inception(512, 112, 144, 288, 32, 64, 64),
        Inception(528, 256, 160, 320, 32, 128, 128), nn.MaxPool2d(2, 2, ceil_mode=True),
        Inception(832, 256, 160, 320, 32, 128, 128), Inception(832, 384, 192, 384, 48, 128, 128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1024, 1000),
    )
    params = sum(p.numel() for p in model.parameters())
    assert params == 6_624_904  # the oracle itself matches torchvision's published num_params
    from torch_reference import hooked_macs
    macs, out_shape = hooked_macs(model, (3, 224, 224))
    a = analyse("googlenet")
    assert a.totals.params == params
    assert a.totals.macs == macs
    assert a.layers[-1].output == out_shape


def test_resnet18_against_pytorch():
    # torchvision's ResNet-18 rewritten as the oracle (BasicBlock, downsample = 1x1 conv + BN).
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Basic(nn.Module):
        def __init__(self, c_in, planes, stride):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(c_in, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
                nn.Conv2d(planes, planes, 3, 1, 1, bias=False), nn.BatchNorm2d(planes))
            self.down = (nn.Sequential(nn.Conv2d(c_in, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
                         if stride != 1 or c_in != planes else nn.Identity())

        def forward(self, x):
            return torch.relu(self.body(x) + self.down(x))

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    c_in = 64
    for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Basic(c_in, planes, stride), Basic(planes, planes, 1)]
        c_in = planes
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    model = nn.Sequential(*layers)
    from torch_reference import hooked_macs
    macs, out_shape = hooked_macs(model, (3, 224, 224))
    a = analyse("resnet18")
    assert a.totals.params == sum(p.numel() for p in model.parameters())
    assert a.totals.macs == macs
    assert a.layers[-1].output == out_shape


def test_readme_zoo_table_matches_the_built_ins():
    # README.md's zoo table (name | family | input | params | MACs | source) lists every built-in
    # with the numbers the analysis gives; the sources column says where each comes from, and
    # tests/test_zoo*.py assert those published figures.
    from cnncalc import zoo
    text = (ARCHITECTURES.parent / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in zoo.names():
            rows[cells[0]] = cells[1:5]
    assert KNOWN <= set(rows)  # a newer built-in gets its row when its numbers' source is written down
    families = dict((n, f) for f, n in zoo.grouped())
    for name, (family, shape, params, macs) in rows.items():
        a = analyse(name)
        assert (family, shape) == (families[name], "×".join(map(str, a.input))), name
        assert (int(params.replace(",", "")), int(macs.replace(",", ""))) == (a.totals.params, a.totals.macs), name
