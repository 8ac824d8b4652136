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
import re
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


def _(message: str) -> str:
    """Translate a message id (the English text) into the current language."""
    return _current.gettext(message)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _pattern(msgid: str) -> re.Pattern:
    """'{axis}: kernel {k} < stride {s}' → a regex capturing each placeholder."""
    out, pos, seen = [], 0, 0
    for m in _PLACEHOLDER.finditer(msgid):
        out.append(re.escape(msgid[pos:m.start()]))
        quoted = msgid[m.start() - 1:m.start()] == "'"  # '{name}': a name or input, kept as written
        out.append(f"(?P<{'q' if quoted else 'p'}{seen}_{m.group(1)}>.+?)")
        seen += 1
        pos = m.end()
    out.append(re.escape(msgid[pos:]))
    return re.compile("^" + "".join(out) + "$", re.S)


def tr(text: str) -> str:
    """Translate a finished message (an engine note or error, numbers already filled in).

    Exact catalog entries first; then the catalog's templates with {placeholders} are matched
    as patterns and the translation is filled with the captured values, each of which is looked
    translated too ("rows" → "行"). Unknown text comes back unchanged (English)."""
    exact = _current.gettext(text)
    if exact != text or _current_lang == "en":
        return exact
    catalog = getattr(_current, "_catalog", {})
    for msgid, msgstr in catalog.items():
        if "{" not in msgid:
            continue
        m = _pattern(msgid).match(text)
        if m:
            # Captured values are shorter than the text, so this recursion ends.
            values = {k.split("_", 1)[1]: v if k.startswith("q") else tr(v) for k, v in m.groupdict().items()}
            try:
                return msgstr.format(**values)
            except (KeyError, IndexError):
                return text
    return text
