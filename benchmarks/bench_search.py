"""Benchmark `zwcrawl search` at the size of the whole site, against the same queries on 1,000 articles.

    .venv/bin/python benchmarks/bench_search.py [--articles 250000] [--small 1000] [--runs 20] [--dir DIR]

Articles (English and Arabic in the site's proportion, bodies of 4 to 10 paragraphs of reshuffled fixture
words, dates spread over 2011-2026) are saved through the project's own Store, so the search triggers and the
folding are the real ones; synchronous=NORMAL is the only shortcut. For each query: the query itself
(Store.search, p50 and p95 of `--runs`), and the whole command (`python -m zwcrawl search`, median of 3) on
both sizes, with the plan SQLite chose (EXPLAIN QUERY PLAN).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_store import T0, _capture, _synthetic

from zwcrawl.store import ArticleFilter, Store

QUERIES = [
    ("common word", "the", {}, "relevance"),
    ("rare word", "Yarmouk", {}, "relevance"),
    ("Arabic phrase", '"قوات النظام"', {}, "relevance"),
    ("date + source", "regime", {"since": "2016-01-01", "until": "2016-12-31", "source": "AFP"}, "relevance"),
    ("--order newest", "Idlib", {}, "newest"),
]


def build(path: Path, count: int, seed: int = 1) -> float:
    """Save `count` synthetic articles into a new archive at path; seconds taken."""
    rng = random.Random(seed)
    started = time.perf_counter()
    path.mkdir(parents=True, exist_ok=True)
    with Store(path / "zwcrawl.db", synchronous="NORMAL") as store:
        crawl = store.start_crawl({"bench": True}, T0)
        for start in range(0, count, 5000):
            items = _synthetic(min(5000, count - start), seed=seed + start)
            for n, item in enumerate(items, start):
                day = rng.randrange(15 * 365)
                item.update(
                    article_id=100_000 + n,
                    url=f"{item['url'].rsplit('/', 1)[0]}/{100_000 + n}",
                    published=f"{2011 + day // 365}-{1 + day % 365 // 31:02d}-{1 + day % 28:02d}T10:00:00Z",
                )
                capture = store.add_capture(_capture(crawl, item, n))
                store.save_article(item, crawl_id=crawl, capture_id=capture, observed_at=T0)
    return time.perf_counter() - started


def command_seconds(archive: Path, query: str, filters: dict, order: str) -> float:
    """The whole `zwcrawl search` command, median of 3 runs."""
    args = [sys.executable, "-m", "zwcrawl", "search", "--archive", str(archive), query, "--order", order]
    args += [arg for name, value in filters.items() for arg in (f"--{name}", value)]
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(args, capture_output=True, check=True)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def query_ms(archive: Path, runs: int) -> dict[str, tuple[float, float, int]]:
    """Store.search per query: (p50 ms, p95 ms, hits)."""
    out = {}
    with Store(archive / "zwcrawl.db", read_only=True) as store:
        for label, query, filters, order in QUERIES:
            chosen = ArticleFilter.parse(**filters)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                hits = len(store.search(query, 20, filters=chosen, order=order))
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            out[label] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], hits)
    return out


def plans(archive: Path) -> None:
    """Print SQLite's plan for each query's statement (the one Store.search runs)."""
    import sqlite3

    from zwcrawl.store.query import search_query

    with sqlite3.connect(f"file:{archive / 'zwcrawl.db'}?mode=ro", uri=True) as db:
        for label, query, filters, order in QUERIES:
            where, params = ArticleFilter.parse(**filters).where("a")
            by = "a.published DESC" if order == "newest" else "bm25(articles_fts, 5.0, 1.0)"
            sql = (
                "SELECT a.article_id FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid"
                f" WHERE articles_fts MATCH ? AND {where} ORDER BY {by} LIMIT 20"
            )
            steps = db.execute("EXPLAIN QUERY PLAN " + sql, (search_query(query), *params)).fetchall()
            print(f"  {label}: " + "; ".join(step[-1] for step in steps))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=250_000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="zw-search-") as tmp:
        sizes = {}
        for count in (args.small, args.articles):
            archive = Path(tmp) / str(count)
            seconds = build(archive, count)
            size = sum(p.stat().st_size for p in archive.glob("zwcrawl.db*"))
            print(
                f"{count:,} articles saved in {seconds:.0f} s: "
                f"db {size / 1e6:.0f} MB, {size / count:,.0f} B each"
            )
            sizes[count] = archive
        print("\nquery itself (Store.search, limit 20)  and the whole command (python -m zwcrawl search)")
        print(
            f"{'query':<16}{'hits':>6}{'p50 ms':>8}{'p95 ms':>8}   "
            f"{'cmd small s':>11}{'cmd big s':>10}{'ratio':>7}"
        )
        big = query_ms(sizes[args.articles], args.runs)
        failed = False
        for label, query, filters, order in QUERIES:
            p50, p95, hits = big[label]
            cmd_small = command_seconds(sizes[args.small], query, filters, order)
            cmd_big = command_seconds(sizes[args.articles], query, filters, order)
            ratio = cmd_big / cmd_small
            print(
                f"{label:<16}{hits:>6}{p50:>8.1f}{p95:>8.1f}   "
                f"{cmd_small:>11.2f}{cmd_big:>10.2f}{ratio:>7.2f}"
            )
            failed |= p95 >= 50 or ratio > 1.5
        print("\nEXPLAIN QUERY PLAN on the big archive:")
        plans(sizes[args.articles])
    print("FAILED: a goal is missed (p95 < 50 ms, command within 1.5x)" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
