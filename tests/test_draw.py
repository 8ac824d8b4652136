"""cnncalc draw and report: what the pictures say, checked against numbers from outside the code
(the LeNet-5 paper, torchvision's ResNet-18 layers, derivations by hand written beside them), and
the command's behaviour on bad requests. What a browser shows is tests/test_draw_browser.py."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import cnncalc
from cnncalc import zoo
from cnncalc.cli import main
from cnncalc.render.pictures import STYLES, render_picture
from cnncalc.structure import Box, Frame, Lanes, drawing_of, walk_parts

SVG_NS = "{http://www.w3.org/2000/svg}"


def _drawing(name: str, expand: bool = False):
    net = cnncalc.load(name)
    return drawing_of(net.graph, net.analyse(), expand)


def _texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG_NS}text")]


def _box_titles(svg: str) -> list[str]:
    """The full layer name each drawn box carries (its tooltip), frames left out."""
    root = ET.fromstring(svg)
    return [g.find(f"{SVG_NS}title").text for g in root.iter(f"{SVG_NS}g")
            if "box" in g.get("class", "").split() and "frame" not in g.get("class", "").split()]


def test_resnet18_groups_match_torchvision_by_hand():
    """torchvision's resnet18: layer1 is two identical BasicBlocks, 2·(2·64·64·9 + 2·2·64) = 147,968
    params, drawn once and marked ×2; layer2's first block differs (stride 2 and a 1×1 projection):
    128·64·9 + 128·128·9 + 128·64 + 3·2·128 = 230,144, then 2·128·128·9 + 2·2·128 = 295,424."""
    parts = _drawing("resnet18").parts
    frames = {p.name: p for p in parts if isinstance(p, Frame)}
    assert list(frames) == ["layer1", "layer2", "layer3", "layer4"]
    assert frames["layer1"].passes == 2 and frames["layer1"].params == 147_968
    layer2 = frames["layer2"]
    assert layer2.passes == 1 and [p.name for p in layer2.parts] == ["layer2.0", "layer2.1"]
    assert [p.params for p in layer2.parts] == [230_144, 295_424]
    assert layer2.params == 525_568
    # The stem: conv1 with its batch norm and ReLU folded in, 64·3·7·7 + 2·64 = 9,536.
    assert isinstance(parts[0], Box) and [r.name for r in parts[0].records] == ["conv1", "bn1", "relu1"]
    assert parts[0].params == 9_536
    # Every residual block is a pair of lanes joined by add; a projection is a lane of its own.
    lanes = [p for p in walk_parts(parts) if isinstance(p, Lanes)]
    assert {lane.merge.type for lane in lanes} == {"add"}
    projections = [lane for lane in lanes if lane.lanes[1]]
    assert [lane.lane_scopes[1] for lane in projections] == [f"layer{i}.0.shortcut" for i in (2, 3, 4)]


def test_group_totals_add_up_to_the_network(subtests=None):
    """Every layer is counted once: the top-level parts' params add up to the published totals
    (torchvision: resnet18 11,689,512; googlenet 6,624,904; LeNet-5 paper 60,000)."""
    for name, total in (("resnet18", 11_689_512), ("googlenet", 6_624_904), ("lenet5-1998", 60_000)):
        for expand in (False, True):
            assert sum(p.params for p in _drawing(name, expand).parts) == total, (name, expand)


@pytest.mark.parametrize("name", zoo.names())
def test_expanded_graph_draws_every_layer_once(name):
    """--expand: one box per record, each record once (merges are the lanes' join boxes)."""
    d = _drawing(name, expand=True)
    assert sorted(_box_titles(render_picture(d, "graph"))) == sorted(r.name for r in d.analysis.layers)


@pytest.mark.parametrize("name", zoo.names())
def test_collapsed_graph_covers_every_layer(name):
    """Folded or collapsed, every record is drawn or stands in a ×n frame for identical passes,
    and each exactly once."""
    from cnncalc.structure import _record_names
    d = _drawing(name)
    assert sorted(n for p in d.parts for n in _record_names(p)) == sorted(r.name for r in d.analysis.layers)
    drawn = set(_box_titles(render_picture(d, "graph")))
    for r in d.analysis.layers:
        covered = r.name in drawn or any(isinstance(p, Frame) and r.name in p.hidden for p in walk_parts(d.parts))
        folded = any(isinstance(p, Box) and r in p.records or isinstance(p, Lanes) and r in p.followers
                     for p in walk_parts(d.parts))
        assert covered or folded, r.name


def test_lenet_maps_are_the_paper_figure():
    """LeCun et al. 1998, Fig. 2: INPUT 32×32, C1 6@28×28, S2 6@14×14, C3 16@10×10, S4 16@5×5,
    C5 120, F6 84, OUTPUT 10; a kernel window on every map a conv or subsampling reads (5)."""
    svg = render_picture(_drawing("lenet5-1998"), "maps")
    texts = _texts(svg)
    for label in ("1@32×32", "6@28×28", "6@14×14", "16@10×10", "16@5×5", "120@1×1", "84", "10"):
        assert label in texts
    assert svg.count('class="kernel"') == 5
    assert svg.count('class="proj"') == 2 * 5  # each window projected onto the next map
    assert svg.count('class="bar-d"') == 2  # F6 and OUTPUT


def test_lenet_graph_boxes_say_the_paper_counts():
    texts = _texts(render_picture(_drawing("lenet5-1998"), "graph"))
    # Paper, section II.B: C1 156 params, C3 1,516, C5 48,120, F6 10,164.
    for line in ("6×28×28 · 156 params", "16×10×10 · 1,516 params", "120×1×1 · 48,120 params",
                 "84 · 10,164 params"):
        assert line in texts
    assert "subsample 2×2 /2 + sigmoid" in texts  # S2 with the sigmoid that follows it folded in


def test_lenet_rf_marks_c5():
    """RF by hand (docs/design.md): C1 5, S2 6, C3 14, S4 16, C5 32 = the 32×32 input, layer 7."""
    svg = render_picture(_drawing("lenet5-1998"), "rf")
    assert "C5 first covers the input (layer 7)" in _texts(svg)
    assert svg.count('class="dot-rf"') == 11  # one point per layer


def test_lenet_cost_shares():
    """C5 holds 48,120 of 60,000 params (80.2%) and C3 150,000 of 326,520 MACs (45.9%)."""
    texts = _texts(render_picture(_drawing("lenet5-1998"), "cost"))
    assert "48,120 (80.2%)" in texts and "150,000 (45.9%)" in texts
    assert "12 (<0.1%)" in texts  # S2's 12 of 60,000: not rounded to a misleading 0.0%


def test_cost_rows_are_boxes_then_groups():
    """Up to 60 boxes with counts (a conv with its batch norm), one bar each: ResNet-50's 53 convs
    and fc, adding up to torchvision's 25,557,032. Past 60, one bar per top-level part."""
    d = _drawing("resnet50")
    assert not d.cost_grouped and len(d.cost) == 54
    assert d.cost[0].name == "conv1" and d.cost[0].params == 64 * 3 * 7 * 7 + 2 * 64
    assert sum(r.params for r in d.cost) == 25_557_032
    # 40 passes of two 3×3 convs (8 maps, bias): the first reads 3 maps, 8·3·9 + 8 = 224, every
    # other 8·8·9 + 8 = 584: 224 + 79·584 = 46,360; then fc on 8·32·32: 8,192·10 + 10 = 81,930.
    net = cnncalc.loads("input: [3, 32, 32]\nlayers:\n"
                        "  - repeat: {name: stage, times: 40, layers: [{conv: {filters: 8, kernel: 3, padding: 1}},"
                        " relu, {conv: {filters: 8, kernel: 3, padding: 1}}, relu]}\n"
                        "  - flatten\n  - dense: {name: fc, units: 10}\n")
    d = drawing_of(net.graph, net.analyse())
    assert d.cost_grouped
    assert [(r.name, r.params) for r in d.cost] == [("stage", 46_360), ("fc", 81_930)]


@pytest.mark.parametrize("style", STYLES)
def test_pictures_are_deterministic_well_formed_svg(style):
    a, b = (render_picture(_drawing("googlenet"), style) for _ in range(2))
    assert a == b
    ET.fromstring(a)  # well-formed XML
    assert not re.search(r'="[^"]*\d\.\d\d', a), "coordinates are rounded to 0.1 px"


@pytest.mark.parametrize("network", ["lenet5-1998", "resnet18"])
@pytest.mark.parametrize("style", STYLES)
def test_golden_svg(golden, network, style):
    """Golden files, allowed here and only here because a person looked at these renderings
    (docs/img/ and the screenshots of tests/test_draw_browser.py) before pinning them: a change
    to a picture must be looked at again (CNNCALC_UPDATE_GOLDEN=1, then view the diff and the PNGs)."""
    golden(f"draw/{network}-{style}.svg", render_picture(_drawing(network), style))


def test_draw_command_writes_svg(runner, tmp_path):
    out = tmp_path / "lenet.svg"
    r = runner.invoke(main, ["draw", "lenet5-1998", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "feature maps" in out.read_text()  # a one-path network defaults to the paper figure
    r = runner.invoke(main, ["draw", "resnet18"])
    assert r.exit_code == 0 and "layers and their outputs" in r.output  # branches: the graph, on stdout


def test_draw_lang_zh(runner):
    r = runner.invoke(main, ["draw", "lenet5-1998", "--lang", "zh"])
    assert r.exit_code == 0 and "lenet5-1998：特征图" in r.output


def test_png_without_the_extra_is_one_line(runner, tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # as if the optional extra were not installed
    out = tmp_path / "lenet.png"
    r = runner.invoke(main, ["draw", "lenet5-1998", "-o", str(out)])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "pip install 'cnncalc[png]'" in r.output
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing written, not even a temp file


def test_png_with_the_extra(runner, tmp_path):
    """The `png` extra (in the test extra too): a PNG of the SVG's own size, LeNet's 841×250 maps."""
    import struct
    out = tmp_path / "lenet.png"
    r = runner.invoke(main, ["draw", "lenet5-1998", "-o", str(out)])
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = runner.invoke(main, ["draw", "lenet5-1998"]).output
    width, height = (float(x) for x in re.search(r'width="([\d.]+)" height="([\d.]+)"', svg).groups())
    assert struct.unpack(">II", data[16:24]) == (round(width), round(height))


@pytest.mark.parametrize("args, words", [
    (["draw", "lenet5-1998", "--format", "png"], "add -o picture.png"),
    (["draw", "lenet5-1998", "-o", "no/such/folder/x.svg"], "does not exist"),
    (["draw", "lenet5-1998", "--style", "pie"], "'pie' is not one of"),
    (["report", "lenet5-1998", "--layer", "C9"], "there is no layer 'C9'"),
    (["draw", "no-such-net"], "no such file or built-in architecture"),
])
def test_bad_requests_are_one_error_line(runner, args, words):
    r = runner.invoke(main, args)
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error:") and r.output.count("\n") == 1 and words in r.output


def test_report_is_one_self_contained_page(runner, tmp_path):
    out = tmp_path / "r.html"
    r = runner.invoke(main, ["report", "resnet18", "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    a = cnncalc.load("resnet18").analyse()
    assert page.count("<svg") == 4
    assert page.count("<tr data-i=") == len(a.layers) == page.count("<details>")
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from anywhere
    assert "<script src" not in page and "@import" not in page and "url(http" not in page
    # The default derivation: the deepest layer whose field is not the whole input, the last ReLU.
    # By hand along the 3×3 path: conv1 7 (jump 2), maxpool 11 (4), layer1 four 3×3: 43; layer2
    # 43+8 = 51 (8), +16·3 = 99; layer3 99+16 = 115 (16), +32·3 = 211; layer4 211+32 = 243 (32), +64·3 = 435.
    assert "Receptive field of layer4.1.relu2: 435" in page
    assert "11,689,512" in page


def test_format_html_where_a_table_is_printed(runner):
    for command in ("params", "rf", "summary"):
        r = runner.invoke(main, [command, "lenet5-1998", "--format", "html"])
        assert r.exit_code == 0 and r.output.startswith("<!DOCTYPE html>") and r.output.count("<tr data-i=") == 11
    r = runner.invoke(main, ["rf", "rf-example", "--layer", "pool3", "--format", "html"])
    assert r.exit_code == 0 and "Receptive field of pool3: 30" in r.output  # docs/design.md's worked example


def test_notebook_reprs():
    net = cnncalc.load("lenet5-1998")
    assert net._repr_svg_().startswith("<svg") and "feature maps" in net._repr_svg_()
    html = net._repr_html_()
    assert "<svg" in html and "60,000" in html and "<script" not in html


def _segments_cross_boxes(placed, leaf_keys) -> list:
    """Edge and rail segments that pass through the inside of a leaf box (touching its border, where
    an arrow ends, is allowed)."""
    bad = []
    rects = [placed.rects[k] for k in leaf_keys]
    for line in placed.edges + placed.lines:
        for (x1, y1), (x2, y2) in zip(line, line[1:]):
            lo_x, hi_x, lo_y, hi_y = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
            for x, y, w, h in rects:
                if lo_x < x + w - 0.5 and hi_x > x + 0.5 and lo_y < y + h - 0.5 and hi_y > y + 0.5:
                    bad.append(((x1, y1), (x2, y2), (x, y, w, h)))
    return bad


@pytest.mark.parametrize("name", zoo.names())
@pytest.mark.parametrize("expand", [False, True])
def test_no_edge_runs_through_a_box(name, expand):
    """The layout's promise (render/layout.py): lanes keep their own columns and rails run in the
    free bands, so no edge or rail crosses any box, on every built-in network."""
    from cnncalc.render import layout
    from cnncalc.render.draw_graph import MARGIN, HEADER, _Builder
    b = _Builder()
    placed = layout.place(b.sequence(_drawing(name, expand).parts, ""), MARGIN, HEADER)
    assert _segments_cross_boxes(placed, b.labels) == []


def test_the_edge_check_sees_a_crossing():
    """The check above, on a layout broken on purpose: an edge drawn straight through a box."""
    from cnncalc.render import layout
    placed = layout.place(layout.Seq([layout.Leaf("a", 50, 20), layout.Leaf("b", 50, 20)]), 0, 0)
    x, y, w, h = placed.rects["a"]
    placed.edges.append([(x - 5, y + h / 2), (x + w + 5, y + h / 2)])
    assert len(_segments_cross_boxes(placed, ["a", "b"])) == 1


def test_resnet50_collapsed_passes_carry_all_their_params():
    """torchvision's resnet50 layer3: a first Bottleneck with the projection, then five identical
    ones drawn once as ×5. Each of those by hand: 1×1 1024→256 262,144 + bn 512 + 3×3 256→256
    589,824 + bn 512 + 1×1 256→1024 262,144 + bn 2,048 = 1,117,184; five: 5,585,920."""
    layer3 = next(p for p in _drawing("resnet50").parts if isinstance(p, Frame) and p.name == "layer3")
    head, rest = layer3.parts
    assert rest.passes == 5 and rest.pass_names == tuple(f"layer3.{i}" for i in range(1, 6))
    assert rest.params == 5_585_920
    assert "layer3.1–5 ×5 · 5,585,920 params" in _texts(render_picture(_drawing("resnet50"), "graph"))


def test_dense_layers_of_one_block_draw_once():
    """DenseNet's layers: one structure at one resolution, channels growing, drawn once as ×4 with
    the first's shapes (and said so). Convs by hand (3×3, 4 maps, no bias): 4·8·9 = 288, 4·12·9 =
    432, 4·16·9 = 576, 4·20·9 = 720; 2,016 together. Three such layers stay three (Inception's
    convs in a row), and ResNet's stages, which halve the map, are never merged."""
    def dense_block(n: int):
        net = cnncalc.loads("input: [8, 8, 8]\nblocks:\n  denselayer:\n    layers:\n"
                            "      - concat: {branches: [identity, [{conv: {filters: 4, kernel: 3, padding: 1, "
                            "bias: false}}]]}\nlayers:\n"
                            + "".join(f"  - denselayer: {{name: block.layer{i}}}\n" for i in range(1, n + 1)))
        return drawing_of(net.graph, net.analyse())

    d = dense_block(4)
    (block,) = d.parts
    assert (block.passes, block.params, block.exact) == (4, 2_016, False)
    assert block.pass_names == tuple(f"block.layer{i}" for i in (1, 2, 3, 4))
    assert "block.layer1–4 ×4 · 2,016 params · shapes of layer1" in _texts(render_picture(d, "graph"))
    three = dense_block(3).parts
    assert [(p.name, p.passes) for p in three] == [(f"block.layer{i}", 1) for i in (1, 2, 3)]
    assert [p.name for p in _drawing("resnet18").parts if isinstance(p, Frame)] == [f"layer{i}" for i in (1, 2, 3, 4)]


SE_DEMO = """name: se-demo
input: [64, 28, 28]
blocks:
  se:
    args: {channels: null, squeeze: null}
    layers:
      - gate:
          name: se
          layers:
            - globalavgpool: {name: avgpool}
            - conv: {name: fc1, filters: $squeeze, kernel: 1}
            - relu
            - conv: {name: fc2, filters: $channels, kernel: 1}
            - sigmoid
layers:
  - conv: {name: conv, filters: 64, kernel: 3, padding: 1}
  - se: {name: block, channels: 64, squeeze: 16}
"""


def test_a_gate_is_a_lane_beside_its_input():
    """Squeeze-and-excitation (docs/format.md's example): the input passes on in one lane, the gate
    (pool, fc1 64·16 + 16 = 1,040 params, fc2 64·16 + 64 = 1,088) runs in the other, and the two
    meet at the multiply: 2,128 params in all."""
    net = cnncalc.loads(SE_DEMO)
    d = drawing_of(net.graph, net.analyse())
    (gate,) = [p for p in walk_parts(d.parts) if isinstance(p, Lanes)]
    assert gate.merge.type == "multiply" and gate.lanes[0] == () and gate.params == 2_128
    assert [b.record.name for b in gate.lanes[1]] == ["block.se.avgpool", "block.se.fc1", "block.se.fc2"]
    texts = _texts(render_picture(d, "graph"))
    assert "1×1×1 · 1,040 params" not in texts and "16×1×1 · 1,040 params" in texts
    assert "64×1×1 · 1,088 params" in texts


def test_maps_draw_every_conv_of_vgg16():
    """VGG-16 (configuration D): 13 convs, 5 max pools and 3 dense layers; a 3×3 conv with padding 1
    keeps its map's size and is still a map of its own: 64×224×224 twice (conv1, conv2), 512×14×14
    four times (pool4, then conv11 to conv13). The ReLUs add none."""
    texts = _texts(render_picture(_drawing("vgg16"), "maps"))
    assert texts.count("64@224×224") == 2 and texts.count("512@14×14") == 4
    assert sum(t.startswith("conv 3×3") for t in texts) == 13 and sum(t.startswith("maxpool") for t in texts) == 5


def test_markup_in_names_is_text(runner):
    """A name and description with <, & and quotes stay text in the SVG and in the page."""
    source = ('name: "<b>&x\\"y"\ndescription: "</script><x>"\ninput: [1, 8, 8]\n'
              "layers:\n  - conv: {filters: 2, kernel: 3}\n")
    for style in STYLES:
        r = runner.invoke(main, ["draw", "-", "--style", style], input=source)
        assert r.exit_code == 0 and any("<b>&x\"y" in t for t in _texts(r.output))  # parsed back as text
    page = runner.invoke(main, ["report", "-"], input=source).output
    assert "</script><x>" not in page and "&lt;/script&gt;&lt;x&gt;" in page
