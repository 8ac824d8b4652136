"""A plain `pip install .` must carry every subpackage and the zoo: the CLI imports them all at start."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "cnncalc").rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert "cnncalc.architectures" in listed
    catalogs = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "cnncalc" / "locale").rglob("*.po")}
    assert catalogs - listed == set(), "list each language's LC_MESSAGES folder as a package"
    assert config["tool"]["setuptools"]["package-dir"]["cnncalc.architectures"] == "architectures"
