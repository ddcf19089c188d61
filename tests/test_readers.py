"""Readers beside a writer: search and read-only queries during a crawl never fail or see half a save."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

from test_reliability import EXPECTED, SLOW, start_crawl

from zwcrawl.store import DB_NAME, read_only_uri


def test_readers_beside_a_crawl_never_fail_and_never_see_half_a_save(mirror_factory, tmp_path):
    mirror = mirror_factory(faults=SLOW)
    archive = tmp_path / "archive"
    crawl = start_crawl(archive, mirror)
    db = archive / DB_NAME
    errors, answers, searches = [], 0, []

    def search_in_a_loop() -> None:
        """`zwcrawl search` again and again, as a researcher would, while the crawl runs."""
        while crawl.poll() is None:
            found = subprocess.run(
                [sys.executable, "-m", "zwcrawl", "search", "--archive", str(archive), "Daraa"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            if (
                crawl.poll() is None
                and db.exists()
                and (found.returncode not in (0, 1) or "locked" in found.stderr)
            ):
                errors.append(found.stderr.strip())
            searches.append(found.returncode)

    searcher = threading.Thread(target=search_in_a_loop)
    searcher.start()
    while crawl.poll() is None:
        time.sleep(0.02)
        if not db.exists():
            continue
        try:
            with sqlite3.connect(read_only_uri(db), uri=True, timeout=5) as conn:
                conn.execute("BEGIN")  # one snapshot for both questions
                orphans = conn.execute(
                    "SELECT count(*) FROM articles a WHERE a.capture_id IS NOT NULL AND NOT EXISTS"
                    " (SELECT 1 FROM captures c WHERE c.id = a.capture_id)"
                ).fetchone()[0]
                conn.execute("SELECT count(*) FROM captures WHERE warc_length IS NULL OR warc_length <= 0")
                assert orphans == 0
                answers += 1
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):  # the crawl has not made its schema yet
                errors.append(str(exc))
    searcher.join()
    assert crawl.returncode == 0, crawl.stderr.read()
    assert errors == []
    assert answers > 20 and len(searches) > 2
    with sqlite3.connect(read_only_uri(db), uri=True) as conn:
        assert conn.execute("select count(*) from articles").fetchone()[0] == len(EXPECTED)
