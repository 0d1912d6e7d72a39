"""The README is a short entrance and every relative link in README.md and docs/**/*.md lands:
the file exists, and a `#anchor` names a heading of that file by GitHub's slug rules (or an
explicit `<a id="...">`).

GitHub's slug: the heading's text as rendered (no Markdown marks), lower-cased, every character
that is not a letter, digit, `_`, `-` or space removed, spaces turned into `-`; a repeated
slug gets `-1`, `-2`, ... in order.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_LIMIT = 16 * 1024   # bytes: one screen of what it is, two commands, a tour and the links
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) and ![alt](target); the target may carry a "title" after a space
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_ANCHOR = re.compile(r"<a\s+(?:[^>]*\s)?(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def prose_lines(text: str, blank_code: bool = True) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks; inline code spans blanked out unless told."""
    lines, fenced = [], False
    for number, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line) if blank_code else line))
    return lines


def heading_text(markdown: str) -> str:
    """A heading as GitHub renders it to text: links as their text, no emphasis marks or tags, code
    spans as their literal content."""
    parts = []
    for index, piece in enumerate(CODE_SPAN.split(markdown)):
        if index % 3 == 2:        # a code span's content, literal
            parts.append(piece)
        elif index % 3 == 0:      # prose
            piece = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", piece)
            piece = re.sub(r"<[^>]+>", "", piece)
            parts.append(re.sub(r"(\*\*|__|\*|(?<!\w)_|_(?!\w))", "", piece))
    return "".join(parts)


def slug(heading: str) -> str:
    text = heading_text(heading).strip().lower()
    kept = "".join(ch for ch in text
                   if ch in "-_ " or unicodedata.category(ch)[0] in "LMN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found, seen = set(), {}
    for _, line in prose_lines(text, blank_code=False):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    # explicit anchors, also inside headings or list items
    found.update(HTML_ANCHOR.findall(text))
    return found


def links(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        found += [(number, target) for target in INLINE_LINK.findall(line)]
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            found.append((number, definition.group(1)))
    return found


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)) or target.startswith("//")


def broken_links(path: Path) -> list[str]:
    problems = []
    for number, target in links(path):
        if not target or is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}:{number}: ({target})"
        if not destination.exists():
            problems.append(f"{where} points to {file_part}, which does not exist")
        elif anchor:
            if destination.suffix.lower() != ".md" or destination.is_dir():
                problems.append(f"{where} has an anchor, but {file_part} is not a Markdown page")
            elif anchor not in anchors(destination):
                problems.append(f"{where}: no heading in {destination.relative_to(ROOT)} has the slug '{anchor}'")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_and_anchor_lands(page):
    problems = broken_links(page)
    assert not problems, "\n".join(problems)


def test_readme_is_a_short_entrance():
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_LIMIT, (f"README.md is {size:,} bytes, over {README_LIMIT:,}: move the detail into a "
                                  "page of docs/ and link it")


def test_every_docs_page_is_linked_from_the_readme():
    """A user finds each page by its name from the entrance."""
    linked = {(ROOT / target.partition("#")[0]).resolve()
              for _, target in links(ROOT / "README.md") if not is_external(target)}
    missing = [str(page.relative_to(ROOT)) for page in sorted((ROOT / "docs").glob("*.md"))
               if page.resolve() not in linked]
    assert not missing, f"not linked from README.md: {missing}"


def test_readme_keeps_the_two_set_up_commands_and_the_screenshots():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "```bash\nmake run\n```" in text and "```bash\nmake test\n```" in text
    shown = set(re.findall(r"\(docs/screenshots/([^)]+\.png)\)", text))
    assert shown == {path.name for path in (ROOT / "docs" / "screenshots").glob("*.png")}


@pytest.mark.parametrize("heading, expected", [
    ("Time budget and early stop", "time-budget-and-early-stop"),
    ("GPU and CPU", "gpu-and-cpu"),
    ("Host names (DNS rebinding)", "host-names-dns-rebinding"),
    ("Starting, and each page's address", "starting-and-each-pages-address"),
    ("cli/ — `python -m hgym_core`", "cli--python--m-hgym_core"),
    ("data/ — tables in, tables out", "data--tables-in-tables-out"),
    ("**Bold** and [a link](x.md)", "bold-and-a-link"),
    ("`_common.py` and `__init__`", "_commonpy-and-__init__"),
    ("Additions to training (TrainConfig options; off in `health-gym`)",
     "additions-to-training-trainconfig-options-off-in-health-gym"),
    ("Quality on real tables (2026-12-03)", "quality-on-real-tables-2026-12-03"),
])
def test_slugs_follow_githubs_rules(heading, expected):
    assert slug(heading) == expected


def test_the_checker_finds_a_dead_file_a_dead_anchor_and_skips_code(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "other.md").write_text("# Other page\n\n## A section\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n## Same\n\n## Same\n\n"
                    "[ok](other.md#a-section) [ok](#same-1) [ok](https://example.org/#x) `[no](gone.md)`\n"
                    "[dead](gone.md) [dead anchor](other.md#nowhere) [dead here](#same-2)\n\n"
                    "```\n[in code](gone.md)\n# not a heading\n```\n", encoding="utf-8")
    problems = broken_links(page)
    assert len(problems) == 3, problems
    assert "gone.md, which does not exist" in problems[0]
    assert "'nowhere'" in problems[1] and "'same-2'" in problems[2]
