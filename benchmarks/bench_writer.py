"""Benchmark the crawl's writer thread: its work per page (captures, metadata records, article saves), alone.

    .venv/bin/python benchmarks/bench_writer.py [--articles 600] [--rounds 5] [--profile]

A synthetic copy of the site (bench_crawl.py's generator) gives the pages: each article page becomes the
exchange the capture middleware would hand over (the mirror's response headers, Scrapy's request headers) and
its extracted article. Then, into a fresh archive each round, the writes a crawl's `zwcrawl-archive` thread
makes for each page run on this thread, in the crawl's order and groups: the capture (`Archive.capture`: the
WARC response and request records, the capture row), then the pipeline's save (`ArchivePipeline._store`: the
extraction health reading, the metadata record and its row, the article's rows). Printed: this thread's CPU
time per page (`time.thread_time`, so waits for fsync and commits are not in it; it does include the work
done without the GIL: zlib, SHA-1, SQLite's own), the lowest and the median of the rounds. A neighbour's load
still moves CPU time; for a figure that does not move, count instructions: run it under
`valgrind --tool=cachegrind` with `--rounds 1 --leave-open --write 0` and `--write N` (the same copy, only
the writes differ; the archive not closed, so its CDXJ index is not counted) and divide the difference by N
(benchmarks/README.md, "Fourth round"). With `--profile`, one round under cProfile, its top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scrapy.utils.test import get_crawler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_crawl import generate_site  # noqa: E402 - the same generator as the crawl benchmarks'

from zwcrawl import settings as crawl_settings  # noqa: E402
from zwcrawl.archive import Archive  # noqa: E402
from zwcrawl.article import Article  # noqa: E402
from zwcrawl.extract import extract_article  # noqa: E402
from zwcrawl.health import CORE_FIELDS, Reading, Thresholds  # noqa: E402
from zwcrawl.items import ArticleFetched  # noqa: E402
from zwcrawl.pipelines import ArchivePipeline  # noqa: E402
from zwcrawl.site import ORIGINS, article_url  # noqa: E402
from zwcrawl.warc import Exchange  # noqa: E402

CRAWL_SETTINGS = {name: value for name, value in vars(crawl_settings).items() if name.isupper()}
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) zwcrawl/0.1 (archiving crawler)"


def _pages(site: Path) -> list[tuple[Exchange, Article]]:
    """Each generated article page as its exchange and its extracted article."""
    pages, fetched = [], datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    for n, path in enumerate(sorted(site.glob("*/news/article/*.html"))):
        edition = next(name for name, origin in ORIGINS.items() if origin.endswith("//" + path.parts[-4]))
        port = 8001 + sorted(ORIGINS).index(edition)  # each edition's copy on a port of its own
        body, url = path.read_bytes(), f"http://127.0.0.1:{port}/news/article/{path.stem}"
        request_headers = [
            ("Host", f"127.0.0.1:{port}"),
            ("Referer", f"http://127.0.0.1:{port}/news/articles/1/1"),
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("Accept-Language", "en,ar;q=0.8"),
            ("User-Agent", USER_AGENT),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ]
        response_headers = [
            ("Content-Length", str(len(body))),
            ("Server", "zwcrawl-mirror"),
            ("Date", "Mon, 30 Nov 2026 12:00:00 GMT"),
            ("Content-Type", "text/html; charset=utf-8"),
        ]
        when = fetched + timedelta(seconds=n)
        exchange = Exchange(
            url, "GET", request_headers, b"", 200, "OK", response_headers, body, when, "127.0.0.1"
        )
        article = Article.from_dict(extract_article(body, article_url(edition, int(path.stem))))
        pages.append((exchange, article))
    return pages


def _round(
    directory: Path,
    pages: list[tuple[Exchange, Article]],
    profile: cProfile.Profile | None,
    close: bool = True,
) -> float:
    """One crawl's writes into a fresh archive; the seconds of CPU this thread spent on them."""
    crawler = get_crawler(settings_dict={**CRAWL_SETTINGS, "ZW_ARCHIVE": str(directory)})
    archive = Archive(crawler)
    archive.open({})
    archive._writes.close()  # the writes run here, on this thread, in the groups the writer thread makes
    archive._writes = None
    pipeline = ArchivePipeline(archive, Thresholds.from_settings(crawler.settings))
    started = time.thread_time()
    if profile is not None:
        profile.enable()
    for exchange, article in pages:
        with archive._group():
            capture = archive.capture(exchange)
        found = dict.fromkeys(CORE_FIELDS, "layout")
        reading = Reading(article.url, article.edition, article.article_id, found, len(article.body or ""))
        observed = exchange.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        item = ArticleFetched(article, exchange.url, 200, observed, capture=capture, reading=reading)
        with archive._group():
            pipeline._store(item)
    if profile is not None:
        profile.disable()
    spent = time.thread_time() - started
    if close:
        archive.close("finished")
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=600, help="articles in the copy (two thirds English)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="one round under cProfile instead")
    parser.add_argument("--write", type=int, metavar="N", help="write only the first N pages")
    parser.add_argument("--leave-open", action="store_true", help="do not close the archives (nor index)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-writer-") as work:
        english = round(args.articles * 2 / 3)
        counts = {name: n for name, n in (("en", english), ("ar", args.articles - english)) if n > 0}
        if counts:
            generate_site(Path(work, "site"), counts)
        pages = _pages(Path(work, "site"))[: args.write]
        import zwcrawl

        print(f"zwcrawl from {Path(zwcrawl.__file__).parent}; {len(pages)} article pages", flush=True)
        if args.profile:
            profile = cProfile.Profile()
            _round(Path(work, "archive-profile"), pages, profile)
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
            return 0
        spent = [
            _round(Path(work, f"archive-{n}"), pages, None, close=not args.leave_open)
            for n in range(args.rounds)
        ]
    if pages:
        per_page = [1000 * seconds / len(pages) for seconds in spent]
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"writer work: {min(per_page):.3f} ms of CPU a page at best, {statistics.median(per_page):.3f} "
            f"median, over {len(spent)} rounds; load average {load}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
