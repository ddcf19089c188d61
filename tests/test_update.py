"""Updates: real crawls of a generated copy that then gains articles; the mirror's log counts the requests."""

from __future__ import annotations

import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import site_flags, zwcrawl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_crawl import PER_PAGE, generate_site  # noqa: E402  (the benchmarks' site generator, reused)

BEFORE = 100


def _update(tmp_path: Path, mirror_factory, new: int, **shape) -> dict:
    """Crawl BEFORE articles, publish `new` more (in the given shape), crawl again: what the update did."""
    counts = {"en": BEFORE + new}
    site = tmp_path / "site"
    generate_site(site, counts, published={"en": BEFORE})
    archive = tmp_path / "archive"
    mirror = mirror_factory(site, editions=["en"])
    first = zwcrawl("crawl", "--archive", archive, "--edition", "en", *site_flags(mirror))
    assert first.returncode == 0, first.stderr
    grown = generate_site(site, counts, published={"en": BEFORE + new}, **shape)
    served = len(mirror.requests)
    second = zwcrawl("crawl", "--archive", archive, "--edition", "en", *site_flags(mirror))
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(archive / "zwcrawl.db") as db:
        have = {row[0] for row in db.execute("select article_id from articles")}
    per_section = Counter(a.section_id for a in grown.articles["en"][BEFORE:])
    return {
        "requests": [r.path for r in mirror.requests[served:]],
        "missed": [a.article_id for a in grown.articles["en"] if a.article_id not in have],
        "budget": new + len(per_section) + 3,
        "bound": new + sum(k // PER_PAGE + 1 for k in per_section.values()) + 3,
    }


def test_an_update_costs_k_plus_s_plus_3_requests(tmp_path, mirror_factory):
    update = _update(tmp_path, mirror_factory, 20)
    assert update["missed"] == []
    assert len(update["requests"]) <= update["budget"], update["requests"]


@pytest.mark.parametrize(
    "shape",
    [{"pinned": {"en": 40_010}}, {"shifted": {"en": 5}}, {"pinned": {"en": 40_010}, "shifted": {"en": 7}}],
    ids=["pinned old article", "listing shifted during the walk", "both"],
)
def test_an_update_misses_nothing_whatever_the_listing_shows(tmp_path, mirror_factory, shape):
    # 100 new over four sections: each section's first page is new but for a pinned article, so a walk
    # stopped by the archived article at the top of the page would miss the new ones on the next.
    update = _update(tmp_path, mirror_factory, 100, **shape)
    assert update["missed"] == []
    assert len(update["requests"]) <= update["bound"], update["requests"]
