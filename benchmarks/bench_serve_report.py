"""Benchmark the read-only tools on a large archive: Datasette pages of `zwcrawl serve`, and `zwcrawl report`.

    .venv/bin/python benchmarks/bench_serve_report.py [--articles 20000] [--observed 2000] [--dir DIR]

The archive is built with the store directly (bench_store's synthetic articles, four a day going back from
2018-04-20, 300 author names, 40 sources), then `--observed` of them are refreshed twice with new counters.
Each page is fetched through Datasette's own client five times and the median reported.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_store import _capture, _synthetic  # noqa: E402 - a sibling script, not a package

from zwcrawl.report import write_report  # noqa: E402
from zwcrawl.serve import archive_datasette  # noqa: E402
from zwcrawl.store import Store  # noqa: E402

PAGES = [
    "/zwcrawl/articles",  # the landing table: five facets, the count, 50 rows with capture links
    f"/zwcrawl/articles.json?_search={quote('قوات النظام')}",
    "/zwcrawl/articles.json?_search=Idlib%20camps",
    "/zwcrawl/articles.json?_author=Author%2017",
    "/zwcrawl/articles_per_month_by_edition.json",
    "/zwcrawl/most_cited_sources.json",
    "/zwcrawl/most_published_authors.json",
    "/zwcrawl/article_counters.json?edition=en&article_id=100000",
]
START = datetime(2018, 4, 20, 10, tzinfo=UTC)


def build(db: Path, articles: int, observed: int) -> None:
    """An archive of `articles` articles, `observed` of them fetched three times."""
    items = _synthetic(articles)
    for n, item in enumerate(items):
        item["published"] = (START - timedelta(hours=6 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        item["authors"] = [f"Author {n % 300}"]
        item["source"] = f"Source {n % 40}"
    with Store(db, synchronous="NORMAL") as store:
        for round_, at in enumerate(("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")):
            crawl = store.start_crawl({"bench": True}, at)
            batch = items if round_ == 0 else items[:observed]
            for n, item in enumerate(batch):
                capture = store.add_capture(dict(_capture(crawl, item, n + round_ * articles), fetched_at=at))
                counted = dict(item, likes=(item["likes"] or 0) + 3 * round_)
                store.save_article(counted, crawl_id=crawl, capture_id=capture, observed_at=at)
            store.finish_crawl(crawl, "finished", {}, at)


async def _time_pages(db: Path) -> list[tuple[str, float, int]]:
    datasette = archive_datasette(db)
    await datasette.invoke_startup()
    results = []
    for path in PAGES:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            response = await datasette.client.get(path)
            runs.append(time.perf_counter() - started)
            assert response.status_code == 200, (path, response.status_code)
        results.append((path, statistics.median(runs) * 1000, len(response.content)))
    return results


def main() -> None:
    """Build the archive, time the pages and the report, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--observed", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=None, help="where the archive goes (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        archive = Path(tmp)
        started = time.perf_counter()
        build(archive / "zwcrawl.db", args.articles, args.observed)
        print(f"{args.articles} articles ({args.observed} observed 3 times) built in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        for path, ms, size in asyncio.run(_time_pages(archive / "zwcrawl.db")):
            print(f"  {ms:8.1f} ms  {size / 1000:7.1f} KB  {path}")
        started = time.perf_counter()
        write_report(archive, archive / "report.html")
        seconds = time.perf_counter() - started
        size = (archive / "report.html").stat().st_size
        print(f"  zwcrawl report: {seconds:.2f} s, {size / 1000:.0f} KB")


if __name__ == "__main__":
    main()
