"""`cnncalc bench` plumbing on tiny shapes: the implementations agree with a float64 reference,
the JSON has exactly the documented schema, and the suite has the documented shapes. No timing
thresholds: timings depend on the machine."""
from __future__ import annotations

import json

import numpy as np
import pytest

from cnncalc.bench import SUITE, Case, suite
from cnncalc.bench import impls
from cnncalc.bench.machine import kernel_warning
from cnncalc.bench.runner import check_case, interleaved_times, paired_ratio, verify
from cnncalc.cli import main

torch = pytest.importorskip("torch")

# Tiny cases covering every hyper-parameter the implementations handle.
TINY = [
    Case("c", "conv", (2, 3, 7, 6), 4, (3, 3), (1, 1), (1, 1, 1, 1)),
    Case("c-stride-asym", "conv", (2, 2, 9, 8), 3, (3, 2), (2, 3), (0, 1, 2, 0)),
    Case("c-dilation", "conv", (1, 2, 9, 9), 2, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2)),
    Case("c-groups", "conv", (2, 4, 6, 6), 6, (3, 3), (1, 1), (1, 1, 1, 1), groups=2),
    Case("c-1x1", "conv", (2, 5, 4, 4), 3),
    Case("p-max", "pool", (2, 3, 7, 7), 0, (3, 3), (2, 2), (1, 1, 1, 1)),
    Case("p-max2", "pool", (2, 3, 8, 8), 0, (2, 2), (2, 2)),
    Case("p-avg", "pool", (2, 3, 6, 6), 0, (2, 2), (2, 2), pool="avg"),
    Case("d", "dense", (3, 7), 5),
]


def _torch_reference(case: Case, arrays) -> np.ndarray:
    """PyTorch in float64 as the outside oracle for the in-package reference."""
    F = torch.nn.functional
    x = torch.from_numpy(arrays["x"])
    t, b, l, r = case.padding
    if case.layer == "dense":
        return F.linear(x, torch.from_numpy(arrays["w"]), torch.from_numpy(arrays["b"])).numpy()
    fill = float("-inf") if case.layer == "pool" and case.pool == "max" else 0.0
    x = F.pad(x, (l, r, t, b), value=fill)
    if case.layer == "pool":
        pool = F.max_pool2d if case.pool == "max" else F.avg_pool2d
        return pool(x, case.kernel, case.stride).numpy()
    return F.conv2d(x, torch.from_numpy(arrays["w"]), torch.from_numpy(arrays["b"]), case.stride, 0,
                    case.dilation, case.groups).numpy()


@pytest.mark.parametrize("case", TINY, ids=lambda c: c.name)
def test_reference_matches_torch(case):
    case = case.with_dtype("float64")
    arrays = impls.make_arrays(case)
    np.testing.assert_allclose(impls.reference(case, arrays), _torch_reference(case, arrays), rtol=0, atol=1e-10)


@pytest.mark.parametrize("impl", ["naive", "im2col-textbook", "im2col", "torch"])
@pytest.mark.parametrize("case", TINY, ids=lambda c: c.name)
def test_implementations_agree(case, impl):
    case = case.with_dtype("float64")
    arrays = impls.make_arrays(case)
    got = impls.to_numpy(impls.IMPLS[impl](case, arrays)())
    want = impls.reference(case, arrays)
    assert got.shape == want.shape == case.out_shape()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("case", SUITE, ids=lambda c: c.name)
def test_suite_cases_verify_on_reduced_copy(case):
    small = check_case(case)
    assert small.kernel == case.kernel and small.stride == case.stride and small.padding == case.padding
    assert verify(case, "im2col-textbook") <= 1e-10
    assert verify(case, "naive") <= 1e-10


