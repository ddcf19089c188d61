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
import itertools
import multiprocessing
import os
import platform
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_crawl import generate_site, run_child  # noqa: E402 - the same generator and timer as the crawl's

from zwcrawl.extract import extract_article  # noqa: E402
from zwcrawl.mirror import MirrorServer  # noqa: E402
from zwcrawl.site import ORIGINS  # noqa: E402
from zwcrawl.warc import Exchange, WarcWriter, crawl_warcinfo, merge_indexes  # noqa: E402

_STEPS = (
    ("rebuild", []),
    ("rebuild --workers 1", ["--workers", "1"]),
    ("rebuild --from-metadata", ["--from-metadata"]),
)


def _query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def _direct_archive(site_root: Path, archive: Path) -> tuple[int, float]:
    """Write the generated pages straight into WARC files with the project's WarcWriter, as a crawl would.

    For archives too large to crawl here in minutes: each article page becomes a request, a response and a
    metadata record of its fields (extracted in a pool, as a crawl extracts them), each listing page a request
    and a response; one crawl's warcinfo heads the files. Returns (pages written, seconds taken).
    """
    start = time.perf_counter()
    pages = []
    for host_dir in sorted(p for p in site_root.iterdir() if p.is_dir()):
        origin = next(o for o in ORIGINS.values() if o.endswith("//" + host_dir.name))
        for path in sorted(host_dir.glob("news/article*/**/*.html")):
            rel = path.relative_to(host_dir).as_posix().removesuffix(".html")
            pages.append((f"{origin}/{rel}", path))
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    clock = itertools.count()
    now = lambda: moment + timedelta(milliseconds=next(clock))  # noqa: E731 - a clock the writer calls
    info = crawl_warcinfo(1, "2026-01-01T00:00:00Z", {"editions": ["en", "ar"], "sites": {}})
    with multiprocessing.Pool() as pool, WarcWriter(archive, info=info, fsync=False, clock=now) as writer:
        for url, (fields, body) in zip(
            (u for u, _ in pages), pool.imap(_page_fields, pages, chunksize=32), strict=True
        ):
            exchange = Exchange(
                url=url, method="GET", request_headers=[("Host", url.split("/")[2])], request_body=b"",
                status=200, reason="OK", response_headers=[("Content-Type", "text/html; charset=utf-8")],
                body=body, fetched_at=now(),
            )  # fmt: skip
            _, response = writer.write_exchange(exchange)
            if fields is not None:
                writer.write_metadata(url, response.record_id, fields)
    merge_indexes(archive / "warc")
    return len(pages), time.perf_counter() - start


def _page_fields(page: tuple[str, Path]) -> tuple[dict | None, bytes]:
    url, path = page
    body = path.read_bytes()
    return (extract_article(body, url) if "/news/article/" in url else None), body


def _timed(command: list[str], work: Path, name: str, timeout: float):
    """run_child, plus the CPU seconds (user + system) of the child and every process it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = run_child(command, work, name, timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return run, cpu


def _articles(db: Path) -> list[tuple]:
    return _query(db, "select edition, article_id, headline, body, published from articles order by 1, 2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000, help="articles, two thirds en, one third ar")
    parser.add_argument("--dir", type=Path, help="make the temporary directory here (to measure a disk)")
    parser.add_argument("--keep", action="store_true", help="keep the site copy and the archive afterwards")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--direct",
        action="store_true",
        help="write the archive with WarcWriter instead of crawling it (for 20,000 articles)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-rebuild-", dir=args.dir))
    try:
        return _bench(work, args.articles, args.timeout, args.direct)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _bench(work: Path, articles: int, timeout: float, direct: bool) -> int:
    counts = {"en": articles - articles // 3, "ar": articles // 3}
    site = generate_site(work / "site", counts)
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPU(s); {counts['en']} en + {counts['ar']} ar"
    )
    archive = work / "archive"
    if direct:
        written, seconds = _direct_archive(site.root, archive)
        print(
            f"wrote {written} pages with WarcWriter in {seconds:.1f} s (not a crawl: no crawl row to compare)"
        )
        return _rebuilds(work, archive, timeout, None)
    server = MirrorServer(site.root).start()
    try:
        sites = [arg for spec in server.site_args() for arg in ("--site", spec)]
        crawl, crawl_cpu = _timed(
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
    return _rebuilds(work, archive, timeout, (crawl, crawl_cpu))


def _rebuilds(work: Path, archive: Path, timeout: float, crawl) -> int:
    """Rebuild the archive's database each way, check its articles, print the table."""
    db = archive / "zwcrawl.db"
    table, steps = [], _STEPS
    if not db.exists():
        # A --direct archive: the default rebuild makes the database the others are checked against.
        command = [sys.executable, "-m", "zwcrawl", "rebuild", "--archive", str(archive)]
        first, cpu = _timed(command, work, "rebuild", timeout)
        if first.returncode != 0:
            print(f"rebuild failed: {first.stdout[-500:]}{first.stderr[-500:]}")
            return 1
        steps = [step for step in _STEPS if step[0] == "rebuild --from-metadata"]  # minutes matter here
    pages = _query(db, "select count(*) from captures where record_type in ('response', 'revisit')")[0][0]
    crawled = _articles(db)
    warc_bytes = sum(p.stat().st_size for p in (archive / "warc").glob("*.warc.gz"))
    if crawl is not None:
        run, cpu = crawl
        table.append(("crawl", pages, len(crawled), run.seconds, cpu, run.peak_rss_kb))
    else:
        table.append(("rebuild", pages, len(crawled), first.seconds, cpu, first.peak_rss_kb))
    failed = False
    for label, extra in steps:
        run, cpu = _timed([sys.executable, "-m", "zwcrawl", "rebuild", "--archive", str(archive), *extra],
                          work, label.replace(" ", "_"), timeout)  # fmt: skip
        for backup in archive.glob("zwcrawl.db.bak-*"):
            backup.unlink()
        same = run.returncode == 0 and _articles(db) == crawled
        failed |= not same
        if not same:
            print(f"{label}: exit {run.returncode}, or its articles differ")
            print(run.stdout[-500:] + run.stderr[-500:])
        table.append((label, pages, len(crawled), run.seconds, cpu, run.peak_rss_kb))
    load = os.getloadavg()[0]
    print(f"WARC files: {warc_bytes:,} bytes; load average at the end {load:.1f}\n")
    print("| step | pages | seconds | pages/s | x crawl | CPU s | pages/CPU s | peak RSS MB (main) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    # Against the crawl of this run, or (--direct) the crawl figure of benchmarks/README.md, 141 pages/s.
    crawl_rate = pages / table[0][3] if crawl is not None else 141
    for label, n, _arts, seconds, cpu, rss in table:
        rate = n / seconds
        cells = f"{n} | {seconds:.1f} | {rate:.0f} | {rate / crawl_rate:.1f} | {cpu:.1f} | {n / cpu:.0f}"
        print(f"| {label} | {cells} | {rss / 1024:.0f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
