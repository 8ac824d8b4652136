import os
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner


@pytest.fixture(autouse=True)
def _english_by_default(monkeypatch):
    """The default language comes from LANG: pin it for every test, so the English assertions
    hold on a machine whose LANG is zh_CN too."""
    monkeypatch.setenv("LANG", "C.UTF-8")
    from cnncalc import i18n
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


GOLDEN_DIR = Path(__file__).parent / "golden"
# Set to rewrite the golden files from the current output (docs/architecture.md § Tests).
UPDATE_GOLDEN = "CNNCALC_UPDATE_GOLDEN"


def _layout(text: str) -> list[str]:
    """The lines that matter: rich pads cells and lines with spaces, so trailing spaces and
    trailing blank lines are not part of the layout a golden file pins."""
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n").split("\n")


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """`golden(name, text)`: assert that `text` has the layout of tests/golden/<name>, or, with
    CNNCALC_UPDATE_GOLDEN set, rewrite that file (then review the diff)."""

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if os.environ.get(UPDATE_GOLDEN):
            path.write_text("\n".join(_layout(text)) + "\n", encoding="utf-8")
        assert _layout(text) == _layout(path.read_text(encoding="utf-8"))

    return check