def test_naive_budget_is_partial_and_counts_macs():
    case = Case("c", "conv", (1, 2, 20, 20), 3, (3, 3)).with_dtype("float64")
    _, done = impls.naive(case, impls.make_arrays(case), budget_s=0.0)
    assert done == 2 * 3 * 3  # one output element: C·kh·kw MACs, then the budget stops it
    _, done = impls.naive(case, impls.make_arrays(case))
    assert done == case.macs()


def test_suite_has_documented_shapes():
    # (name, layer, input, filters, kernel, stride, padding) as listed in issue 4 and docs/bench.md
    want = {
        "lenet5-c1": ("conv", (64, 1, 32, 32), 6, (5, 5), (1, 1), (0, 0, 0, 0)),
        "lenet5-c3": ("conv", (64, 6, 14, 14), 16, (5, 5), (1, 1), (0, 0, 0, 0)),
        "resnet-stem": ("conv", (8, 3, 224, 224), 64, (7, 7), (2, 2), (3, 3, 3, 3)),
        "conv3x3-56": ("conv", (32, 64, 56, 56), 64, (3, 3), (1, 1), (1, 1, 1, 1)),
        "conv3x3-14": ("conv", (32, 256, 14, 14), 256, (3, 3), (1, 1), (1, 1, 1, 1)),
        "conv3x3s2-28": ("conv", (32, 128, 28, 28), 256, (3, 3), (2, 2), (1, 1, 1, 1)),
        "conv1x1-56": ("conv", (32, 256, 56, 56), 64, (1, 1), (1, 1), (0, 0, 0, 0)),
        "maxpool2x2-112": ("pool", (32, 64, 112, 112), 0, (2, 2), (2, 2), (0, 0, 0, 0)),
        "maxpool3x3-112": ("pool", (32, 64, 112, 112), 0, (3, 3), (2, 2), (1, 1, 1, 1)),
        "dense-4096": ("dense", (64, 4096), 4096, (1, 1), (1, 1), (0, 0, 0, 0)),
    }
    got = {c.name: (c.layer, c.shape, c.filters, c.kernel, c.stride, c.padding) for c in SUITE}
    assert got == want
    # hand-derived output sizes: LeNet C1 28×28, C3 10×10, stem (224+6−7)//2+1 = 112, pools 56
    outs = {c.name: c.out_shape() for c in SUITE}
    assert outs["lenet5-c1"] == (64, 6, 28, 28) and outs["lenet5-c3"] == (64, 16, 10, 10)
    assert outs["conv3x3s2-28"] == (32, 256, 14, 14)  # (28 + 2 − 3) // 2 + 1 = 14
    assert outs["resnet-stem"] == (8, 64, 112, 112)
    assert outs["maxpool2x2-112"] == outs["maxpool3x3-112"] == (32, 64, 56, 56)
    # ResNet-18 stem MACs per image, 118,013,952 (torchvision's count), times batch 8
    assert next(c for c in SUITE if c.name == "resnet-stem").macs() == 8 * 118_013_952
    assert [c.name for c in suite("pool")] == ["maxpool2x2-112", "maxpool3x3-112"]
    assert all(c.dtype == "float64" for c in suite("all", "float64"))


