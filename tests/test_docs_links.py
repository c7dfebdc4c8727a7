"""The README is a short front door, and every relative link in it and in docs/ leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from motionlib import paths

ROOT = paths.REPO_ROOT
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target); the target stops at whitespace or ')' (an optional "title" is ignored).
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE = re.compile(r"`[^`\n]*`")


def _links(text: str) -> list[str]:
    text = CODE.sub("", FENCE.sub("", text))
    return LINK.findall(text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    text = text.lower().replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M):
        slug = _slug(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _relative(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) and not target.startswith("//")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file_and_anchor(page):
    broken = []
    for target in _links(page.read_text(encoding="utf-8")):
        if not _relative(target):
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


def test_the_readme_is_a_front_door_with_the_teaser_first():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200, "README.md is over 200 lines: move depth into docs/"
    images = re.findall(r"!\[[^\]]*\]\(\s*([^)\s]+)", CODE.sub("", FENCE.sub("", text)))
    assert images, "README.md shows no image"
    assert images[0] == "docs/figures/teaser.png", f"README.md's first image is {images[0]}, not the teaser"
    teaser = ROOT / images[0]
    assert teaser.is_file(), "docs/figures/teaser.png is missing: python scripts/make_teaser.py"
    assert teaser.stat().st_size <= 150 * 1024, "the teaser is over 150 KB"
    assert "python scripts/make_teaser.py" in text, "README.md does not say how to regenerate the teaser"


def test_the_anchor_rule_matches_githubs():
    assert _slug("Memory and time at the paper's settings (GPU)") == "memory-and-time-at-the-papers-settings-gpu"
    assert _slug("Batched sampling, step-synchronous sweeps, `--compile`") == \
        "batched-sampling-step-synchronous-sweeps---compile"
    assert _slug("Fig. 1-2: what the resampling sweep computes") == "fig-1-2-what-the-resampling-sweep-computes"
