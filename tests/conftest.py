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