def test_rounds_interleave_libraries_and_pause_between_implementations():
    """A fake clock: each call advances it by a set duration; what ran, in what order, and the pauses.
    Each timed call follows an untimed one of the same implementation (durations 9)."""
    now, ran, pauses = [0.0], [], []
    durations = {"im2col": [9, 1, 9, 2, 9, 3, 9, 4], "winograd": [9, 5] * 4, "torch": [9, 2, 9, 8, 9, 2, 9, 2]}

    def fn(name):
        def call():
            ran.append(name)
            now[0] += durations[name][len([r for r in ran if r == name]) - 1]
        return call

    libs = {"im2col": "numpy", "winograd": "numpy", "torch": "torch"}
    times = interleaved_times({n: fn(n) for n in libs}, libs, 4, clock=lambda: now[0], pause=pauses.append)
    # round 0 NumPy first, round 1 torch first, and so on; each implementation twice in a row
    pairs = ["im2col", "winograd", "torch", "torch", "im2col", "winograd", "im2col", "winograd", "torch", "torch",
             "im2col", "winograd"]
    assert ran == [name for name in pairs for _ in range(2)]
    # before each implementation that follows another, 0.12 within NumPy and 0.2 across libraries:
    # im2col, winograd (0.12), torch (0.2) | torch (none: the same), im2col (0.2), winograd (0.12) |
    # im2col (0.12), winograd (0.12), torch (0.2) | torch, im2col (0.2), winograd (0.12)
    assert pauses == [0.12, 0.2, 0.2, 0.12, 0.12, 0.12, 0.2, 0.2, 0.12]
    assert times == {"im2col": [1, 2, 3, 4], "winograd": [5, 5, 5, 5], "torch": [2, 8, 2, 2]}
    # per round 1/2, 2/8, 3/2, 4/2 = 0.5, 0.25, 1.5, 2.0: median (0.5 + 1.5) / 2 = 1.0, where the
    # ratio of the medians would be 2.5 / 2 = 1.25 (torch's slow round 2 is one side's only)
    assert paired_ratio(times["im2col"], times["torch"]) == 1.0
    assert paired_ratio(times["torch"], times["torch"]) == 1.0
    with pytest.raises(ValueError):
        paired_ratio([1.0], [1.0, 2.0])


def test_kernel_warning():
    assert "OPENBLAS_CORETYPE=Haswell" in kernel_warning("Haswell", "Haswell", {"avx2", "fma", "avx512f"})
    assert kernel_warning(None, "SkylakeX", {"avx2", "fma", "avx512f"}) is None
    assert kernel_warning("Haswell", "Haswell", {"avx", "avx2", "fma"}) is None


def _tiny_run(monkeypatch):
    import cnncalc.bench.runner as runner
    monkeypatch.setattr(runner, "SQUARE", 64)
    monkeypatch.setattr(runner, "SWITCH_PAUSE_S", 0.0)
    tiny = [Case("c", "conv", (2, 3, 8, 8), 4, (3, 3), (1, 1), (1, 1, 1, 1)),
            Case("p", "pool", (2, 3, 8, 8), 0, (2, 2), (2, 2)),
            Case("d", "dense", (2, 16), 8)]
    monkeypatch.setattr("cnncalc.bench.suite", lambda layer="all", dtype="float32": [
        c.with_dtype(dtype) for c in tiny if layer in ("all", c.layer)])
    monkeypatch.setattr(runner, "NAIVE_BUDGET_S", 0.01)


