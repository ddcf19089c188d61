"""Benchmark `zwcrawl search` at the size of the whole site, against the same queries on 1,000 articles.

    .venv/bin/python benchmarks/bench_search.py [--articles 250000] [--small 1000] [--runs 20] [--dir DIR]
        [--keep DIR] [--store-articles N]

Articles (fixture articles with new ids, English and Arabic as the fixtures mix them, bodies of 4 to 10
paragraphs drawn from a pool of reshuffled fixture words, with made-up names drawn by Zipf's law so that rare
words are rare, dates spread over 2011-2026) are saved through the
project's own Store, 5,000 to a transaction (Store.batch) with synchronous=OFF for this scratch build, so the
search triggers and the folding are the real ones; then the search index is optimized, as rebuild does.
`--store-articles N` saves only N that way and makes the rest in SQL (a paragraph of one saved article and
the rest of another), through the same triggers: for a machine too loaded to save 250,000 in time. `--keep
DIR` builds into DIR/COUNT, or reuses what is there. For each query: the query itself (Store.search: p50 and
p95 of `--runs`, the median CPU time, and beside it the CPU time of the same search ranking every match,
`rank_all=True`), and the whole command (`python -m zwcrawl search`, median of 5,
the two sizes interleaved), with SQLite's plans for the two statements a search runs.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench_store import EXPECTED, T0, _capture

from zwcrawl.store import ArticleFilter, Store
from zwcrawl.store.query import search_query
from zwcrawl.store.schema import FACET_MARK
from zwcrawl.store.search_plan import explain, narrowed

PARAGRAPHS = 5000  # per edition
TAIL_WORDS = 50_000  # made-up names per edition, drawn by Zipf's law
TAIL_PER_ARTICLE = 20  # names drawn for each article: one in its headline, the rest in its body
# Syllables of the made-up names: a name is its Zipf rank (plus 400) written in this base.
_SYLLABLES = {
    "en": "ka fr zi ta ma ra bel dun sar hal qas mir nab tal jis rin hur dam sha wad",
    "ar": "كا فر زي تا ما را بل دن سر حل قص مر نب تل جس رن حر دم شا وا",
}
BATCH = 5000  # articles per transaction


def tail_word(edition: str, rank: int) -> str:
    """The made-up name of Zipf rank `rank` (1 the most frequent) in the edition's vocabulary tail."""
    syllables = _SYLLABLES[edition].split()
    name = ""
    rank += len(syllables) ** 2  # three syllables at least: no name is a short word of the fixtures
    while True:
        rank, digit = divmod(rank, len(syllables))
        name += syllables[digit]
        if rank == 0:
            return name.capitalize() if edition == "en" else name


# What each matches on 250,000 articles: Syria is in most English articles (as on the site), the made-up
# name of Zipf rank 2,000 in about 175, the phrase in about 1,900; regime is in most articles, 2016's AFP
# ones about 800; Idlib in about a third.
QUERIES = [
    ("common word", "Syria", {}, "relevance"),
    ("rare word", tail_word("en", 2000), {}, "relevance"),
    ("Arabic phrase", '"قوات النظام"', {}, "relevance"),
    ("date + source", "regime", {"since": "2016-01-01", "until": "2016-12-31", "source": "AFP"}, "relevance"),
    ("--order newest", "Idlib", {}, "newest"),
]


def articles(count: int, seed: int = 1) -> Iterator[dict]:
    """`count` article items: fixture articles with new ids, dates over 2011-2026 and bodies from a pool,
    each with names drawn from a Zipf-distributed vocabulary of TAIL_WORDS made-up names."""
    rng = random.Random(seed)
    items = [json.loads(p.read_text("utf-8")) for p in sorted(EXPECTED.glob("*/*.json"))]
    items = [item for item in items if item.get("is_article")]
    words = {e: [w for i in items if i["edition"] == e for w in i["body"].split()] for e in ("en", "ar")}
    # Paragraphs drawn once: drawing each body's words afresh took a sixth of the build's time.
    pool = {
        edition: [" ".join(rng.choices(words[edition], k=rng.randint(30, 80))) for _ in range(PARAGRAPHS)]
        for edition in words
    }
    # The fixtures hold a few hundred words: alone, every word would be in a good share of the articles. Real
    # text has a long tail (names of people, places, units), drawn here as Zipf's law has it: rank r is drawn
    # in proportion to 1/r, so rank 1 is in most articles and rank 5,000 in a few dozen of 250,000.
    tail = list(itertools.accumulate(1 / rank for rank in range(1, TAIL_WORDS + 1)))
    for n in range(count):
        item = items[n % len(items)]
        edition = item["edition"]
        day = rng.randrange(15 * 365)
        paragraphs = rng.choices(pool[edition], k=rng.randint(4, 10))
        names = [tail_word(edition, rank + 1) for rank in _draw(rng, tail, TAIL_PER_ARTICLE)]
        for name in names[1:]:
            paragraphs[rng.randrange(len(paragraphs))] += " " + name
        yield {
            **item,
            "article_id": 100_000 + n,
            "url": f"{item['url'].rsplit('/', 1)[0]}/{100_000 + n}",
            "published": f"{2011 + day // 365}-{1 + day % 365 // 31:02d}-{1 + day % 28:02d}T10:00:00Z",
            "headline": " ".join([*rng.choices(words[edition], k=9), names[0]]),
            "body": "\n\n".join(paragraphs),
        }


