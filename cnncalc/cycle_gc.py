"""Python's cycle collector paused while a network is built or analysed.

Building and analysing allocate a few hundred thousand small objects per 1,000 layers (layers,
expressions, records) and free almost none, so each automatic collection only rescans a heap that
keeps growing: the total cost grows with the square of the depth. Measured (CPU time, a repeat of
[conv, relu]): 10,000 layers analysed in 2.0 s with the collector on, 1.0 s paused; 66,666 layers
built in 2.4 s on, linear when paused (issue 14's scaling target). Reference counting still frees
everything that is not in a cycle; the collector runs again as soon as the block ends.

What the block made is long-lived by construction (the graph, the analysis the caller keeps), but
the collector counts it young: its first collections after the block walked all of it, as
generation 0 and again as generation 1 (100,000 layers: 0.6–1.3 s after each analysis). So the
block ends by moving every tracked object into the oldest generation at once: `gc.freeze()` then
`gc.unfreeze()` does exactly that, by the documented meaning of each (freeze: into the permanent
generation; unfreeze: from it into the oldest), without walking anything. It is skipped when the
process froze objects itself (a server before fork), whose frozen objects must stay frozen.

A command that analyses a network and prints it (`params`, `rf`, `summary`) keeps the collector
paused until it has printed: the records it renders are another few objects per layer, and the
first collections after the analysis rescan all of it (10,000 layers: 0.4 s of `params --format
json`'s 0.5 s of rendering were the collector's).
"""
from __future__ import annotations

import functools
import gc
from contextlib import contextmanager


@contextmanager
def paused():
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            _promote_all()
            gc.enable()


def _promote_all() -> None:
    """Every object the collector tracks into its oldest generation, without a collection."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def paused_while(func):
    """`func` run with the collector paused (a CLI command: build, analyse, render, print)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with paused():
            return func(*args, **kwargs)
    return wrapper