def test_json_schema_exact(runner, monkeypatch):
    _tiny_run(monkeypatch)
    result = runner.invoke(main, ["bench", "--layer", "all", "--repeat", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"machine", "results", "peaks"}
    m = doc["machine"]
    assert set(m) == {"cpu", "cores", "numpy", "blas", "blas_kernel"}
    assert isinstance(m["cpu"], str) and isinstance(m["cores"], int) and m["numpy"] == np.__version__
    assert isinstance(m["blas"], str) and isinstance(m["blas_kernel"], str)
    impl_names = {"naive", "im2col-textbook", "im2col", "torch"}
    assert {(r["case"], r["impl"]) for r in doc["results"]} == ({(c, i) for c in "cpd" for i in impl_names}
                                                                | {("c", "winograd")})  # 3×3 stride 1 only
    for r in doc["results"]:
        assert set(r) == {"case", "layer", "impl", "median_s", "gflops", "pct_of_peak", "ratio_to_torch",
                          "extrapolated"}
        assert r["layer"] == {"c": "conv", "p": "pool", "d": "dense"}[r["case"]]
        assert isinstance(r["median_s"], float) and r["median_s"] > 0 and isinstance(r["gflops"], float)
        assert r["extrapolated"] is (r["impl"] == "naive")
        assert (r["pct_of_peak"] is None) == (r["layer"] == "pool")
        assert isinstance(r["ratio_to_torch"], float)
        if r["impl"] == "torch":
            assert r["ratio_to_torch"] == 1.0
    assert {p["case"] for p in doc["peaks"]} == {"c", "d", "square-64"}
    assert all(set(p) == {"case", "gflops"} and p["gflops"] > 0 for p in doc["peaks"])


def test_table_and_markdown(runner, monkeypatch):
    _tiny_run(monkeypatch)
    result = runner.invoke(main, ["bench", "--layer", "conv", "--repeat", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for word in ("CPU", "NumPy", "BLAS", "naive", "im2col-textbook", "GFLOP/s", "%peak", "col buffer"):
        assert word in result.stdout
    result = runner.invoke(main, ["bench", "--layer", "dense", "--repeat", "1", "--format", "markdown",
                                  "--impl", "im2col-textbook", "--impl", "naive"])
    assert result.exit_code == 0, result.output
    assert "| d | naive |" in result.stdout and "| torch |" not in result.stdout


def test_custom_layer(runner, monkeypatch):
    _tiny_run(monkeypatch)  # the 2048³ peak GEMM is not what this test is about
    result = runner.invoke(main, ["bench", "--layer", "conv", "--shape", "2,4,9,9", "--filters", "4", "--kernel",
                                  "3", "--stride", "2", "--padding", "1", "--groups", "2", "--repeat", "1",
                                  "--impl", "im2col-textbook", "--format", "json", "--dtype", "float64"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [r["case"] for r in doc["results"]] == ["custom"]
    assert doc["results"][0]["ratio_to_torch"] is None


def test_depthwise_layer_has_a_banded_row(runner, monkeypatch):
    _tiny_run(monkeypatch)
    result = runner.invoke(main, ["bench", "--layer", "conv", "--shape", "2,4,9,9", "--filters", "8", "--kernel",
                                  "3", "--padding", "1", "--groups", "4", "--repeat", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    impls_timed = [r["impl"] for r in json.loads(result.stdout)["results"]]
    # every row checked against the float64 reference first (a wrong kernel is reported, not timed)
    assert impls_timed == ["naive", "im2col-textbook", "im2col", "banded", "torch"]


@pytest.mark.parametrize("args, words", [
    (["--shape", "2,4,9"], "--shape expects 4"),
    (["--shape", "2,4,9,9"], "needs --filters"),
    (["--shape", "2,4,3,3", "--filters", "2", "--kernel", "5"], "larger"),
    (["--shape", "2,4,9,9", "--filters", "3", "--groups", "2"], "must divide"),
    (["--layer", "all", "--shape", "2,4,9,9"], "pick --layer"),
])
def test_custom_layer_errors(runner, args, words):
    result = runner.invoke(main, ["bench", *args])
    assert result.exit_code == 2
    assert words in result.stderr


def test_cli_import_does_not_load_numpy():
    import subprocess
    import sys
    code = "import sys, cnncalc.cli; assert 'numpy' not in sys.modules, 'numpy imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_readme_bench_commands_run(runner, monkeypatch):
    """The README's bench commands (in a `console` block, so that test_cli does not run the full
    suite) run here on the tiny suite; a --shape layer of its own keeps every option but runs on a
    small batch and map (the README's 8×64×56×56 takes seconds and tests nothing more)."""
    import pathlib
    import re
    import shlex
    _tiny_run(monkeypatch)
    text = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    commands = [line.split("  #")[0].strip() for block in re.findall(r"```\w*\n(.*?)```", text, re.S)
                for line in block.splitlines() if line.strip().startswith("cnncalc bench")]
    assert len(commands) >= 3
    for command in commands:
        args = shlex.split(command)[1:] + ["--repeat", "1"]
        if "--shape" in args:
            args[args.index("--shape") + 1] = "2,4,9,9"
            args += ["--impl", "im2col-textbook"]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (command, result.output)
