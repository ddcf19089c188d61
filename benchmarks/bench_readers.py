"""Benchmark readers beside a writer: how long a crawl stalls while search, verify, exports and Datasette run.

    .venv/bin/python benchmarks/bench_readers.py [--articles 2000] [--rounds 1]

A synthetic copy of the site (benchmarks/bench_crawl.py's generator, half of `--articles` per edition) is
crawled twice per round, interleaved: once alone, once while every reader runs in a loop (`zwcrawl search`,
`zwcrawl verify`, `zwcrawl export jsonl` and `wacz` as subprocesses, and SQL over HTTP to a running
`zwcrawl serve`). Printed per crawl: its wall time, the longest gap between two requests in the mirror's
log (a stall of the crawl), the 99th percentile gap, how often each reader answered, and the errors and
inconsistent answers they met (both must be 0; exit 1 otherwise). tests/test_readers.py runs the same
readers and asserts on them.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench_crawl import generate_site
from warcio.archiveiterator import ArchiveIterator

from zwcrawl.mirror import LoggedRequest, MirrorServer
from zwcrawl.store import DB_NAME, read_only_uri
from zwcrawl.warc.writer import open_warc_file

# Between two answers of one reader: five readers in a loop, each a Python process, would otherwise take the
# CPU from the crawl on a small machine and measure that, not whether they block it.
PAUSE = 0.5
# The newest saves are where half a save would show: every reader looks at those first.
_NEWEST_SQL = """SELECT a.edition, a.article_id, c.id, c.warc_file, c.warc_offset, c.warc_record_id
    FROM articles a LEFT JOIN captures c ON c.id = a.capture_id ORDER BY a.rowid DESC LIMIT 20"""
_CAPTURE_SQL = "SELECT id, warc_file, warc_offset, warc_record_id FROM captures WHERE id = ?"
_ARTICLE_CAPTURE_SQL = """SELECT c.id, c.warc_file, c.warc_offset, c.warc_record_id FROM articles a
    LEFT JOIN captures c ON c.id = a.capture_id WHERE a.edition = ? AND a.article_id = ?"""


@dataclass
class Tally:
    """What the readers did: answers per reader, and every error or inconsistency they met."""

    answers: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    checked: int = 0  # articles whose capture row and WARC record were checked
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, reader: str, message: str) -> None:
        with self.lock:
            self.errors.append(f"{reader}: {' '.join(message.split())[:400]}")


class Readers:
    """Every reader in a loop of its own, beside a crawl, until stopped; each answer checked as it comes."""

    def __init__(self, archive: Path, serve_url: str | None, work: Path):
        self.archive = archive
        self.serve_url = serve_url
        self.work = work
        self.tally = Tally()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Readers:
        readers = [self.search, self.verify, self.export_jsonl, self.export_wacz]
        if self.serve_url:
            readers.append(self.datasette)
        for reader in readers:
            thread = threading.Thread(target=self._loop, args=(reader,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> Tally:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)
        return self.tally

    def _loop(self, reader) -> None:
        name = reader.__name__
        while not self._stop.is_set():
            try:
                if reader():
                    with self.tally.lock:
                        self.tally.answers[name] += 1
            except Exception as exc:  # noqa: BLE001 - counted: a reader must never fail
                self.tally.error(name, f"{type(exc).__name__}: {exc}")
            self._stop.wait(PAUSE)

    def _run(self, name: str, *args: object) -> subprocess.CompletedProcess[str] | None:
        """A zwcrawl command; None (and an error counted) unless it exits 0 with nothing on stderr."""
        run = subprocess.run(
            [sys.executable, "-m", "zwcrawl", *map(str, args)], capture_output=True, text=True, timeout=300
        )
        if run.returncode != 0 or run.stderr.strip():
            self.tally.error(name, f"exit {run.returncode}: {run.stderr.strip() or run.stdout[-400:]}")
            return None
        return run

    # -- the readers -----------------------------------------------------------------------------

    def search(self) -> bool:
        run = self._run("search", "search", "--archive", self.archive, "--json", "--limit", "20", "news")
        if run is None:
            return False
        hits = [json.loads(line) for line in run.stdout.splitlines()]
        with self._db() as db:
            for hit in hits:
                found = db.execute(_ARTICLE_CAPTURE_SQL, (hit["edition"], hit["article_id"])).fetchone()
                self._check("search", f"{hit['edition']}/{hit['article_id']}", found)
        return True

    def verify(self) -> bool:
        run = self._run("verify", "verify", "--archive", self.archive)
        if run is not None and run.stdout.startswith("checking the archive as committed at "):
            with self.tally.lock:
                self.tally.answers["verify said a crawl is writing"] += "a crawl is writing" in run.stdout
        return run is not None

    def export_jsonl(self) -> bool:
        output = self.work / "articles.jsonl"
        if (
            self._run("export_jsonl", "export", "jsonl", "--archive", self.archive, "--output", output)
            is None
        ):
            return False
        rows = [json.loads(line) for line in output.read_text("utf-8").splitlines()]
        newest = sorted(rows, key=lambda row: row["capture_id"] or 0)[-20:]
        with self._db() as db:
            for row in rows:
                if row["capture_id"] is None:
                    self.tally.error("export_jsonl", f"{row['edition']}/{row['article_id']} has no capture")
            for row in newest:
                found = db.execute(_CAPTURE_SQL, (row["capture_id"],)).fetchone()
                self._check("export_jsonl", f"{row['edition']}/{row['article_id']}", found)
        return True

    def export_wacz(self) -> bool:
        output = self.work / "archive.wacz"
        if self._run("export_wacz", "export", "wacz", "--archive", self.archive, "--output", output) is None:
            return False
        with zipfile.ZipFile(output) as package:
            pages = package.read("pages/pages.jsonl").decode("utf-8").splitlines()[1:]
            wanted = {f"<{json.loads(page)['id']}>" for page in pages}
            found = set()
            for name in package.namelist():
                if name.startswith("archive/"):
                    with package.open(name) as fh:
                        for record in ArchiveIterator(fh):
                            record.content_stream().read()  # every record whole
                            found.add(record.rec_headers.get_header("WARC-Record-ID"))
        if missing := wanted - found:
            self.tally.error(
                "export_wacz", f"{len(missing)} page(s) without their record, e.g. {min(missing)}"
            )
        return True

    def datasette(self) -> bool:
        query = urllib.parse.urlencode({"sql": _NEWEST_SQL, "_shape": "array"})
        with urllib.request.urlopen(f"{self.serve_url}.json?{query}", timeout=60) as answer:
            rows = json.loads(answer.read())
        for row in rows:
            found = (row["id"], row["warc_file"], row["warc_offset"], row["warc_record_id"])
            self._check("datasette", f"{row['edition']}/{row['article_id']}", found)
        return True

    # -- checks ------------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(read_only_uri(self.archive / DB_NAME), uri=True, timeout=30)

    def _check(self, reader: str, article: str, capture: tuple | None) -> None:
        """An article a reader returned: its capture row exists and its WARC record is whole where it says."""
        with self.tally.lock:
            self.tally.checked += 1
        if capture is None or capture[0] is None:
            self.tally.error(reader, f"{article}: no capture row")
            return
        _id, warc_file, offset, record_id = capture
        with open_warc_file(self.archive / warc_file) as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)), None)
            if record is None or record.rec_headers.get_header("WARC-Record-ID") != record_id:
                self.tally.error(reader, f"{article}: no record {record_id} at {warc_file} offset {offset}")
                return
            record.content_stream().read()


def serve(archive: Path) -> tuple[subprocess.Popen, str]:
    """`zwcrawl serve --port 0` on the archive: the process and the database's URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "zwcrawl", "serve", "--archive", archive, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = server.stdout.readline()
    if " read-only at " not in line:
        server.kill()
        raise RuntimeError(f"zwcrawl serve did not start: {line}{server.stderr.read()}")
    return server, line.split(" at ")[1].split()[0]


