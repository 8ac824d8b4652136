"""Issue 10: the analysis tables at a terminal's width. At 80 columns a table shows the columns
that fit whole, hides the least important ones and says which; a number, a shape or an RF cell is
never cut, whatever the width; piped output keeps every column."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest
from rich.cells import cell_len
from rich.console import Console

import cnncalc
from cnncalc.cli import main
from cnncalc.render.analysis_view import render_analysis, render_top_down
from cnncalc.render.columns import VIEWS

NETWORKS = ("lenet5-1998", "resnet50", "googlenet")


def screen(renderable: object, width: int) -> str:
    """What a terminal of `width` columns shows, colours left out (the CLI prints with crop=False)."""
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False, highlight=False)
    console.print(renderable, crop=False)
    return console.file.getvalue()


def table_lines(text: str) -> list[str]:
    """The lines of the layer table: from the rule under the header to the first blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(" ━"))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return lines[start - 1:end]


def header_cells(text: str) -> list[str]:
    header = table_lines(text)[0]
    return [cell for cell in re.split(r"\s{2,}", header.strip()) if cell]


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("view", ("params", "rf", "summary"))
def test_80_columns_fit_and_no_cell_is_cut(name, view):
    a = cnncalc.load(name).analyse()
    text = screen(render_analysis(a, view, "table"), 80)
    assert "…" not in text
    lines = table_lines(text)
    assert max(cell_len(line) for line in lines) <= 80, "\n".join(lines)
    shown = header_cells(text)
    columns = [c for c in VIEWS[view] if c.header in shown or (c.short and c.short in shown)]
    assert columns[0].key == "name" and len(columns) == len(shown), shown
    # Every layer's row holds each shown cell whole: its name, and its numbers and shape exactly
    # as the records give them, separated by at least two spaces.
    rows = lines[2:]
    assert len(rows) == len(a.layers)  # no name is folded at 80 columns for these networks
    for r, row in zip(a.layers, rows):
        cells = re.split(r"\s{2,}", row.strip())
        assert cells == [c.text(r) for c in columns], row
    hidden = [c.header for c in VIEWS[view] if c not in columns]
    hint = [line for line in text.splitlines() if line.startswith("hidden at 80 columns")]
    if hidden:
        joined = " ".join(text.split("hidden at 80 columns: ", 1)[1].split("\n\n")[0].split())
        assert joined.startswith(", ".join(hidden) + " (widen the terminal, or --format csv)"), joined
    else:
        assert hint == []


def test_lenet5_summary_at_80_columns_by_hand():
    """LeNet-5 (1998): every number as LeCun et al. publish it (C1 156 params, 122,304
    connections; C3 1,516 and 151,600; F6 10,164), Non-trainable and Jump hidden, Connections
    abbreviated; the layout as a person reads it in an 80-column terminal."""
    text = screen(render_analysis(cnncalc.load("lenet5-1998").analyse(), "summary", "table"), 80)
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[:6] == [
        "lenet5-1998  input 1×32×32",
        "",
        "  Layer      Type        Output     Params     Conns      MACs   RF",
        " " + "━" * 76,
        "  C1         conv        6×28×28       156   122,304   117,600   5",
        "  S2         subsample   6×14×14        12     5,880         0   6",
    ]
    assert "  C3         conv        16×10×10    1,516   151,600   150,000   14" in lines
    assert "  C5         conv        120×1×1    48,120    48,120    48,000   32 (global)" in lines
    assert "  F6         dense       84         10,164    10,164    10,080   32 (global)" in lines
    assert "hidden at 80 columns: Non-trainable, Jump (widen the terminal, or --format csv)" in lines


@pytest.mark.parametrize("name", NETWORKS)
def test_wide_output_keeps_every_column(name):
    text = screen(render_analysis(cnncalc.load(name).analyse(), "summary", "table"), 1000)
    assert header_cells(text) == [c.header for c in VIEWS["summary"]]
    assert "hidden at" not in text


@pytest.mark.parametrize("width", (40, 30, 12))
def test_narrow_terminals_fold_names_and_never_cut_numbers(width):
    """Below what the essential columns need, only the layer names fold (at a dot where one is in
    reach); a line may then be wider than the terminal (the terminal wraps it), never cut."""
    a = cnncalc.load("resnet50").analyse()
    text = screen(render_analysis(a, "summary", "table"), width)
    assert "…" not in text
    body = "\n".join(table_lines(text)[2:])
    for r in a.layers[:40]:
        assert f"{r.params:,}" in body and "×".join(map(str, r.output)) in body
    names = re.findall(r"^  (\S+)", body, re.M)
    assert "".join(names).startswith("conv1bn1relu1maxpoollayer1.0.conv1layer1.0.bn1")
    if width == 40:
        assert "  layer1.0.     64×56×56         4,096" in body.splitlines()
        assert max(cell_len(line) for line in table_lines(text)) <= 40


def test_chinese_headers_are_measured_in_cells():
    from cnncalc.i18n import set_language
    set_language("zh")
    text = screen(render_analysis(cnncalc.load("lenet5-1998").analyse(), "summary", "table"), 80)
    assert max(cell_len(line) for line in table_lines(text)) <= 80
    assert "122,304" in text and "…" not in text


def test_top_down_walk_is_never_cut():
    td = cnncalc.load("rf-example").receptive_field("pool3")
    text = screen(render_top_down(td, "table"), 30)
    # docs/design.md's worked example: (28 − 1)·1 + 3 = 30 at conv1.
    assert "(28 − 1)·1 + 3" in text and "conv1" in text and "…" not in text


def test_cli_at_80_columns_and_piped(runner):
    at80 = runner.invoke(main, ["summary", "lenet5-1998"], env={"COLUMNS": "80"}).output
    assert "hidden at 80 columns: Non-trainable, Jump" in at80 and "122,304" in at80
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    piped = subprocess.run([sys.executable, "-m", "cnncalc", "summary", "lenet5-1998"], capture_output=True,
                           text=True, env=env, check=True).stdout
    assert header_cells(piped) == [c.header for c in VIEWS["summary"]] and "hidden" not in piped


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_real_80_column_terminal():
    """The command in a pseudo-terminal of 80 columns, as a person runs it (no COLUMNS set)."""
    import fcntl
    import pty
    import struct
    import termios

    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-m", "cnncalc", "summary", "lenet5-1998"], stdin=child_fd,
                            stdout=child_fd, stderr=child_fd, env=env, close_fds=True)
    os.close(child_fd)
    chunks = []
    while True:
        try:
            data = os.read(main_fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(main_fd)
    text = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode()).replace("\r\n", "\n")
    assert "hidden at 80 columns: Non-trainable, Jump" in text
    assert "  C1         conv        6×28×28       156   122,304   117,600   5" in text
    assert max(cell_len(line) for line in text.splitlines()) <= 80 and "…" not in text