def _draw(rng: random.Random, cumulative: list[float], k: int) -> list[int]:
    """`k` indexes drawn by the cumulative weights (random.choices without building the population)."""
    total = cumulative[-1]
    return [bisect.bisect(cumulative, rng.random() * total) for _ in range(k)]


def build(path: Path, count: int) -> float:
    """Save `count` synthetic articles into a new archive at path, through the Store; seconds taken."""
    started = time.perf_counter()
    path.mkdir(parents=True, exist_ok=True)
    with Store(path / "zwcrawl.db", synchronous="NORMAL") as store:
        # This scratch build only: no fsync at all (a crash would just mean building it again).
        store.db.execute("PRAGMA synchronous = OFF")
        crawl = store.start_crawl({"bench": True}, T0)
        items = enumerate(articles(count))
        while chunk := list(itertools.islice(items, BATCH)):
            with store.batch():  # one transaction per BATCH articles
                for n, item in chunk:
                    capture = store.add_capture(_capture(crawl, item, n))
                    store.save_article(item, crawl_id=crawl, capture_id=capture, observed_at=T0)
        # As `zwcrawl rebuild` does after its bulk load: the index merged into one segment.
        store.optimize_search()
    return time.perf_counter() - started


def extend_in_sql(path: Path, count: int, seed: int = 2) -> float:
    """Add articles in plain SQL up to `count`, each the first paragraph of one saved article and the rest of
    another of its edition, newly dated; the search triggers fold and index them as any writer's. Seconds."""
    rng = random.Random(seed)
    started = time.perf_counter()
    db = sqlite3.connect(path / "zwcrawl.db")
    db.execute("PRAGMA synchronous = OFF")
    rows = db.execute("SELECT rowid, edition FROM articles ORDER BY rowid").fetchall()
    by_edition = {e: [rowid for rowid, edition in rows if edition == e] for e in ("en", "ar")}
    sql = (
        "INSERT INTO articles SELECT a.edition, ?1, rtrim(a.url, '0123456789') || ?1, b.headline, a.kind,"
        " a.section_id, a.section, ?2, substr(a.body, 1, instr(a.body, char(10, 10)) + 1)"
        " || substr(b.body, instr(b.body, char(10, 10)) + 2), a.source, a.byline, a.dateline,"
        " a.with_agencies, a.likes, a.dislikes, a.comments_count, a.image_url, a.first_seen, a.last_seen,"
        " a.last_changed, a.capture_id, a.crawl_id"
        " FROM articles a, articles b WHERE a.rowid = ?3 AND b.rowid = ?4"
    )
    for n in range(len(rows), count):
        first, edition = rng.choice(rows)
        day = rng.randrange(15 * 365)
        published = f"{2011 + day // 365}-{1 + day % 365 // 31:02d}-{1 + day % 28:02d}T10:00:00Z"
        db.execute(sql, (100_000 + n, published, first, rng.choice(by_edition[edition])))
        if n % BATCH == 0:
            db.commit()
    db.commit()
    db.close()
    return time.perf_counter() - started


def command_seconds(small: Path, big: Path, query: str, filters: dict, order: str) -> tuple[float, float]:
    """The whole `zwcrawl search` command on each archive, median of 5, the two interleaved."""
    runs: dict[Path, list[float]] = {small: [], big: []}
    for _ in range(5):
        for archive in (small, big):
            args = [
                sys.executable,
                "-m",
                "zwcrawl",
                "search",
                "--archive",
                str(archive),
                query,
                "--order",
                order,
            ]
            args += [arg for name, value in filters.items() for arg in (f"--{name}", value)]
            started = time.perf_counter()
            subprocess.run(args, capture_output=True, check=True)
            runs[archive].append(time.perf_counter() - started)
    return statistics.median(runs[small]), statistics.median(runs[big])


