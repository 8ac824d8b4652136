"""Issue 10, forward/arrays/bench: every bad option or array ends with exit 2, one `error:` line that
says what is wrong and what would be right, nothing on standard output, no traceback and no NumPy
warning. Each expectation is written by hand from the input it names.

The arrays are written by the tests (tmp_path): a header that declares 7 TiB is 128 bytes on disk."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from cnncalc.cli import main
from cnncalc.kernels.pool import adaptive_avg_pool2d

FMT = np.lib.format


def run(*args, stdin: str | None = None):
    res = CliRunner().invoke(main, list(args), input=stdin)
    return res.exit_code, res.stdout, res.stderr


def refused(*args, stdin: str | None = None) -> str:
    code, out, err = run(*args, stdin=stdin)
    assert code == 2, (code, out, err)
    assert out == "", out
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert len(lines[0]) < 300 and "Traceback" not in err and "Warning" not in err, err
    return lines[0]


def header_only(path, shape, descr="<f4", tail=b""):
    with open(path, "wb") as f:
        FMT.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
        f.write(tail)
    return str(path)


RELU = "input: [1, 8, 8]\nlayers:\n  - relu\n"


# -- 7. forward's options ------------------------------------------------------------------------
@pytest.mark.parametrize("args, fragments", [
    (["--seed", "-1"], ["--seed must be a whole number from 0 to 2^63 − 1, got '-1'"]),
    (["--seed", "9223372036854775808"], ["--seed must be a whole number from 0 to 2^63 − 1"]),
    (["--seed", "9" * 5000], ["--seed must be", "got '9999999999999999999999999999999999999999…'"]),
    (["--max-memory", "nan"], ["--max-memory must be a size such as 4G", "got 'nan'"]),
    (["--max-memory", "inf"], ["--max-memory must be a size such as 4G", "got 'inf'"]),
    (["--max-memory", "1e999G"], ["got '1e999G'"]),
    (["--max-memory", "0.1"], ["at least 1 byte", "got '0.1'"]),
    (["--save-output", "no/such/dir/y.npy"], ["error: no/such/dir/y.npy: --save-output: there is no directory "
                                              "'no/such/dir'; create it or save elsewhere"]),
    # 20. NumPy would write y.txt.npy while the note said y.txt
    (["--save-output", "y.txt"], ["error: y.txt: --save-output writes NumPy's .npy format; give a name ending "
                                  "in .npy"]),
])
def test_bad_forward_options(args, fragments, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = refused("forward", "feature-map-example", *args)
    for fragment in fragments:
        assert fragment in line
    assert list(tmp_path.iterdir()) == []  # refused before anything is written


def test_seed_at_its_limit_runs():
    code, out, _ = run("forward", "feature-map-example", "--seed", str(2**63 - 1))
    assert code == 0 and "[4, 3, 4]" in out


def test_save_output_writes_exactly_the_path_given(tmp_path):
    target = tmp_path / "Y.NPY"  # NumPy's own np.save(name) would have written Y.NPY.npy
    code, out, _ = run("forward", "feature-map-example", "--dtype", "float64", "--save-output", str(target))
    assert code == 0 and f"output saved to {target}" in out
    assert [p.name for p in tmp_path.iterdir()] == ["Y.NPY"]
    assert np.load(target)[0, 0].tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]


# -- 8, 9. arrays read from files ----------------------------------------------------------------
def test_bad_input_arrays(tmp_path):
    np.save(tmp_path / "text.npy", np.array([["a"]]))
    np.save(tmp_path / "complex.npy", np.ones((1, 5, 5), complex))
    np.save(tmp_path / "records.npy", np.zeros((1, 5, 5), dtype=[("a", "f4"), ("b", "i2")]))
    np.save(tmp_path / "zero-d.npy", np.array(3.0))
    np.save(tmp_path / "two-d.npy", np.ones((5, 5)))
    np.save(tmp_path / "empty-axis.npy", np.ones((0, 1, 5, 5)))
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "not-npy.npy").write_bytes(b"hello, world")
    header_only(tmp_path / "7tib.npy", (1000, 1, 1000000, 1000), tail=b"\0" * 100)
    cases = {
        "text.npy": "the array holds text (<U1) values; give real numbers (float32 or float64)",
        "complex.npy": "the array holds complex (complex128) values; give real numbers",
        "records.npy": "the array holds structured records (fields a, b) values; give real numbers",
        "zero-d.npy": "the input array is a 0-d array (one number); it must be (N, C, H, W) or (C, H, W)",
        "two-d.npy": "the input array is 5×5; it must be (N, C, H, W) or (C, H, W) with every size ≥ 1",
        "empty-axis.npy": "the input array is 0×1×5×5; it must be (N, C, H, W) or (C, H, W) with every size ≥ 1",
        "empty.npy": "the file is empty; save the array with numpy.save",  # click used to say `Aborted!`, exit 1
        "not-npy.npy": "not a NumPy .npy array: the magic string is not correct",
        "7tib.npy": "the header declares a 1000×1×1000000×1000 float32 array (3.6 TiB) but only 100 bytes follow "
                    "it; the file is cut short",
    }
    for name, fragment in cases.items():
        path = str(tmp_path / name)
        line = refused("forward", "feature-map-example", "--input-file", path)
        assert line.startswith(f"error: {path}: "), line
        assert fragment in line, (name, line)
    line = refused("forward", "feature-map-example", "--input-file", str(tmp_path / "missing.npy"))
    assert line == f"error: {tmp_path / 'missing.npy'}: no such file or directory; give the path of an existing file"
    line = refused("forward", "feature-map-example", "--input-file", str(tmp_path))
    assert "not a regular file (a directory, pipe or device)" in line


def test_input_header_checked_against_the_memory_guard(tmp_path):
    """A header that the file really backs (sparse: nothing written) is refused by the memory guard
    before its 40 GB are read: 1×100000×100000 float32 into a ReLU is 37.3 GiB per activation."""
    path = tmp_path / "big.npy"
    header_only(path, (1, 1, 100000, 100000))
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size + 40_000_000_000)
    line = refused("forward", "-", "--input-file", str(path), "--max-memory", "1G", stdin=RELU)
    assert "the forward pass would need about 74.5 GiB" in line  # the input and the ReLU's output, 37.25 GiB each
    assert "but the limit is 1.0 GiB" in line


def test_bad_weight_archives(tmp_path):
    (tmp_path / "not-zip.npz").write_bytes(b"hello")
    np.savez(tmp_path / "text.npz", **{"conv.weight": np.array(["x"])})
    np.savez(tmp_path / "wrong-shape.npz", **{"conv.weight": np.ones((2, 1, 3, 3))})
    with zipfile.ZipFile(tmp_path / "7tib.npz", "w") as z:
        with z.open("conv.weight.npy", "w") as m:
            FMT.write_array_header_1_0(m, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(tmp_path / "not-npy.npz", "w") as z:
        z.writestr("conv.weight.txt", "1 0 1")
    cases = {
        "not-zip.npz": "not a .npz archive (not a zip file); save the weights with numpy.savez",
        "text.npz": "array `conv.weight`: the array holds text (<U1) values; give real numbers",
        "7tib.npz": "array `conv.weight`: the header declares a 1000000×1000000 float64 array (7.3 TiB) but only 0 "
                    "bytes follow it",
        "not-npy.npz": "`conv.weight.txt` in the archive is not a .npy array",
    }
    for name, fragment in cases.items():
        path = str(tmp_path / name)
        line = refused("forward", "feature-map-example", "--weights", path)
        assert line.startswith(f"error: {path}: ") and fragment in line, (name, line)
    # the shape is checked against the network from the header, by the one weights validator
    line = refused("forward", "feature-map-example", "--weights", str(tmp_path / "wrong-shape.npz"))
    assert line == ("error: feature-map-example.yaml:12:5: conv: `weight` in the weights file has shape 2×1×3×3, "
                    "expected 1×1×3×3 (9 numbers)")


# -- 10. the memory estimate counts every kernel's scratch -----------------------------------------
def test_lrn_of_any_size_runs_in_its_own_memory(tmp_path):
    # size 10^9 used to loop 10^9 times over squares padded by 10^9 − 1 channels (238.4 GiB); only
    # the offsets that land on one of the 3 channels count now. By hand: every window covers all 3
    # channels, so y = x / (1 + 1e-4/1e9 · Σ_c x²)^0.75, which is x to float32's precision.
    path = tmp_path / "y.npy"
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = CliRunner().invoke(main, ["forward", "-", "--input-file", str(tmp_path / "x.npy"),
                                       "--save-output", str(path)],
                                input="input: [3, 8, 8]\nlayers:\n  - lrn: {size: 1000000000}\n")
    assert result.exit_code == 0, result.output
    expected = x / (1 + 1e-4 / 1e9 * (x.astype(np.float64) ** 2).sum(axis=1, keepdims=True)) ** 0.75
    np.testing.assert_allclose(np.load(path), expected, rtol=1e-6)


def test_lrn_scratch_is_in_the_estimate():
    from cnncalc import loads
    from cnncalc.analysis import analyse
    from cnncalc.forward import scratch_bytes

    graph = loads("input: [3, 8, 8]\nlayers:\n  - lrn: {size: 1000000000}\n").graph
    layer = graph.nodes[0].layer
    # squares, their sum and two temporaries, each 3 × 8 × 8 float32 values, times the batch of 2
    assert scratch_bytes(layer, (3, 8, 8), (3, 8, 8), 4, 2) == 2 * 4 * 3 * 64 * 4
    assert analyse(graph) is not None


def test_pooling_scratch_is_in_the_estimate():
    from cnncalc import loads
    from cnncalc.analysis import analyse
    from cnncalc.forward import estimate_peak

    graph = loads("input: [2, 64, 64]\nlayers:\n  - maxpool: {kernel: 2, stride: 2}\n"
                  "  - adaptiveavgpool: [5, 3]\n").graph
    analysis = analyse(graph, batch=1, dtype_bytes=4)
    peak = estimate_peak(graph, analysis, 1, 4)
    # maxpool: 1 MiB // (64·64·4) = 64 planes, at most N·C = 2: 2 × 64 rows × 32 columns × 4 bytes = 16,384;
    # adaptive 32×32 → 5×3: W first (32·3 ≤ 5·32): 2 × (2·32·3 + 5·3) × 4 = 1,656
    assert (peak.scratch, peak.scratch_layer) == (16_384, "pool1")


# -- 12. adaptive average pooling: vectorised, exact against PyTorch ------------------------------
@pytest.mark.parametrize("h, w, oh, ow", [(13, 13, 6, 6), (7, 9, 7, 7), (10, 7, 3, 4), (5, 11, 4, 9),
                                          (3, 2, 7, 5), (1, 1, 3, 2), (17, 23, 5, 1), (224, 224, 7, 7)])
def test_adaptive_avg_pool_sizes_that_do_not_divide(h, w, oh, ow):
    x = np.random.default_rng(h * 100 + w).standard_normal((2, 3, h, w))
    want = F.adaptive_avg_pool2d(torch.from_numpy(x), (oh, ow)).numpy()
    np.testing.assert_allclose(adaptive_avg_pool2d(x, (oh, ow)), want, rtol=0, atol=1e-12)


def test_adaptive_avg_pool_large_output_is_fast():
    import time
    x = np.ones((1, 1, 4, 4), np.float32)
    start = time.perf_counter()
    y = adaptive_avg_pool2d(x, (1000, 1000))  # a million cells: the per-cell loop took seconds
    assert time.perf_counter() - start < 1.0
    assert y.shape == (1, 1, 1000, 1000) and np.all(y == 1)


# -- 16, 17, 23 ---------------------------------------------------------------------------------
def test_refused_forward_prints_nothing_on_stdout():
    # 4.0 TiB at batch 100,000,000: above the progress bar's 3 GMACs, which used to print a blank line
    line = refused("forward", "lenet5", "--batch", "100000000", "--max-memory", "4G")
    assert "the forward pass would need about 4.0 TiB" in line


def test_overflow_is_one_counted_note_not_a_warning():
    yaml = ("input: [1, 2, 2]\ninput_data: [[3.0e+38, 3.0e+38], [1, 1]]\nlayers:\n"
            "  - conv: {filters: 1, kernel: 2, bias: false, weights: [[10.0, 1], [1, 1]]}\n  - relu\n")
    code, out, err = run("forward", "-", stdin=yaml)
    assert code == 0 and err == ""
    assert ("note: 1 of 1 values overflowed to inf or NaN in layer conv1 (beyond float32's range, or inf − inf "
            "after it)") in out
    code, out, err = run("forward", "-", "--format", "json", stdin=yaml.replace("3.0e+38, 3.0e+38", "1.0e+300, 1"))
    assert code == 0 and err == ""
    assert '"output": [\n    [\n      [\n        [\n          null' in out  # JSON has no Infinity
    assert "1 of the input's 4 values are inf or NaN (beyond float32's range" in out


def test_standard_input_is_read_once(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((2, 1, 6, 6), np.float32))
    code, out, err = run("forward", "-", "--input-file", str(tmp_path / "x.npy"), stdin=RELU)
    assert code == 0, err
    assert "note: run at input 1×6×6 (the input array's) instead of the declared 1×8×8" in out
    code, out, _ = run("forward", "-", "--input", "1,8,8", stdin=RELU)
    assert code == 0 and "instead of the declared" not in out
    code, out, _ = run("forward", "-", "--input", "1,9,8", stdin=RELU)
    assert code == 0 and "note: run at input 1×9×8 instead of the declared 1×8×8" in out


# -- 21. bench's memory guard ---------------------------------------------------------------------
def test_bench_refuses_what_does_not_fit():
    # input alone: 100000·64·224·224 = 3.2e11 values, 12 bytes each (float64 draw + float32 copy) = 3.5 TiB
    line = refused("bench", "--layer", "conv", "--shape", "100000,64,224,224", "--filters", "64")
    assert line.startswith("error: the bench case custom would need about ")
    assert "TiB" in line and "give a smaller --shape" in line


def test_help_texts():
    _, out, _ = run("forward", "--help")
    assert "Array type of the input, weights and every layer's output." in " ".join(out.split())
    _, out, _ = run("bench", "--help")
    text = " ".join(out.split())
    for fragment in ("Window size of the --shape layer", "Step of the window.", "Zeros around the input",
                     "Spacing between the window's taps", "Channel groups of the conv"):
        assert fragment in text
