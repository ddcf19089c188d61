"""Benchmark the WARC layer: exchanges written per second, then scan, recovery, index and verify speed.

    .venv/bin/python benchmarks/bench_warc.py [--exchanges 2000] [--page-kb 60] [--fsync] [--dir DIR]

Each exchange is a gzip-encoded page (a fixture page padded with its own words to --page-kb of HTML, about a
live article's size, gzip'd as "the server" would) with a metadata record beside it; every third exchange is
a revisit. Written into a fresh archive in
a temporary directory (or --dir, to measure a particular disk), then read back by each reader in turn.
"""

from __future__ import annotations

import argparse
import gzip
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from zwcrawl.verify import verify_archive
from zwcrawl.warc import Exchange, Original, WarcWriter, merge_indexes, recover_warc, scan_warc

PAGES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "zwsite"


def _bodies(page_kb: int) -> list[bytes]:
    bodies, rng = [], random.Random(1)
    for page in sorted(PAGES.glob("*/news/article/*.html"))[:50]:
        html = page.read_bytes()
        words = html.split()
        padding = b" ".join(rng.choice(words) for _ in range(page_kb * 1024 // 6))
        bodies.append(gzip.compress(html + b"<!-- " + padding[: page_kb * 1024] + b" -->"))
    return bodies


def _write(archive: Path, count: int, page_kb: int, fsync: bool) -> tuple[float, int]:
    bodies = _bodies(page_kb)
    db = sqlite3.connect(archive / "zwcrawl.db")
    db.execute(
        "CREATE TABLE captures (id INTEGER PRIMARY KEY, crawl_id, url, status, fetched_at, record_type, "
        "warc_file, warc_offset, warc_length, warc_record_id, payload_digest)"
    )
    db.execute("CREATE TABLE articles (edition, article_id, capture_id)")
    last: dict[str, Original] = {}
    start = time.perf_counter()
    with WarcWriter(archive, fsync=fsync, max_size=100_000_000) as writer:
        for n in range(count):
            url = f"https://en.zamanalwsl.net/news/article/{n // 3 if n % 3 == 2 else n}"
            body = bodies[(n // 3 if n % 3 == 2 else n) % len(bodies)]
            exchange = Exchange(
                url,
                "GET",
                [("Host", "en.zamanalwsl.net"), ("Accept-Encoding", "gzip")],
                b"",
                200,
                "OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")],
                body,
                datetime.now(UTC),
            )
            _, response = writer.write_exchange(exchange, last.get(url))
            meta = writer.write_metadata(url, response.record_id, {"n": n, "headline": "x" * 80})
            for loc in (response, meta):
                db.execute(
                    "INSERT INTO captures VALUES (NULL, 1, ?, 200, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        loc.url,
                        loc.date,
                        loc.record_type,
                        loc.warc_file,
                        loc.offset,
                        loc.length,
                        loc.record_id,
                        loc.payload_digest,
                    ),
                )
            if response.record_type == "response":
                last[url] = Original(response.payload_digest, response.record_id, url, response.date)
    elapsed = time.perf_counter() - start
    db.commit()
    db.close()
    return elapsed, sum(p.stat().st_size for p in (archive / "warc").glob("*.warc.gz"))


def _timed(label: str, size: int, run) -> None:
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    print(f"{label:<28} {elapsed:7.2f} s  {size / elapsed / 1e6:8.1f} MB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=2000)
    parser.add_argument("--page-kb", type=int, default=60, help="HTML size of each page before gzip")
    parser.add_argument("--fsync", action="store_true", help="sync each record (the crawl's default)")
    parser.add_argument("--dir", type=Path, help="write here instead of a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        archive = Path(tmp)
        elapsed, size = _write(archive, args.exchanges, args.page_kb, args.fsync)
        records = args.exchanges * 3
        print(
            f"write (fsync={args.fsync}): {args.exchanges} exchanges, {records} records, "
            f"{size / 1e6:.1f} MB in {elapsed:.2f} s: "
            f"{args.exchanges / elapsed:,.0f} exchanges/s, {records / elapsed:,.0f} records/s"
        )
        files = sorted((archive / "warc").glob("*.warc.gz"))
        _timed("scan, no digests", size, lambda: [list(scan_warc(f, digests=False)) for f in files])
        _timed("scan with digests", size, lambda: [list(scan_warc(f)) for f in files])
        _timed(
            "recover (whole files)", size, lambda: [recover_warc(f, archive / "quarantine") for f in files]
        )
        _timed("merge indexes", size, lambda: merge_indexes(archive / "warc"))
        report = None

        def verify() -> None:
            nonlocal report
            report = verify_archive(archive)

        _timed("verify_archive", size, verify)
        print(report.summary())


if __name__ == "__main__":
    main()
