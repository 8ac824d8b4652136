"""The forward pass's fast paths (issue 14). Elementwise kernels run in place: with out=x each
equals PyTorch and writes into x's memory; leaky ReLU for slopes below 0, between 0 and 1, and
above 1. The inf/NaN check sums each output in its own
dtype: a finite float32 output whose sum overflows must not be reported."""
from __future__ import annotations

import numpy as np
import pytest

import cnncalc
from cnncalc.forward import run_forward
from cnncalc.kernels import elementwise as ew

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle (pip install -e '.[test]')")
F = torch.nn.functional

CASES = [
    ("sigmoid", ew.sigmoid, torch.sigmoid),
    ("tanh", ew.tanh, torch.tanh),
    ("gelu", ew.gelu, F.gelu),
    *[(f"leaky_relu {s}", lambda x, out=None, s=s: ew.leaky_relu(x, s, out=out),
       lambda t, s=s: F.leaky_relu(t, s)) for s in (-0.5, 0.0, 0.01, 0.3, 1.0, 3.0)],
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_in_place_equals_pytorch(name, ours, theirs, dtype):
    # Spread values (σ = 20) past sigmoid's saturation, two blocks and a bit (65,536 a block), the
    # special values at the start.
    x = (20 * np.random.default_rng(1).standard_normal((2, 3, 150, 151))).astype(dtype)
    x.flat[:5] = [0.0, -0.0, 100.0, -100.0, 1e-30]
    ref = theirs(torch.from_numpy(x.astype(np.float64))).numpy()
    fresh = ours(x)
    buf = x.copy()
    done = ours(buf, out=buf)
    assert np.shares_memory(done, buf)
    np.testing.assert_array_equal(done, fresh)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    assert np.max(np.abs(fresh - ref)) <= tol * np.max(np.abs(ref))


def test_finite_output_whose_sum_overflows_is_not_reported():
    net = cnncalc.loads("input: [1, 2, 2]\ninput_data: [[3.0e+38, 3.0e+38], [3.0e+38, 3.0e+38]]\nlayers: [relu]\n")
    result = run_forward(net.graph, dtype="float32")
    with np.errstate(over="ignore"):
        assert np.all(np.isfinite(result.output)) and not np.isfinite(result.output.sum())  # 1.2e39 > 3.4e38
    assert not any("overflowed" in note for note in result.notes)


def test_overflow_is_still_reported():
    net = cnncalc.loads("input: [1, 1, 2]\ninput_data: [[3.0e+38, 1]]\nlayers: [{conv: {filters: 1, kernel: 1, "
                        "bias: false, weights: [[[[2]]]]}}]\n")
    result = run_forward(net.graph, dtype="float32")
    assert any(note.startswith("1 of 2 values overflowed") for note in result.notes), result.notes


def test_build_and_analyse_give_the_cycle_collector_back():
    """cnncalc.cycle_gc pauses the collector while a graph is built and analysed (linear time on deep
    networks) and leaves it as it found it, on success and on error."""
    import gc
    assert gc.isenabled()
    cnncalc.load("resnet18").analyse()
    assert gc.isenabled()
    with pytest.raises(cnncalc.CnnError):
        cnncalc.loads("input: [1, 4, 4]\nlayers: [{conv: {filters: 1, kernel: 9}}]\n").analyse()
    assert gc.isenabled()
    gc.disable()
    try:
        cnncalc.load("lenet5").analyse()
        assert not gc.isenabled()
    finally:
        gc.enable()