def query_ms(archive: Path, runs: int) -> dict[str, tuple]:
    """Store.search per query: (p50 ms, p95 ms, median CPU ms, CPU ms ranking every match, hits, articles
    matched, and what was shown: the best matches, or the newest of a query in most articles)."""
    out = {}
    with Store(archive / "zwcrawl.db", read_only=True) as store:
        for label, query, filters, order in QUERIES:
            chosen = ArticleFilter.parse(**filters)
            (matches,) = store.db.execute(
                "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [search_query(query)]
            ).fetchone()
            times, cpu, every = [], [], []
            for run in range(runs):
                started, started_cpu = time.perf_counter(), time.process_time()
                hits = store.search(query, 20, filters=chosen, order=order)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                if run < 3:  # interleaved with the search: the same search ranking every match
                    started_cpu = time.process_time()
                    store.search(query, 20, filters=chosen, order=order, rank_all=True)
                    every.append((time.process_time() - started_cpu) * 1000)
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            out[label] = (
                statistics.median(times),
                p95,
                statistics.median(cpu),
                statistics.median(every),
                len(hits),
                matches,
                "newest" if hits.newest else "best",
            )
    return out


def plans(archive: Path) -> None:
    """Print SQLite's plan for each statement Store.search runs: choosing the ids, then reading the rows."""
    with Store(archive / "zwcrawl.db", read_only=True) as store:
        for label, query, filters, order in QUERIES:
            chosen = ArticleFilter.parse(**filters)
            match = search_query(query)
            first, rows = explain(store.db.conn, match, chosen, order)
            # The MATCH of the first step: the filter's facet terms, if any, ANDed to the query.
            shown = narrowed(store.db.conn, match, chosen).replace(FACET_MARK, "<U+E000>")
            print(f"  {label}:\n    match: {shown}\n    ids:  {first}\n    rows: {rows}")


def load() -> str:
    """The 1, 5 and 15 minute load averages: the machine may be shared."""
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=250_000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="build into (or reuse from) DIR/COUNT")
    parser.add_argument(
        "--store-articles", type=int, default=None, help="save this many through the Store, the rest in SQL"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="zw-search-") as tmp:
        sizes = {}
        for count in (args.small, args.articles):
            archive = (args.keep or Path(tmp)) / str(count)
            if (archive / "zwcrawl.db").exists():
                print(f"{count:,} articles: reusing {archive}")  # opening it applies any newer migration
            else:
                saved = min(count, args.store_articles or count)
                seconds = build(archive, saved)
                print(f"{saved:,} articles saved in {seconds:.0f} s ({saved / seconds:.0f} a second)")
                size = sum(p.stat().st_size for p in archive.glob("zwcrawl.db*"))
                print(f"  db {size / 1e6:.0f} MB, {size / saved:,.0f} B an article")
            with Store(archive / "zwcrawl.db") as store:
                (saved,) = store.db.execute("SELECT count(*) FROM articles").fetchone()
            if saved < count:
                seconds = extend_in_sql(archive, count)
                print(f"{count - saved:,} more made in SQL in {seconds:.0f} s, then", end=" ")
                with Store(archive / "zwcrawl.db") as store:
                    started = time.perf_counter()
                    store.optimize_search()
                    print(f"the index optimized in {time.perf_counter() - started:.0f} s")
            size = sum(p.stat().st_size for p in archive.glob("zwcrawl.db*"))
            print(f"  db {size / 1e6:.0f} MB, {size / count:,.0f} B an article")
            sizes[count] = archive
        print(f"\nload average {load()}")
        print("query itself (Store.search, limit 20)  and the whole command (python -m zwcrawl search)")
        print(
            f"{'query':<16}{'matches':>8}{'shown':>8}{'hits':>5}{'p50 ms':>8}{'p95 ms':>8}{'CPU ms':>8}"
            f"{'all ms':>8}   "
            f"{'cmd small s':>11}{'cmd big s':>10}{'ratio':>7}"
        )
        big = query_ms(sizes[args.articles], args.runs)
        failed = False
        for label, query, filters, order in QUERIES:
            p50, p95, cpu, every, hits, matches, shown = big[label]
            cmd_small, cmd_big = command_seconds(
                sizes[args.small], sizes[args.articles], query, filters, order
            )
            ratio = cmd_big / cmd_small
            print(
                f"{label:<16}{matches:>8}{shown:>8}{hits:>5}{p50:>8.1f}{p95:>8.1f}{cpu:>8.1f}"
                f"{every:>8.1f}   "
                f"{cmd_small:>11.2f}{cmd_big:>10.2f}{ratio:>7.2f}"
            )
            failed |= p95 >= 50 or ratio > 1.5
        print(f"load average {load()}")
        print("\nEXPLAIN QUERY PLAN on the big archive:")
        plans(sizes[args.articles])
    print("FAILED: a goal is missed (p95 < 50 ms, command within 1.5x)" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