def wait_for_schema(db: Path, crawl: subprocess.Popen, timeout: float = 120) -> None:
    """Until the crawl has made its archive and saved a first capture (the readers need a database)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and crawl.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(read_only_uri(db), uri=True, timeout=5) as conn:
                    if conn.execute("SELECT count(*) FROM articles").fetchone()[0]:
                        return
            except sqlite3.OperationalError:
                pass  # not made yet
        time.sleep(0.1)
    raise RuntimeError("the crawl made no archive")


def stalls(requests: list[LoggedRequest]) -> list[float]:
    """The gaps (seconds) between consecutive requests the mirror logged, in order."""
    times = sorted(datetime.fromisoformat(r.time.replace("Z", "+00:00")).timestamp() for r in requests)
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def crawl_with_readers(
    site: Path, work: Path, *, readers: bool
) -> tuple[float, list[float], Tally | None, int]:
    """One crawl of the site (with every reader running beside it, or alone): time, gaps, tally, exit."""
    mirror = MirrorServer(site, log_path=work / "mirror.jsonl").start()
    archive = work / "archive"
    flags = [arg for spec in mirror.site_args() for arg in ("--site", spec)]
    started = time.monotonic()
    crawl = subprocess.Popen(
        [sys.executable, "-m", "zwcrawl", "crawl", "--archive", archive, *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    tally, server = None, None
    try:
        if readers:
            wait_for_schema(archive / DB_NAME, crawl)
            server, url = serve(archive)
            running = Readers(archive, url, work).start()
        crawl.communicate(timeout=1800)
        elapsed = time.monotonic() - started
        if readers:
            tally = running.stop()
    finally:
        if server is not None:
            server.terminate()
            server.communicate(timeout=30)
        mirror.stop()
    return elapsed, stalls(mirror.requests), tally, crawl.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    counts = {"en": args.articles // 2, "ar": args.articles - args.articles // 2}
    print(f"load average {os.getloadavg()[0]:.2f}; {args.articles} articles")
    bad = 0
    with tempfile.TemporaryDirectory(prefix="bench-readers-") as tmp:
        site = Path(tmp) / "site"
        generate_site(site, counts)
        for n in range(args.rounds):
            for readers in (False, True):
                work = Path(tmp) / f"run-{n}-{int(readers)}"
                work.mkdir()
                elapsed, gaps, tally, code = crawl_with_readers(site, work, readers=readers)
                gaps.sort()
                p99 = gaps[int(len(gaps) * 0.99)] if gaps else 0.0
                label = "with readers" if readers else "alone       "
                line = (
                    f"crawl {label}: {elapsed:6.1f} s, exit {code}, longest gap {max(gaps, default=0):.2f} s"
                )
                line += f", p99 gap {p99 * 1000:.0f} ms"
                if tally is not None:
                    line += f"; answers {dict(tally.answers)}, {tally.checked} articles checked"
                    line += f", {len(tally.errors)} error(s)"
                    for error in tally.errors[:10]:
                        print("  ", error)
                    bad += len(tally.errors)
                print(line, flush=True)
                bad += code != 0
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
