"""Benchmark the researchers' tools: export memory and time on a large archive, and long Arabic queries.

    .venv/bin/python benchmarks/bench_tools.py [--articles 250000] [--dir DIR]

Builds an archive of synthetic articles straight through SQL (the search triggers index them as a crawl's
saves would), each with two authors, an image and two comments, then runs `zwcrawl export jsonl` and
`zwcrawl export csv` as child processes and reports their time and peak RSS (the child's VmHWM), and times
`zwcrawl search` with queries of repeated Arabic words and a rebuild of the search index.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from zwcrawl.store import Store

EXPECTED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "zwsite" / "expected"
T0 = "2018-04-20T10:00:00Z"


def _items() -> list[dict]:
    items = [json.loads(p.read_text("utf-8")) for p in sorted(EXPECTED.glob("*/*.json"))]
    return [item for item in items if item.get("is_article")]


def _words() -> list[str]:
    return [w for item in _items() for w in item["body"].split()]


def build(db_path: Path, count: int) -> float:
    """Fill a new archive with `count` articles; return seconds taken."""
    rng = random.Random(1)
    items = _items()
    words = _words()
    started = time.monotonic()
    with Store(db_path, synchronous="NORMAL") as store:
        crawl = store.start_crawl({}, T0)
        conn = store.db.conn
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO people (id, name) VALUES (?, ?)", [(n, f"Writer {n}") for n in range(500)]
        )
        for n in range(count):
            template = items[n % len(items)]
            key = (template["edition"], 100_000 + n)
            body = " ".join(rng.choices(words, k=180))
            conn.execute(
                "INSERT INTO articles (edition, article_id, url, headline, section, published, body, source,"
                " likes, dislikes, comments_count, first_seen, last_seen, last_changed, crawl_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 2, ?, ?, ?, ?)",
                (*key, f"{template['url']}?n={n}", template["headline"], template["section"],
                 f"20{10 + n % 9}-0{1 + n % 9}-1{n % 10}T08:00:00Z", body, template["source"],
                 n % 50, n % 7, T0, T0, T0, crawl),
            )  # fmt: skip
            for position, person in ((1, n % 500), (2, (n + 1) % 500)):
                conn.execute(
                    "INSERT INTO article_people VALUES (?, ?, 'author', ?, ?)", (*key, position, person)
                )
            conn.execute("INSERT INTO images VALUES (?, ?, 1, ?, 'a caption')", (*key, f"https://x/{n}.jpg"))
            for position in (1, 2):
                conn.execute(
                    "INSERT INTO comments (edition, article_id, position, author, posted, text, first_seen,"
                    " last_seen) VALUES (?, ?, ?, 'reader', ?, ?, ?, ?)",
                    (*key, position, T0, " ".join(rng.choices(words, k=30)), T0, T0),
                )
            if n % 10_000 == 9_999:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
        conn.execute("COMMIT")
    return time.monotonic() - started


def run_measured(args: list[str]) -> tuple[float, int, int]:
    """Run `python -m zwcrawl ARGS`; return seconds, peak RSS in MB (VmHWM) and the exit status."""
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "zwcrawl", *args], stdout=subprocess.DEVNULL)
    peak = [0]

    def sample() -> None:
        while child.poll() is None:
            try:
                for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    child.wait()
    sampler.join()
    return time.monotonic() - started, peak[0] // 1024, child.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=250_000)
    parser.add_argument("--dir", type=Path, default=None)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=options.dir) as tmp:
        archive = Path(tmp) / "archive"
        archive.mkdir()
        seconds = build(archive / "zwcrawl.db", options.articles)
        size = (archive / "zwcrawl.db").stat().st_size
        print(f"built {options.articles:,} articles in {seconds:.0f} s; zwcrawl.db {size / 1e6:,.0f} MB")
        print("| command | seconds | peak RSS MB | output MB |")
        print("| ------- | ------: | ----------: | --------: |")
        failed = False
        for fmt in ("jsonl", "csv"):
            out = Path(tmp) / f"articles.{fmt}"
            seconds, peak, status = run_measured(["export", fmt, "--archive", str(archive), "-o", str(out)])
            failed |= status != 0
            print(f"| export {fmt} | {seconds:.1f} | {peak} | {out.stat().st_size / 1e6:,.0f} |")
            out.unlink()
        distinct = list(dict.fromkeys(w for w in _words() if "\u0621" <= w[0] <= "\u064a"))
        queries = {
            "search, a phrase of 5 Arabic words": "قوات النظام في مخيم اليرموك",
            "search, that phrase 40 times (200 words)": " ".join(["قوات النظام في مخيم اليرموك"] * 40),
            f"search, {min(len(distinct), 200)} different Arabic words": " ".join(distinct[:200]),
        }
        for label, query in queries.items():
            seconds, peak, status = run_measured(["search", "--archive", str(archive), query])
            failed |= status != 0
            print(f"| {label} | {seconds:.1f} | {peak} | |")
        started = time.monotonic()
        with Store(archive / "zwcrawl.db") as store:
            store.rebuild_search()  # what migration 0025 does to an archive indexed before it
        print(f"| rebuild of the search index (migration 0025) | {time.monotonic() - started:.1f} | | |")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
