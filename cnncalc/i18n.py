"""Translations: English in the code, other languages in gettext `.po` catalogs.

The catalogs are `cnncalc/locale/<lang>/LC_MESSAGES/cnncalc.po`, the standard gettext format
(edit them with any PO editor; `msgfmt --check` validates them). We read the `.po` directly
instead of shipping a compiled `.mo`: `*.mo` files are git-ignored here, a clean clone or an
editable install would otherwise have no catalog, and a build step that compiles them is one more
thing to forget. The parser below covers what our catalogs use (msgctxt-free singular entries,
multi-line strings, the standard escapes) and hands the result to the standard library's
`gettext.NullTranslations` machinery, so the rest of the code calls plain `gettext`.

Language choice: `--lang en|zh` on a command, else the `LANG` environment variable (`zh_CN.UTF-8`
→ zh), else English.
"""
from __future__ import annotations

import ast
import gettext as _gettext
import os
from pathlib import Path

LANGUAGES = ("en", "zh")
DOMAIN = "cnncalc"
LOCALE_DIR = Path(__file__).parent / "locale"


class POTranslations(_gettext.NullTranslations):
    """A gettext translations object read straight from a `.po` file."""

    def __init__(self, path: Path):
        super().__init__()
        self._catalog = parse_po(path.read_text(encoding="utf-8"))

    def gettext(self, message: str) -> str:
        text = self._catalog.get(message)
        return text if text else message


def _unquote(s: str) -> str:
    s = s.strip()
    if not (s.startswith('"') and s.endswith('"')):
        raise ValueError(f"not a PO string: {s!r}")
    # PO strings use C escapes, which a Python string literal reads the same way.
    return ast.literal_eval(s)


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr for every translated entry (the header and empty msgstr are skipped)."""
    catalog: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None

    def flush():
        if msgid is not None and msgstr is not None:
            key, value = "".join(msgid), "".join(msgstr)
            if key and value:
                catalog[key] = value

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr = [_unquote(line[6:])], None
            current = msgid
        elif line.startswith("msgstr "):
            msgstr = [_unquote(line[7:])]
            current = msgstr
        elif line.startswith('"') and current is not None:
            current.append(_unquote(line))
    flush()
    return catalog


def resolve(lang: str | None = None) -> str:
    """The language to use: the explicit choice, else LANG (zh_CN.UTF-8 → zh), else en."""
    if lang:
        return lang if lang in LANGUAGES else "en"
    env = os.environ.get("LANG", "") or ""
    code = env.split(".")[0].split("_")[0].lower()
    return code if code in LANGUAGES else "en"


_translations: dict[str, _gettext.NullTranslations] = {}
_current = _gettext.NullTranslations()
_current_lang = "en"


def translations(lang: str) -> _gettext.NullTranslations:
    if lang not in _translations:
        path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        _translations[lang] = POTranslations(path) if path.exists() else _gettext.NullTranslations()
    return _translations[lang]


def set_language(lang: str | None = None) -> str:
    """Switch the process's language; returns the one chosen."""
    global _current, _current_lang
    _current_lang = resolve(lang)
    _current = translations(_current_lang)
    return _current_lang


def current_language() -> str:
    return _current_lang


def _(message: str) -> str:
    """Translate a message id (the English text) into the current language."""
    return _current.gettext(message)


class Msg(str):
    """An English message that remembers its catalog id (the template) and its parameters.

    It is a `str` (the English text), so it travels through errors, notes and f-strings like any
    other; `tr` translates it by its id and parameters, never by matching the finished sentence,
    so rewording a message in the code cannot silently lose its translation (the catalog test
    fails instead)."""

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, **params: object) -> "Msg":
        obj = super().__new__(cls, template.format(**params))
        obj.template = template
        obj.params = params
        return obj


def msg(template: str, **params: object) -> Msg:
    """Mark a message for translation by id: `msg("kernel {k} < stride {s}", k=1, s=2)`."""
    return Msg(template, **params)


def tr(text: str) -> str:
    """Translate a finished message: a `Msg` by its id, each parameter translated in turn (a
    nested `Msg`, or a word such as "rows" that the catalog has); a parameter written inside
    quotes in the template ('{name}', a name or input the user wrote) is kept as written. Plain
    text is looked up exactly; anything unknown comes back unchanged (English)."""
    if not isinstance(text, Msg):
        return _current.gettext(text)
    template = _current.gettext(text.template)
    if template == text.template and _current_lang == "en":
        return str(text)
    values = {k: v if f"'{{{k}}}'" in text.template or not isinstance(v, str) else tr(v)
              for k, v in text.params.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return str(text)
