"""The documentation points only at files that exist, and only at files in this repository.

Checked: every Markdown link in README.md and docs/*.md (the file, and the heading when the link
names one), every `docs/….md` path written anywhere in the docs, the code, the tests, the
benchmarks and the built-in architectures, and that none of them mentions the design notes kept
outside the repository (docs/design.md is the project's own)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Every text file a user or developer reads: the product, its docs, its tests and examples.
TEXT_ROOTS = ("cnncalc", "tests", "benchmarks", "architectures", "examples", "docs", ".ci")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".po", ".txt", ""}
OUTSIDE = "DESIGN" + ".md"  # spelt in two parts so this file does not mention it itself

INLINE_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)
DOCS_PATH = re.compile(r"(?<![\w/.])docs/[\w./-]+?\.md\b")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def _text_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for top in TEXT_ROOTS:
        files += [p for p in sorted((ROOT / top).rglob("*"))
                  if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts]
    return files


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    text = FENCE.sub("", markdown.read_text(encoding="utf-8"))
    return {_slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}


def _links(markdown: Path) -> list[str]:
    text = FENCE.sub("", markdown.read_text(encoding="utf-8"))  # code samples are not links
    text = re.sub(r"`[^`\n]*`", "", text)
    return INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)


def broken_links(markdown: Path) -> list[str]:
    """The links in one Markdown file whose file (or heading) does not exist."""
    broken = []
    for target in _links(markdown):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: … are not files here
            continue
        path, _, anchor = target.partition("#")
        resolved = (markdown.parent / path).resolve() if path else markdown
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {resolved.name})")
    return broken


def missing_docs_paths(text: str) -> list[str]:
    """`docs/….md` paths (relative to the repository root) that name no file."""
    return [p for p in DOCS_PATH.findall(text) if not (ROOT / p).is_file()]


@pytest.mark.parametrize("markdown", MARKDOWN, ids=lambda p: p.name)
def test_markdown_links_resolve(markdown: Path):
    assert broken_links(markdown) == []


def test_docs_paths_in_text_exist():
    missing = {str(f.relative_to(ROOT)): bad for f in _text_files()
               if (bad := missing_docs_paths(f.read_text(encoding="utf-8", errors="replace")))}
    assert missing == {}


def test_nothing_mentions_the_notes_outside_the_repository():
    mentions = [str(f.relative_to(ROOT)) for f in _text_files()
                if OUTSIDE in f.read_text(encoding="utf-8", errors="replace")]
    assert mentions == []


def test_the_checks_catch_what_they_guard(tmp_path: Path):
    """The helpers above flag a broken link, a missing heading and a missing docs path."""
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](nowhere.md) [bad anchor](#nothing)\n"
                    "```\n[in code](ignored.md)\n```\n", encoding="utf-8")
    assert broken_links(page) == ["nowhere.md (no such file)", "#nothing (no heading #nothing in page.md)"]
    missing = "docs/" + "missing.md"  # spelt in two parts so this file does not name it itself
    assert missing_docs_paths(f"see docs/design.md and {missing}") == [missing]
