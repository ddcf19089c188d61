"""Opening the archive: pragmas, migrations, documented columns, and two processes or a killed one."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from zwcrawl.store import Store
from zwcrawl.store.schema import MIGRATIONS

ITEM = json.loads((Path(__file__).parent / "fixtures/zwsite/expected/en/34478.json").read_text("utf-8"))
T1 = "2018-04-20T10:00:00Z"
MIGRATION_NAMES = [
    "0001_core", "0002_search", "0003_people_views", "0004_failure_captures", "0025_search_stems_and_digits",
    "0026_schedules", "0030_imported_records", "0035_redirects", "0036_removals", "0040_capture_validators",
    "0045_search_indexes", "0050_search_facets",
]  # fmt: skip

# A writer in another process: one crawl, then per article a capture and a save, as the crawler does.
_WRITER = """
import json, sys
from zwcrawl.store import Store
path, first, count, item = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
store = Store(path)
crawl = store.start_crawl({"writer": first}, "2018-04-20T10:00:00Z")
print("started", flush=True)
for article_id in range(first, first + count):
    url = f"http://127.0.0.1:8001/news/article/{article_id}"
    capture = store.add_capture({
        "crawl_id": crawl, "url": url, "status": 200, "fetched_at": "2018-04-20T10:00:00Z",
        "record_type": "response", "warc_file": "warc/w.warc.gz", "warc_offset": article_id,
        "warc_length": 1, "warc_record_id": f"<urn:uuid:{article_id}>", "payload_digest": "sha1:X",
    })
    item.update(article_id=article_id, url=f"https://en.zamanalwsl.net/news/article/{article_id}")
    store.save_article(item, crawl_id=crawl, capture_id=capture, observed_at="2018-04-20T10:00:00Z")
store.finish_crawl(crawl, "finished", {}, "2018-04-20T11:00:00Z")
"""


def _writer(path: Path, first: int, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(first), str(count), json.dumps(ITEM)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_pragmas(tmp_path):
    with Store(tmp_path / "zwcrawl.db") as store:
        pragma = {
            name: store.db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "synchronous")
        }
        assert pragma == {"journal_mode": "wal", "synchronous": 2}  # 2 is FULL
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    with Store(tmp_path / "zwcrawl.db", synchronous="normal") as store:
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1
    with pytest.raises(ValueError, match="synchronous"):
        Store(tmp_path / "zwcrawl.db", synchronous="OFF")


def test_migrations_run_once(tmp_path):
    path = tmp_path / "zwcrawl.db"
    Store(path).close()
    with Store(path) as store:
        assert [m.name for m in MIGRATIONS.applied(store.db)] == MIGRATION_NAMES
        assert MIGRATIONS.pending(store.db) == []


def test_a_migration_1_archive_upgrades(tmp_path):
    path = tmp_path / "zwcrawl.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="0002_search")
    assert not db["articles_fts"].exists()
    db["crawls"].insert({"id": 1, "started_at": T1, "status": "finished"})
    fields = {name: ITEM[name] for name in ("url", "headline", "body", "published", "likes")}
    db["articles"].insert(
        {
            "edition": "en",
            "article_id": 34478,
            **fields,
            "first_seen": T1,
            "last_seen": T1,
            "last_changed": T1,
        }
    )
    db.close()
    with Store(path) as store:
        assert [m.name for m in MIGRATIONS.applied(store.db)] == MIGRATION_NAMES
        assert [r["article_id"] for r in store.search("diesel")] == [34478]  # rows from before are indexed
        item = dict(ITEM, headline="Idlib camps run out of fuel")
        assert (
            store.save_article(item, crawl_id=1, capture_id=None, observed_at="2018-04-21T10:00:00Z")
            == "updated"
        )
        assert [r["name"] for r in store.db["article_authors"].rows] == ITEM["authors"]


def test_every_column_is_documented(tmp_path):
    """schema.py comments every column, on its own line or (a second column ALTER TABLE adds) in a /* */ after
    it: the README's table of the researchers' interface."""
    with Store(tmp_path / "zwcrawl.db") as store:
        tables = [t for t in store.db.table_names() if not t.startswith(("_", "articles_fts"))]
        assert {"crawls", "captures", "articles", "observations"} <= set(tables)  # and every later one
        for table in tables:
            sql = store.db[table].schema
            for column in store.db[table].columns:
                line = re.search(rf"^[\s,]*{column.name} .*$", sql, re.M)  # ", name": an added column
                block = re.search(rf"[,(]\s*{column.name} [^,]*?/\*\s*\S", sql)
                commented = (line and re.search(r"--\s*\S", line.group())) or block
                assert commented, f"{table}.{column.name} has no comment"
        for view in ("article_authors", "article_translators"):
            assert "--" in store.db[view].schema


def test_two_processes_write_one_archive(tmp_path):
    path = tmp_path / "zwcrawl.db"
    writers = [_writer(path, first, 150) for first in (1000, 2000)]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    with Store(path) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert len(store.archived_ids("en")) == 300
        assert store.db["observations"].count == 300
        assert [row["status"] for row in store.db["crawls"].rows] == ["finished", "finished"]
        assert len(store.search("diesel", limit=1000)) == 300


def test_killed_writer_leaves_whole_pages(tmp_path):
    """SIGKILL mid-crawl: every save is all there or not at all, and every capture row has its record."""
    path = tmp_path / "zwcrawl.db"
    writer = _writer(path, 1000, 100_000)
    assert writer.stdout.readline() == "started\n"
    deadline = time.monotonic() + 60
    while _count(path, "articles") < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(writer.pid, signal.SIGKILL)
    writer.communicate()
    with Store(path) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        articles = store.db["articles"].count
        assert articles >= 30
        for table in ("observations", "article_versions", "images", "article_people"):
            assert store.db[table].count == articles, table
        assert store.db["comments"].count == 2 * articles
        # At most the page in hand is lost: its capture row may exist without its article, never the reverse.
        assert store.db["captures"].count in (articles, articles + 1)
        assert [row["status"] for row in store.db["crawls"].rows] == ["running"]
        assert len(store.search("diesel", limit=1000)) == articles


def _count(path: Path, table: str) -> int:
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
