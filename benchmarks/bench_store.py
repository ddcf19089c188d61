"""Benchmark the archive: articles saved per second, refreshes, capture rows, and full-text query time.

    .venv/bin/python benchmarks/bench_store.py [--articles 2000] [--synchronous FULL NORMAL] [--dir DIR]

Synthetic articles are built from the fixture items (English and Arabic words reshuffled), saved into a fresh
database in a temporary directory (or --dir, to measure a particular disk), then refreshed once with new
counters; each search query is run several times and the median reported.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from zwcrawl.store import Store

EXPECTED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "zwsite" / "expected"
QUERIES = ["fuel", "Idlib camps", '"the regime"', "Damascus NOT Aleppo", "مخيم", "قوات النظام", "اليرموك"]
T0 = "2018-04-20T10:00:00Z"


def _synthetic(count: int, seed: int = 1) -> list[dict]:
    """`count` article items shaped like the extractor's, with bodies of reshuffled fixture words."""
    rng = random.Random(seed)
    items = [json.loads(p.read_text("utf-8")) for p in sorted(EXPECTED.glob("*/*.json"))]
    items = [item for item in items if item.get("is_article")]
    words = {
        edition: [w for i in items if i["edition"] == edition for w in i["body"].split()]
        for edition in ("en", "ar")
    }
    out = []
    for n in range(count):
        item = json.loads(json.dumps(items[n % len(items)]))
        edition = item["edition"]
        paragraphs = [
            " ".join(rng.choices(words[edition], k=rng.randint(30, 80))) for _ in range(rng.randint(4, 10))
        ]
        item.update(
            article_id=100_000 + n,
            url=f"{item['url'].rsplit('/', 1)[0]}/{100_000 + n}",
            headline=" ".join(rng.choices(words[edition], k=10)),
            body="\n\n".join(paragraphs),
        )
        out.append(item)
    return out


def _capture(crawl: int, item: dict, n: int) -> dict:
    return {
        "crawl_id": crawl,
        "url": item["url"],
        "status": 200,
        "fetched_at": T0,
        "record_type": "response",
        "warc_file": "warc/bench.warc.gz",
        "warc_offset": n * 4096,
        "warc_length": 4000,
        "warc_record_id": f"<urn:uuid:bench-{n}>",
        "payload_digest": f"sha1:BENCH{n}",
        "content_type": "text/html",
    }


def _run(path: Path, items: list[dict], synchronous: str) -> dict:
    with Store(path, synchronous=synchronous) as store:
        crawl = store.start_crawl({"bench": True}, T0)
        started = time.perf_counter()
        captures = [store.add_capture(_capture(crawl, item, n)) for n, item in enumerate(items)]
        capture_time = time.perf_counter() - started
        started = time.perf_counter()
        for item, capture in zip(items, captures, strict=True):
            store.save_article(item, crawl_id=crawl, capture_id=capture, observed_at=T0)
        save_time = time.perf_counter() - started
        started = time.perf_counter()
        for item, capture in zip(items, captures, strict=True):
            refreshed = dict(item, likes=(item["likes"] or 0) + 1)
            store.save_article(
                refreshed, crawl_id=crawl, capture_id=capture, observed_at="2018-04-21T10:00:00Z"
            )
        refresh_time = time.perf_counter() - started
        query_ms = {}
        for query in QUERIES:
            runs = []
            for _ in range(7):
                started = time.perf_counter()
                hits = len(store.search(query, limit=20))
                runs.append(time.perf_counter() - started)
            query_ms[query] = (statistics.median(runs) * 1000, hits)
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return {
        "captures/s": len(items) / capture_time,
        "new articles/s": len(items) / save_time,
        "refreshes/s": len(items) / refresh_time,
        "query ms": query_ms,
        "db MB": size / 1e6,
    }


def main() -> None:
    """Run the benchmark for each synchronous setting and print one block per setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--synchronous", nargs="+", default=["FULL", "NORMAL"])
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to put the databases (default: a temp dir)"
    )
    args = parser.parse_args()
    items = _synthetic(args.articles)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for synchronous in args.synchronous:
            result = _run(Path(tmp) / f"bench-{synchronous}.db", items, synchronous)
            print(f"{args.articles} articles, synchronous={synchronous}, db {result['db MB']:.1f} MB")
            for name in ("captures/s", "new articles/s", "refreshes/s"):
                print(f"  {name:<16} {result[name]:8.0f}")
            for query, (ms, hits) in result["query ms"].items():
                print(f"  search {query!r:<24} {ms:7.2f} ms  ({hits} hits, limit 20)")


if __name__ == "__main__":
    main()
