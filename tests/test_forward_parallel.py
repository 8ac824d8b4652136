"""The forward pass's batch shards (cnncalc.threads) and fused layers (cnncalc.fusion): each against
the PyTorch oracle (tests/torch_reference.py, every layer through torch.nn.functional, nothing fused)
and against cnncalc's own unsharded, unfused run, which the oracle tests check layer by layer."""
from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from hypothesis import given, strategies as st
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import main
from cnncalc.forward import run_forward
from cnncalc.fusion import plan
from cnncalc.kernels import conv as conv_mod
from cnncalc.kernels import winograd
from cnncalc.kernels.conv import Epilogue
from cnncalc import threads

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")

from forward_runs import every_way  # noqa: E402
from torch_reference import TorchNet  # noqa: E402  (after the importorskip above)

# Every conv path of kernels.conv (1×1, flat, strided windows, side by side, Winograd F(2×2) and
# F(4×4) where `auto` picks them at 32+ channels), each followed by a batch norm and a pointwise
# activation, or by one of them alone; a residual whose body ends in a fused conv.
NET = """
input: [3, 20, 20]
layers:
  - conv: {filters: 32, kernel: 3, padding: 1, bias: false}
  - batchnorm
  - relu
  - conv: {filters: 32, kernel: 3, padding: 1}
  - silu
  - conv: {filters: 40, kernel: 3, stride: 2, padding: 1}
  - batchnorm
  - residual:
      body:
        - conv: {filters: 40, kernel: 3, padding: 1, bias: false}
        - batchnorm
        - hardswish
        - conv: {filters: 40, kernel: 1}
        - batchnorm
  - relu6
  - conv: {filters: 8, kernel: 3, stride: 2}
  - gelu
  - conv: {filters: 8, kernel: 1}
  - batchnorm
  - leaky_relu
"""


@pytest.fixture(autouse=True)
def shard_small_networks(monkeypatch):
    """These networks are far below the billion MACs a shard needs (cnncalc.threads): shard anyway."""
    monkeypatch.setattr(threads, "SHARD_MIN_MACS", 1)


def oracle(net, weights, x):
    model = TorchNet(net.graph, weights).eval()
    with torch.inference_mode():
        return model(torch.from_numpy(x)).numpy()


def test_fusion_plan_pairs_each_conv_with_what_follows_it():
    net = cnncalc.loads(NET)
    fused = {f.host.name: [layer.name for layer in f.followers] for f in plan(net.graph.nodes).values()}
    # Written out from NET: a conv takes the batch norm right after it, then a pointwise activation;
    # the residual's add takes the activation after it.
    assert fused == {
        "conv1": ["bn1", "relu1"], "conv2": ["silu1"], "conv3": ["bn2"], "conv4": ["bn3", "hardswish1"],
        "conv5": ["bn4"], "add1": ["relu6_1"], "conv6": ["gelu1"], "conv7": ["bn5", "leaky_relu1"],
    }


@pytest.mark.parametrize("path", ["auto", "im2col", "winograd", "winograd4"])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-5)])
def test_fused_and_sharded_equal_pytorch(path, dtype, tol):
    net = cnncalc.loads(NET)
    x = np.random.default_rng(7).standard_normal((5, 3, 20, 20))
    runs = every_way(net.graph, x, dtype, path, seed=3)
    ref = oracle(net, runs[1, False].weights, x.astype(dtype))
    scale = np.max(np.abs(ref))
    for (count, fuse), result in runs.items():
        assert result.ok
        assert np.max(np.abs(result.output - ref)) <= tol * scale, (count, fuse)
        assert sum(bool(r.ran_inside) for r in result.records) == (11 if fuse else 0)


def test_shards_draw_the_same_weights_as_one_walk():
    net = cnncalc.loads(NET)
    one = run_forward(net.graph, batch=4, threads=1, seed=11)
    three = run_forward(net.graph, batch=4, threads=3, seed=11)
    assert list(one.weights) == list(three.weights)
    for name, a in one.weights.items():
        np.testing.assert_array_equal(a, three.weights[name])
    np.testing.assert_allclose(three.output, one.output, rtol=0, atol=1e-5 * np.max(np.abs(one.output)))


def test_fused_records_name_their_conv_and_keep_their_checks():
    result = run_forward(cnncalc.loads(NET).graph, batch=2)
    by_name = {r.name: r for r in result.records}
    assert by_name["bn1"].ran_inside == "conv1" and by_name["relu1"].ran_inside == "conv1"
    assert by_name["bn1"].seconds == 0.0 and by_name["bn1"].params == 2 * 32  # γ and β of 32 channels
    assert by_name["relu6_1"].ran_inside == "add1" and by_name["conv1"].ran_inside == ""
    assert result.ok


