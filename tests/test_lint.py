"""Lint and dead code are part of the test command: ruff (pyproject.toml's [tool.ruff]) on the
package, the tests and the benchmarks, vulture ([tool.vulture]) on the package. A failure prints
the tools' own report."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tool: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    # `python -m` finds the tool installed beside this Python (the test extra), not one on PATH.
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=cwd, capture_output=True, text=True)


def _require(module: str) -> None:
    """Missing tools are an installation error, not a pass: the test extra installs both."""
    if _run(module, "--version").returncode != 0:
        pytest.fail(f"{module} is not installed; pip install -e '.[test]'")


def test_ruff():
    _require("ruff")
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise", "cnncalc", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_vulture():
    _require("vulture")
    result = _run("vulture")  # paths, whitelist and confidence from pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tools_catch_what_they_guard(tmp_path: Path):
    """With this project's settings, an unused function and an unused import are reported."""
    _require("ruff")
    _require("vulture")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "cnncalc").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "vulture_whitelist.py").write_text("", encoding="utf-8")
    (tmp_path / "cnncalc" / "dead.py").write_text("import os\n\n\ndef never_called() -> int:\n    return 1\n",
                                                  encoding="utf-8")
    assert "F401" in _run("ruff", "check", "--no-cache", "cnncalc", cwd=tmp_path).stdout
    assert "never_called" in _run("vulture", cwd=tmp_path).stdout
