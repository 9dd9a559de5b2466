"""Contract citations resolve, and nothing points outside the repository.

Code, tests, benchmarks and docs cite sections of docs/contracts/ by number; each number must
be the start of a heading there, so a renumbered or deleted section cannot leave a citation
that leads nowhere. The repository stands alone, so no file may name a path next to it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "docs" / "contracts"
# Spelled by code point so this file's own examples are not citations the scan would find.
SIGN = "\u00a7"
CITATION = re.compile(SIGN + r"(\d+(?:\.\d+)*)")
# A section is a heading of level 2 or deeper that starts with its number ("## 2.10 Errors");
# a file's title (level 1) is not a section, so a bare "2" for a whole platform is refused.
HEADING = re.compile(r"^#{2,6}\s+(\d+(?:\.\d+)*)\s", re.MULTILINE)
# A path outside the repository: the folder next to it, however it is spelled. Web
# addresses are left out first: a vendor's page path may hold a folder of that name.
OUTSIDE = re.compile(r"\bshared[/\\]")
URL = re.compile(r"https?://\S+")


def cited_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in ("briefcast", "tests", "bench"):
        files += sorted((ROOT / folder).rglob("*.py"))
    files += sorted((ROOT / "docs").rglob("*.md"))
    files += sorted((ROOT / "bench").rglob("*.md"))
    return files


def sections(docs: Iterable[Path]) -> Counter[str]:
    return Counter(number for doc in docs for number in HEADING.findall(doc.read_text()))


def dangling(text: str, known: Iterable[str]) -> list[str]:
    """The cited numbers of `text` with no heading, and any section sign that cites nothing
    (other than the sign named in "Section numbers (§) refer to docs/contracts/.")."""
    known = set(known)
    bad = [number for number in CITATION.findall(text) if number not in known]
    bare = text.count(SIGN) - len(CITATION.findall(text)) - text.count(f"({SIGN})")
    return bad + [SIGN] * bare


def test_every_citation_resolves_to_a_contract_heading() -> None:
    known = sections(CONTRACTS.glob("*.md"))
    problems = {
        str(path.relative_to(ROOT)): found
        for path in cited_files()
        if (found := dangling(path.read_text(encoding="utf-8"), known))
    }
    assert problems == {}


def test_citations_are_found_at_all() -> None:
    # Guards the scan itself: the adapters cite sections, so an empty scan means a broken one.
    cited = {n for p in cited_files() for n in CITATION.findall(p.read_text(encoding="utf-8"))}
    assert {"1.7", "2.10", "2.13", "3.7", "3.10", "0.2"} <= cited


def test_section_numbers_are_unique() -> None:
    known = sections(CONTRACTS.glob("*.md"))
    assert {n for n, count in known.items() if count > 1} == set()
    assert {"0.1", "1.1", "2.1", "2.13", "3.1", "3.10", "4.1"} <= set(known)


def test_a_dangling_citation_is_reported() -> None:
    known = sections(CONTRACTS.glob("*.md"))
    text = f"ok {SIGN}2.10, a gone {SIGN}2.99, a whole platform {SIGN}2, a stray {SIGN} sign"
    assert dangling(text, known) == ["2.99", "2", SIGN]
    assert dangling(f"the end of a sentence, {SIGN}3.10.", known) == []
    assert dangling(f"Section numbers ({SIGN}) refer to docs/contracts/.", known) == []


def test_no_file_points_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in cited_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(URL.sub("", line))
    ]
    assert offenders == []


def test_the_outside_pattern_matches_what_it_must() -> None:
    folder = "shared"
    for spelled in (f"../{folder}/design.md", f"../../{folder}/x", f"`{folder}/data/`"):
        assert OUTSIDE.search(spelled), spelled
    assert not OUTSIDE.search("LinkedIn's shared-image size, a shared (CGNAT) address")
    page = f"see https://learn.microsoft.com/en-us/linkedin/{folder}/api-guide/concepts/x"
    assert OUTSIDE.search(page) and not OUTSIDE.search(URL.sub("", page))
