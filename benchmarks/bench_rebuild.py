"""Benchmark `zwcrawl rebuild`: a synthetic copy of the site crawled, then its database rebuilt.

    .venv/bin/python benchmarks/bench_rebuild.py [--articles 2000] [--dir DIR] [--keep] [--timeout 900]

The archive is made the way bench_crawl.py makes one (its generated site, served on 127.0.0.1 and crawled by
`python -m zwcrawl crawl` in a child process), so the rebuild reads exactly what a crawl writes. The database
is then rebuilt three times from the WARC files, each in a child process: with today's extractor on every
CPU (the default), with one extraction process (`--workers 1`), and `--from-metadata` (no extraction).
Exit 1 when a step fails or a rebuilt database differs from the crawled one in its articles.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_crawl import generate_site, run_child  # noqa: E402 - the same generator and timer as the crawl's

from zwcrawl.mirror import MirrorServer  # noqa: E402

_STEPS = (
    ("rebuild", []),
    ("rebuild --workers 1", ["--workers", "1"]),
    ("rebuild --from-metadata", ["--from-metadata"]),
)


def _query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def _articles(db: Path) -> list[tuple]:
    return _query(db, "select edition, article_id, headline, body, published from articles order by 1, 2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000, help="articles, two thirds en, one third ar")
    parser.add_argument("--dir", type=Path, help="make the temporary directory here (to measure a disk)")
    parser.add_argument("--keep", action="store_true", help="keep the site copy and the archive afterwards")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-rebuild-", dir=args.dir))
    try:
        return _bench(work, args.articles, args.timeout)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _bench(work: Path, articles: int, timeout: float) -> int:
    counts = {"en": articles - articles // 3, "ar": articles // 3}
    site = generate_site(work / "site", counts)
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPU(s); {counts['en']} en + {counts['ar']} ar"
    )
    archive = work / "archive"
    server = MirrorServer(site.root).start()
    try:
        sites = [arg for spec in server.site_args() for arg in ("--site", spec)]
        crawl = run_child(
            [sys.executable, "-m", "zwcrawl", "crawl", "--archive", str(archive), *sites],
            work,
            "crawl",
            timeout,
        )
    finally:
        server.stop()
    if crawl.returncode != 0:
        print(f"crawl failed ({crawl.returncode}): {crawl.stderr[-500:]}")
        return 1
    db = archive / "zwcrawl.db"
    pages = _query(db, "select count(*) from captures where record_type in ('response', 'revisit')")[0][0]
    crawled = _articles(db)
    warc_bytes = sum(p.stat().st_size for p in (archive / "warc").glob("*.warc.gz"))
    table = [("crawl", pages, len(crawled), crawl.seconds, crawl.peak_rss_kb)]
    failed = False
    for label, extra in _STEPS:
        run = run_child([sys.executable, "-m", "zwcrawl", "rebuild", "--archive", str(archive), *extra],
                        work, label.replace(" ", "_"), timeout)  # fmt: skip
        for backup in archive.glob("zwcrawl.db.bak-*"):
            backup.unlink()
        same = run.returncode == 0 and _articles(db) == crawled
        failed |= not same
        if not same:
            print(f"{label}: exit {run.returncode}, or its articles differ")
            print(run.stdout[-500:] + run.stderr[-500:])
        table.append((label, pages, len(crawled), run.seconds, run.peak_rss_kb))
    print(f"WARC files: {warc_bytes:,} bytes\n")
    print("| step | pages | articles | seconds | pages/s | x crawl | peak RSS MB (main process) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    crawl_rate = pages / crawl.seconds
    for label, n, arts, seconds, rss in table:
        rate = n / seconds
        times = rate / crawl_rate
        print(f"| {label} | {n} | {arts} | {seconds:.1f} | {rate:.0f} | {times:.1f} | {rss / 1024:.0f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