def test_cli_says_which_layers_ran_inside_a_conv():
    runner = CliRunner()
    res = runner.invoke(main, ["forward", "resnet18", "--input", "3,32,32", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    rows = {row["name"]: row for row in doc["layers"]}
    assert rows["layer1.0.bn1"]["ran_inside"] == "layer1.0.conv1" and rows["layer1.0.bn1"]["ms"] == 0
    # ResNet-18: 20 convs each with a batch norm, 9 of them (the stem and each block's first) with a
    # ReLU; the 8 blocks' adds each with the ReLU after it.
    assert rows["layer1.0.relu2"]["ran_inside"] == "layer1.0.add1"
    assert any(n.startswith("37 layers (batch norm, activation) ran inside") for n in doc["notes"])
    res = runner.invoke(main, ["forward", "resnet18", "--input", "3,32,32", "--format", "json", "--no-fuse",
                               "--threads", "1"])
    doc = json.loads(res.output)
    assert res.exit_code == 0 and not any(row["ran_inside"] for row in doc["layers"])
    assert not any("ran inside" in n for n in doc["notes"])


def test_overflow_in_one_shard_counts_over_the_whole_batch():
    net = cnncalc.loads("input: [1, 2, 2]\nlayers:\n  - conv: {filters: 1, kernel: 1, bias: false, "
                        "weights: [[[[2.0]]]]}\n  - relu\n")
    x = np.ones((4, 1, 2, 2), dtype=np.float32)
    x[3, 0, 0, 0] = 3e38  # sample 3 only: the last of two shards; 2 × 3e38 overflows float32
    result = run_forward(net.graph, x, threads=2)
    assert "1 of 16 values overflowed to inf or NaN in layer conv1 (beyond float32's range" in result.notes[0]


def test_batch_norm_that_overflows_inside_its_conv_is_named():
    net = cnncalc.loads("input: [1, 1, 1]\nlayers:\n  - conv: {filters: 1, kernel: 1, bias: false}\n  - batchnorm\n")
    weights = {"conv1.weight": np.ones((1, 1, 1, 1)), "bn1.weight": np.array([1e30]), "bn1.bias": np.zeros(1),
               "bn1.running_mean": np.zeros(1), "bn1.running_var": np.ones(1)}
    result = run_forward(net.graph, np.full((1, 1, 1, 1), 1e10, dtype=np.float32), weights)  # 1e40 > 3.4e38
    assert "overflowed to inf or NaN in layer conv1 or bn1 (run inside it)" in result.notes[0]


def test_epilogue_folds_the_bias_before_the_batch_norm():
    # (x + b)·s + t with x = 1, b = 2, s = 3, t = 4: 13; then ReLU6 clips it to 6.
    ep = Epilogue(np.array([3.0]), np.array([4.0]), lambda a: np.clip(a, 0, 6, out=a)).with_bias(np.array([2.0]))
    block = np.ones((1, 1, 2))
    ep.apply(block, 1)
    np.testing.assert_array_equal(block, [[[6.0, 6.0]]])
    bare = Epilogue().with_bias(np.array([2.0, -1.0]))
    block = np.zeros((2, 3))
    bare.apply(block, 0)
    np.testing.assert_array_equal(block, [[2.0] * 3, [-1.0] * 3])


def test_weights_cnncalc_makes_are_read_only_and_skip_the_crc(monkeypatch):
    net = cnncalc.loads("input: [4, 6, 6]\nlayers:\n  - conv: {filters: 32, kernel: 3}\n")
    weights = run_forward(net.graph).weights
    assert not any(a.flags.writeable for a in weights.values())
    w = weights["conv1.weight"]
    monkeypatch.setattr(zlib, "crc32", lambda *a: pytest.fail("read-only weights need no CRC"))
    first = winograd.weight_transform(w, 2, np.dtype(np.float32))
    assert winograd.weight_transform(w.reshape(w.shape), 2, np.dtype(np.float32)) is first


def test_every_layer_kind_that_says_pointwise_is_one():
    """A kind marked pointwise runs on blocks of any layout inside a conv's kernel: it must be the
    same function of each value wherever the value sits (checked against its own run on NCHW)."""
    from cnncalc.layers import KINDS
    x = np.random.default_rng(5).standard_normal((2, 3, 4, 5)) * 4
    pointwise = [cls for cls in KINDS.values() if cls.pointwise]
    assert len(pointwise) == 12  # relu … elu: docs/forward.md § Fusion lists them
    for cls in pointwise:
        layer = cls.from_options("a", {})
        whole = layer.forward(x.copy(), {})
        moved = np.ascontiguousarray(x.transpose(3, 1, 0, 2))  # another layout, as a Winograd block
        layer.forward(moved, {}, in_place=True)
        np.testing.assert_allclose(moved.transpose(2, 1, 3, 0), whole, rtol=1e-14, atol=1e-14)


def test_a_second_run_reuses_the_analysis_and_a_new_batch_does_not():
    net = cnncalc.loads(NET)
    first = run_forward(net.graph, batch=2)
    again = run_forward(net.graph, batch=2)
    other = run_forward(net.graph, batch=3)
    assert again.analysis is first.analysis
    assert other.analysis is not first.analysis and other.analysis.batch == 3
    # A graph loaded anew is analysed anew, even where the old one's memory is reused.
    assert run_forward(cnncalc.loads(NET).graph, batch=2).analysis is not first.analysis


def test_a_run_again_with_the_same_read_only_weights_skips_their_walk(monkeypatch):
    """The weights cnncalc made (read-only) passed back: the second run reuses the first run's
    arrays without walking the network again; a changed array or a writable one is walked again,
    and a float64 array changed in place between two float32 runs is seen by the second."""
    from cnncalc import forward
    net = cnncalc.loads(NET)
    weights = run_forward(net.graph, batch=1, seed=4).weights
    x = np.random.default_rng(6).standard_normal((2, 3, 20, 20))
    first = run_forward(net.graph, x, weights)
    walks = []
    real = forward.walk
    monkeypatch.setattr(forward, "walk", lambda nodes, start, visitor: walks.append(type(visitor).__name__)
                        or real(nodes, start, visitor))
    again = run_forward(net.graph, x, weights)
    assert "_WeightMaker" not in walks
    np.testing.assert_array_equal(again.output, first.output)
    assert again.weights == first.weights and again.weights is not first.weights

    other = dict(weights)
    other["conv2.bias"] = np.asarray(weights["conv2.bias"] + 1.0)
    other["conv2.bias"].flags.writeable = False
    changed = run_forward(net.graph, x, other)
    assert walks.count("_WeightMaker") == 1 and not np.array_equal(changed.output, first.output)

    mine = dict(weights)
    mine["conv2.bias"] = weights["conv2.bias"].astype(np.float64)  # writable, copied to float32 per run
    before = run_forward(net.graph, x, mine).output
    mine["conv2.bias"] += 1.0
    after = run_forward(net.graph, x, mine).output
    assert walks.count("_WeightMaker") == 3
    np.testing.assert_allclose(after, changed.output, rtol=1e-6, atol=1e-6)
    assert not np.allclose(after, before)


def test_kept_geometry_is_the_layers_own_output_rule():
    net = cnncalc.loads(NET)
    conv = next(iter(plan(net.graph.nodes).values())).host
    assert conv.geometry((3, 20, 20)) == conv.output((3, 20, 20))
    assert conv.geometry((3, 9, 7)).shape == conv.output((3, 9, 7)).shape == (32, 9, 7)  # 3×3, padding 1


@pytest.mark.parametrize("path", ["im2col", "winograd", "winograd4"])
def test_overflow_inside_a_conv_kernel_or_a_fused_add_is_found(path):
    """The overflow check runs on each block inside the kernel (kernels.conv.FiniteWatch): one value
    of 3e38 in sample 1 only, times a 3×3 kernel of 2s, overflows float32 in those outputs alone."""
    net = cnncalc.loads("input: [32, 8, 8]\nlayers:\n  - conv: {filters: 32, kernel: 3, padding: 1, bias: false}\n"
                        "  - relu\n")
    x = np.zeros((3, 32, 8, 8), dtype=np.float32)
    x[1, 0, 4, 4] = 3e38
    weights = {"conv1.weight": np.full((32, 32, 3, 3), 2.0, dtype=np.float32)}
    before = conv_mod.set_conv_path(path)
    try:
        result = run_forward(net.graph, x, weights, threads=1)
    finally:
        conv_mod.set_conv_path(before)
    # Outputs (1, k, 3…5, 3…5) read the value: 32 filters × 9 positions = 288 of 3·32·8·8 = 6,144.
    # (Winograd's transforms may spread inf − inf = NaN further within the tiles it touches.)
    note = result.notes[0]
    assert note.endswith("in layer conv1 (beyond float32's range, or inf − inf after it); the layers after it "
                         "carry them on")
    count = int(note.split(" of ")[0].replace(",", ""))
    assert (count == 288 if path == "im2col" else 288 <= count <= 3 * 32 * 64) and " of 6,144 " in note
    add = cnncalc.loads("input: [2, 1, 1]\nlayers:\n  - residual:\n      body: [{conv: {filters: 2, kernel: 1, "
                        "bias: false}}]\n  - relu\n")
    out = run_forward(add.graph, np.full((1, 2, 1, 1), 3e38, dtype=np.float32),
                      {"conv1.weight": np.eye(2, dtype=np.float32).reshape(2, 2, 1, 1)})
    assert out.records[-1].ran_inside == "add1"  # 3e38 + 3e38 overflows in the add, not the conv
    assert out.notes[0].startswith("2 of 2 values overflowed to inf or NaN in layer add1")


def test_shard_count_rule():
    # One shard per thread, at most one per sample, each of at least SHARD_MIN_MACS (set to 1 above).
    assert threads.shard_count(8, 10**10, 2) == 2 and threads.shard_count(1, 10**10, 2) == 1
    assert threads.shard_count(3, 10**10, 4) == 3 and threads.shard_count(5, 3, 8) == 3
    assert threads.shard_bounds(5, 3) == [(0, 1), (1, 3), (3, 5)]


def test_shard_count_rule_for_depthwise_networks_and_big_layers(monkeypatch):
    monkeypatch.setattr(threads, "SHARD_MIN_MACS", 10**9)
    # 1.85 G MACs spread over a network, batch 2: 0.925 G a shard, under the billion → one shard
    assert threads.shard_count(2, 1_850_000_000, 2) == 1
    # with depthwise convs a quarter billion a shard will do: two; 0.4 G (0.2 G a shard) stays one
    assert threads.shard_count(2, 1_850_000_000, 2, depthwise=True) == 2
    assert threads.shard_count(2, 400_000_000, 2, depthwise=True) == 1
    # all of it in one layer of 0.94 G (ResNet's stem at batch 8): 0.47 G a shard ≥ 0.4 G → two;
    # a layer of 0.7 G (0.35 G a shard) → one; never more shards than samples or threads
    assert threads.shard_count(8, 940_000_000, 2, largest=940_000_000) == 2
    assert threads.shard_count(8, 700_000_000, 2, largest=700_000_000) == 1
    assert threads.shard_count(1, 10**10, 2, largest=10**10, depthwise=True) == 1


@given(batch=st.integers(1, 64), macs=st.integers(0, 10**12), threads_=st.integers(1, 16),
       share=st.floats(0, 1), depthwise=st.booleans())
def test_shard_count_stays_within_samples_and_threads_and_grows_with_work(batch, macs, threads_, share, depthwise):
    largest = int(macs * share)
    n = threads.shard_count(batch, macs, threads_, largest, depthwise)
    assert 1 <= n <= min(batch, threads_)
    assert threads.shard_count(batch, macs * 2, threads_, largest * 2, depthwise) >= n
    without = threads.shard_count(batch, macs, threads_, largest)
    assert threads.shard_count(batch, macs, threads_, largest, True) >= without


def test_networks_with_depthwise_convs_shard_sooner(monkeypatch):
    from cnncalc.forward import network_shards
    monkeypatch.setattr(threads, "SHARD_MIN_MACS", 10**9)
    # MobileNetV2, 0.30 G MACs a sample (torchvision's published 0.30 GFLOPS, counted as MACs), batch
    # 2: 0.30 G a shard, over the quarter billion its depthwise convs ask for → two shards
    mobilenet = cnncalc.load("mobilenet_v2", (3, 224, 224)).analyse(batch=2)
    assert network_shards(mobilenet, 2, 2) == 2
    # ResNet-18 at 160×160, batch 2: 1.82 G × (160/224)² × 2 = 1.85 G, 0.93 G a shard; no depthwise
    # convs, and its largest layer (the stem, 0.118 G × (160/224)² = 0.06 G a sample) is small → one
    resnet = cnncalc.load("resnet18", (3, 160, 160)).analyse(batch=2)
    assert network_shards(resnet, 2, 2) == 1


def test_a_big_conv_shards_and_a_big_dense_layer_does_not(monkeypatch):
    from cnncalc.forward import network_shards
    monkeypatch.setattr(threads, "SHARD_MIN_MACS", 10**9)
    # one conv, 128→256, 3×3 stride 2 on 28×28 (14×14 out): 256·128·9·196 = 57,802,752 MACs a sample;
    # batch 16: 0.92 G, 0.46 G a shard ≥ 0.4 G → two shards (the bench's conv3x3s2-28 at half its batch)
    conv = cnncalc.loads("input: [128, 28, 28]\nlayers:\n  - conv: {filters: 256, kernel: 3, stride: 2, padding: 1}\n")
    assert network_shards(conv.analyse(batch=16), 16, 2) == 2
    # one dense layer, 4096 → 4096: 16,777,216 MACs a sample; batch 64: 1.07 G, but a dense layer's
    # copies are none and each shard would read its 64 MB of weights: one shard, BLAS on both cores
    dense = cnncalc.loads("input: [4096, 1, 1]\nlayers:\n  - flatten\n  - dense: 4096\n")
    assert network_shards(dense.analyse(batch=64), 64, 2) == 1


def test_small_networks_run_in_one_shard(monkeypatch):
    monkeypatch.setattr(threads, "SHARD_MIN_MACS", 10**9)
    import cnncalc.forward as forward
    seen = []
    real = forward.run_shards
    monkeypatch.setattr(forward, "run_shards", lambda fn, count: seen.append(count) or real(fn, count))
    run_forward(cnncalc.loads(NET).graph, batch=4, threads=2)  # about 3 M MACs a sample
    assert seen == [1]


def test_batch_norm_scale_folded_into_the_weights_once():
    from cnncalc.kernels import prepared
    w = np.arange(2 * 3 * 1 * 1, dtype=np.float32).reshape(2, 3, 1, 1)  # [[0, 1, 2], [3, 4, 5]]
    w.flags.writeable = False
    s = np.array([2.0, -1.0], dtype=np.float32)
    got = prepared.scaled(w, s, np.float32)
    # by hand: output channel 0 times 2, channel 1 times −1
    np.testing.assert_array_equal(got.reshape(2, 3), [[0, 2, 4], [-3, -4, -5]])
    assert prepared.scaled(w, s.copy(), np.float32) is got  # the same scale's bytes: kept
    assert prepared.scaled(w, s * 2, np.float32) is not got and not got.flags.writeable


def test_the_estimate_counts_the_weights_the_kernels_prepare(monkeypatch):
    """Derived by hand: weights prepared for the kernels and kept (kernels.prepared), at batch 8
    unsharded with BLAS on one thread (the auto rule: F(4×4) needs 48 tiles a block, F(2×2) 64)."""
    from cnncalc.forward import estimate_peak
    monkeypatch.setattr(threads, "SHARD_MIN_MACS", 10**12)  # one shard
    monkeypatch.setattr(threads, "available", lambda: 1)
    net = cnncalc.loads("""
input: [64, 8, 8]
layers:
  - conv: {filters: 64, kernel: 3, padding: 1, bias: false}
  - batchnorm
  - relu
  - conv: {filters: 32, kernel: 1}
  - conv: {filters: 16, kernel: 3, stride: 2, padding: 1}
  - conv: {filters: 16, kernel: 3, padding: 1, groups: 4, bias: false}
  - batchnorm
  - conv: {filters: 16, kernel: 3, stride: 2, bias: false}
""")
    peak = estimate_peak(net.graph, net.analyse(batch=8), 8, 4, threads=1)
    # conv1, 64→64 3×3 at 8×8: F(4×4) has 8 samples × 2² tiles = 32 < 48, F(2×2) 8 × 4² = 128 ≥ 64,
    # so U, 4²·64·64·4 = 262,144 B, the batch norm's scale folded inside it. conv2 (1×1, bias): the
    # 1×1 path, its input the column matrix, so no row of ones and the bias added after: nothing.
    # conv3 (3×3/2, bias): im2col side by side, its bias one more column of the weights,
    # 16·(32·9 + 1)·4 = 18,496 B.
    # conv4 (groups 4, batch norm fused): no shift column with groups, so the weights with the scale
    # folded in, 16·4·9·4 = 2,304 B. conv5 (no bias, no batch norm): nothing.
    assert peak.prepared == 262_144 + 18_496 + 2_304
    unfused = estimate_peak(net.graph, net.analyse(batch=8), 8, 4, threads=1, fuse=False)
    assert unfused.prepared == 262_144 + 18_496  # --no-fuse: the batch norms run on their own
    assert peak.total - unfused.total == 2_304
    # What a run keeps is what the estimate said.
    from cnncalc.kernels import prepared
    weights = run_forward(net.graph, batch=1).weights
    prepared._cache.clear()
    run_forward(net.graph, np.ones((8, 64, 8, 8), dtype=np.float32), weights)
    assert sum(v[2].nbytes for v in prepared._cache.values()) == peak.prepared


def test_shards_that_miss_together_prepare_a_weight_once():
    """Two shards of a first run ask for the same folded weights at once: one computes, the other
    waits and takes its result (else a second copy would sit in the cache under a key no run
    finds again); an entry whose weights are gone leaves the cache at the next preparation."""
    import gc
    import threading as _threading
    import time as _time
    from cnncalc.kernels import prepared
    w = np.ones((8, 4, 3, 3), dtype=np.float32)
    w.flags.writeable = False
    made = []
    start = _threading.Barrier(2)

    def compute():
        made.append(1)
        _time.sleep(0.05)  # the other thread asks meanwhile
        return w * 2

    def ask(_):
        start.wait()
        return prepared.prepared(w, ("test-once",), compute)

    first, second = threads.run_shards(ask, 2)
    assert len(made) == 1 and first is second
    gone = np.ones(4, dtype=np.float32)
    gone.flags.writeable = False
    prepared.prepared(gone, ("test-gone",), lambda: np.zeros(4, dtype=np.float32))
    del gone
    gc.collect()
    prepared.prepared(w, ("test-after",), lambda: w + 1)
    assert not any(k[-1] == ("test-gone",) for k in prepared._cache)


def test_a_transform_made_with_a_scale_is_kept_per_scale():
    """Winograd's U and im2col's shift-column matrix fold the scale inside their own entry: another
    scale (a batch norm whose statistics changed) makes another entry, equal to the unscaled
    path run on weights folded by hand."""
    from cnncalc.kernels import prepared
    rng = np.random.default_rng(12)
    w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    w.flags.writeable = False
    s1, s2 = rng.random(8).astype(np.float32) + 0.5, rng.random(8).astype(np.float32) + 0.5
    shift = rng.standard_normal(8).astype(np.float32)
    for s in (s1, s2):
        by_hand = np.ascontiguousarray(w * s[:, None, None, None])
        np.testing.assert_array_equal(winograd.weight_transform(w, 2, np.dtype(np.float32), s),
                                      winograd.weight_transform(by_hand, 2, np.dtype(np.float32)))
        np.testing.assert_array_equal(prepared.with_shift_column(w, shift, np.float32, s),
                                      prepared.with_shift_column(by_hand, shift, np.float32))
    assert winograd.weight_transform(w, 2, np.dtype(np.float32), s1) is not \
        winograd.weight_transform(w, 2, np.dtype(np.float32), s2)


def test_folding_in_the_weights_dtype_gives_the_float64_routes_bits():
    """float32 × float32 in float32 is the exact product rounded once, as the float64 product
    (exact: 24 + 24 bits < 53) rounded to float32: bit for bit, subnormal and overflowing results too."""
    from cnncalc.kernels import prepared
    rng = np.random.default_rng(11)
    w = (rng.standard_normal((64, 8, 3, 3)) * 10.0 ** rng.integers(-30, 30, (64, 8, 3, 3))).astype(np.float32)
    s = (rng.standard_normal(64) * 10.0 ** rng.integers(-20, 20, 64)).astype(np.float32)
    w.flags.writeable = False
    with np.errstate(all="ignore"):
        got = prepared.scaled(w, s, np.float32)
        want = (w.astype(np.float64) * s.astype(np.float64).reshape(-1, 1, 1, 1)).astype(np.float32)
    assert np.isinf(want).any() and (np.abs(want[want != 0]) < np.finfo(np.float32).tiny).any()
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_the_documented_threads_and_no_fuse_example_runs():
    """docs/forward.md's example of --threads and --no-fuse, run as written."""
    import shlex
    from pathlib import Path
    doc = (Path(__file__).resolve().parent.parent / "docs" / "forward.md").read_text(encoding="utf-8")
    line = next(x for x in doc.splitlines() if x.startswith("cnncalc forward") and "--no-fuse" in x)
    args = shlex.split(line.split("#")[0])[1:]
    res = CliRunner().invoke(main, [*args, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["batch"] == 2 and doc["ok"] and not any(row["ran_inside"] for row in doc["layers"])
