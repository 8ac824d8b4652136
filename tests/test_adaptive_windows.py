"""AdaptiveAvgPool's windows in closed form (issue 10, item 12): the sum, the smallest and largest
window and the regular (kernel, stride) agree with the windows listed one by one, PyTorch's rule
[⌊i·size/n⌋, ⌈(i+1)·size/n⌉), for every size and output up to 70; a huge output size is computed
without listing its windows."""
from __future__ import annotations

import pytest

import cnncalc
from cnncalc.layers.pooling import regular_windows, window_range, window_sum


def listed(size: int, n: int) -> list[tuple[int, int]]:
    """(start, length) of each window, written out as PyTorch's AdaptiveAvgPool2d defines them."""
    out = []
    for i in range(n):
        start = (i * size) // n
        end = -(-((i + 1) * size) // n)
        out.append((start, end - start))
    return out


def brute_regular(size: int, n: int) -> tuple[int, int] | None:
    windows = listed(size, n)
    lengths = {length for _, length in windows}
    steps = {b[0] - a[0] for a, b in zip(windows, windows[1:])} or {size}
    return (lengths.pop(), steps.pop()) if len(lengths) == 1 and len(steps) == 1 else None


@pytest.mark.parametrize("size", range(1, 71))
def test_closed_forms_match_the_listed_windows(size):
    for n in range(1, 71):
        lengths = [length for _, length in listed(size, n)]
        assert window_sum(size, n) == sum(lengths), (size, n)
        assert window_range(size, n) == (min(lengths), max(lengths)), (size, n)
        assert regular_windows(size, n) == brute_regular(size, n), (size, n)


def test_a_few_by_hand():
    # 5 → 3: windows [0,2) [1,4) [3,5): lengths 2, 3, 2, sum 7, uneven; 5 → 2: [0,3) [2,5), kernel 3 stride 2.
    assert (window_sum(5, 3), window_range(5, 3), regular_windows(5, 3)) == (7, (2, 3), None)
    assert (window_sum(5, 2), regular_windows(5, 2)) == (6, (3, 2))
    # 7 → 7 is the identity, 224 → 7 is a 32×32 window at stride 32, 6 → 4: [0,2) [1,3) [3,5) [4,6).
    assert regular_windows(7, 7) == (1, 1) and regular_windows(224, 7) == (32, 32)
    assert (window_sum(6, 4), window_range(6, 4), regular_windows(6, 4)) == (8, (2, 2), None)


def test_connections_of_a_layer_are_the_listed_sum():
    net = cnncalc.loads("input: [3, 13, 10]\nlayers:\n  - adaptiveavgpool: [5, 4]\n")
    rows = sum(length for _, length in listed(13, 5))
    cols = sum(length for _, length in listed(10, 4))
    assert net.analyse().layers[0].connections == 3 * rows * cols


def test_huge_output_size_does_not_list_windows():
    """`adaptiveavgpool: 100000000` used to build lists of 10^8 windows (a hang)."""
    a = cnncalc.loads("input: [1, 7, 7]\nlayers:\n  - adaptiveavgpool: 100000000\n").analyse()
    layer = a.layers[0]
    # 7 → 10^8: gcd 1, so Σ = 7 + 10^8 − 1 per axis; most windows hold one element, the 6 that
    # straddle a boundary i·10^8/7 hold two, so the steps are uneven and no field is reported.
    assert layer.connections == (7 + 10**8 - 1) ** 2
    assert layer.rf.undefined is not None and "1–2 rows and 1–2 columns" in layer.rf.undefined
