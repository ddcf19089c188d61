"""Benchmark an update: requests after the site gained K articles over S sections, against K + S + 3.

    .venv/bin/python benchmarks/bench_update.py [--articles 2000] [--new 20] [--quick]

A synthetic English copy (benchmarks/bench_crawl.py's generator) of `--articles` articles is crawled; then
the same site with `--new` more articles published is crawled again, and the mirror's log counts the update's
requests. Three shapes of the grown site: plain; an old article pinned at the top of every section's first
page; and a listing that shifted while the walk ran (pages after the first rendered as if 5 more articles had
appeared). The budget: K + S + 3 (robots.txt, home, feed, K articles and one listing page per section with
new articles); where a section's new articles run past its first page, the walk needs one more page per
20 articles, so the exact bound is printed too. Exit 1 when an article is missed or a case goes over its
exact bound.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench_crawl import PER_PAGE, generate_site

from zwcrawl.mirror import MirrorServer

CASES = {
    "plain": {},
    "pinned old article": {"pinned": 40_010},
    "listing shifted": {"shifted": 5},
}


def crawl(mirror: MirrorServer, archive: Path, *extra: str) -> None:
    """Run `zwcrawl crawl` on the English copy; raise with its stderr when it fails."""
    sites = [arg for spec in mirror.site_args() for arg in ("--site", spec)]
    command = [sys.executable, "-m", "zwcrawl", "crawl", "--archive", str(archive), "--edition", "en"]
    run = subprocess.run([*command, *sites, *extra], capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        raise SystemExit(f"crawl failed: {run.stderr.strip()[-400:]}")


def update(work: Path, before: int, new: int, case: str) -> tuple[int, int, int, int, int]:
    """Crawl the copy, grow it, crawl again: (requests, K, S, exact bound, articles missed)."""
    counts = {"en": before + new}
    options = CASES[case]
    site = work / "site"
    generate_site(site, counts, published={"en": before})
    archive = work / "archive"
    with MirrorServer(site, editions=["en"], ports={"en": 0}, log_path=None) as mirror:
        crawl(mirror, archive)
        grown = generate_site(
            site,
            counts,
            published={"en": before + new},
            pinned={"en": options["pinned"]} if "pinned" in options else None,
            shifted={"en": options["shifted"]} if "shifted" in options else None,
        )
        served = len(mirror.requests)
        crawl(mirror, archive)
        requests = len(mirror.requests) - served
    per_section = Counter(a.section_id for a in grown.articles["en"][before:])
    bound = new + sum(k // PER_PAGE + 1 for k in per_section.values()) + 3
    with sqlite3.connect(archive / "zwcrawl.db") as db:
        have = {row[0] for row in db.execute("select article_id from articles where edition = 'en'")}
    missed = sum(1 for a in grown.articles["en"] if a.article_id not in have)
    return requests, new, len(per_section), bound, missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000, help="articles before the update")
    parser.add_argument("--new", type=int, action="append", help="K, articles the update finds (repeatable)")
    parser.add_argument("--quick", action="store_true", help="300 articles before the update")
    args = parser.parse_args()
    before = 300 if args.quick else args.articles
    news = args.new or [20, 60]
    print(f"{'case':<20}{'K':>5}{'S':>4}{'requests':>10}{'K+S+3':>7}{'exact bound':>13}{'missed':>8}{'s':>6}")
    failed = False
    for new in news:
        for case in CASES:
            with tempfile.TemporaryDirectory(prefix="zw-update-") as tmp:
                start = time.perf_counter()
                requests, k, s, bound, missed = update(Path(tmp), before, new, case)
                seconds = time.perf_counter() - start
            print(f"{case:<20}{k:>5}{s:>4}{requests:>10}{k + s + 3:>7}{bound:>13}{missed:>8}{seconds:>6.0f}")
            failed |= bool(missed) or requests > bound
    print(
        "FAILED" if failed else f"OK: every update found all its articles within its bound ({before} before)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
