"""zwcrawl rebuild: real crawls of a local copy, their database made again from the WARC files alone."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import site_flags, zwcrawl

from zwcrawl.lock import ArchiveLock
from zwcrawl.mirror import MirrorServer
from zwcrawl.warc import Exchange, WarcWriter, crawl_warcinfo

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# What the WARC files cannot give back, and so the only things the comparison leaves out:
# - failures and sections: a failed fetch and how far a listing was walked leave no record of their own;
# - a crawl's end: ended_at, status and stats (a rebuilt crawl is 'finished' at its last record), and pid;
# - sqlite-utils' migration log (when each migration ran) and the search index's internals (it is derived
#   from articles by triggers; searches are compared instead).
# - redirects (0035) come from the 3xx captures (tests/test_crawl_edges.py), but these crawls hold none, and
#   a redirect loop the crawl reported as a failure is two redirects to a rebuild.
UNRECOVERABLE_TABLES = {"failures", "sections", "redirects", "_sqlite_migrations"}
UNRECOVERABLE_COLUMNS = {"crawls": {"ended_at", "status", "stats", "pid"}}


def tables(db: Path) -> dict[str, list[tuple]]:
    """Every table but the unrecoverable ones, each row with its recoverable columns, in a stable order."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "select name from sqlite_master where type = 'table' and name not like 'articles_fts%'"
            )
        ]
        out = {}
        for name in names:
            if name in UNRECOVERABLE_TABLES:
                continue
            skip = UNRECOVERABLE_COLUMNS.get(name, set())
            columns = [r[1] for r in conn.execute(f"pragma table_info({name})") if r[1] not in skip]
            listed = ", ".join(columns)
            out[name] = conn.execute(f"select {listed} from {name} order by {listed}").fetchall()
        return out


def rows(db: Path, sql: str, *params) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Three crawls of a copy (English gzip-encoded): the first, a refresh after an edit, an id range."""
    tmp = tmp_path_factory.mktemp("rebuild")
    site = tmp / "site"
    shutil.copytree(FIXTURES / "zwsite", site)
    server = MirrorServer(site, faults={"en": {"*": {"gzip": True}}}, log_path=tmp / "mirror.jsonl").start()
    archive = tmp / "archive"
    try:
        assert zwcrawl("crawl", "--archive", archive, *site_flags(server)).returncode == 0
        page = site / "en.zamanalwsl.net/news/article/34489.html"
        text = page.read_text().replace(
            '<span class="like-count">(55)</span>', '<span class="like-count">(56)</span>'
        )
        page.write_text(text.replace("east Syrian desert", "eastern Syrian desert"))  # a second version
        assert zwcrawl("crawl", "--archive", archive, "--refresh", *site_flags(server)).returncode == 0
        ids = (
            "--edition",
            "en",
            "--ids",
            "34488-34491",
            "--refresh",
            "--site",
            f"en={server.base_urls['en']}",
        )
        assert zwcrawl("crawl", "--archive", archive, *ids).returncode == 0
    finally:
        server.stop()
    yield SimpleNamespace(archive=archive, db=archive / "zwcrawl.db", tables=tables(archive / "zwcrawl.db"))


def copy_of(archive: Path, to: Path, *, keep_db: bool = True) -> Path:
    shutil.copytree(archive, to, ignore=shutil.ignore_patterns(*([] if keep_db else ["zwcrawl.db*"])))
    return to


def test_the_crawled_archive_has_every_kind_of_row(crawled):
    counts = {name: len(content) for name, content in crawled.tables.items()}
    for name in ("articles", "observations", "article_versions", "captures", "missing", "comments", "images"):
        assert counts[name] > 0, name
    assert counts["article_versions"] > counts["articles"]  # the headline edit made a second version
    assert {r[0] for r in rows(crawled.db, "select record_type from captures")} == {
        "response", "revisit", "metadata"
    }  # fmt: skip


def test_a_rebuild_gives_back_every_table_of_the_crawl(crawled, tmp_path):
    archive = copy_of(crawled.archive, tmp_path / "archive")
    result = zwcrawl("rebuild", "--archive", archive)
    assert result.returncode == 0, result.stdout + result.stderr
    rebuilt = tables(archive / "zwcrawl.db")
    assert rebuilt.keys() == crawled.tables.keys()
    for name, content in crawled.tables.items():
        assert rebuilt[name] == content, name
    assert "rebuilt" in result.stdout and "0 problem(s)" in result.stdout


def test_a_rebuild_works_when_the_database_is_gone(crawled, tmp_path):
    archive = copy_of(crawled.archive, tmp_path / "archive", keep_db=False)
    assert not (archive / "zwcrawl.db").exists()
    result = zwcrawl("rebuild", "--archive", archive)
    assert result.returncode == 0, result.stdout + result.stderr
    assert tables(archive / "zwcrawl.db") == crawled.tables
    assert not list(archive.glob("zwcrawl.db.bak-*"))  # nothing to keep
    verify = zwcrawl("verify", "--archive", archive)
    assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stdout
    for query, expected in (("Yarmouk", "en"), ("مخيم اليرموك", "ar")):
        search = zwcrawl("search", "--archive", archive, query, "--json")
        crawled_search = zwcrawl("search", "--archive", crawled.archive, query, "--json")
        assert search.stdout == crawled_search.stdout and f'"edition": "{expected}"' in search.stdout


def test_from_metadata_gives_back_the_fields_as_extracted_at_capture_time(crawled, tmp_path):
    archive = copy_of(crawled.archive, tmp_path / "archive", keep_db=False)
    result = zwcrawl("rebuild", "--archive", archive, "--from-metadata", "--workers", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert tables(archive / "zwcrawl.db") == crawled.tables


def test_the_old_database_is_kept_beside_the_new_one(crawled, tmp_path):
    archive = copy_of(crawled.archive, tmp_path / "archive")
    old = (archive / "zwcrawl.db").read_bytes()
    (archive / "zwcrawl.db.rebuild-20200101T000000Z").write_bytes(b"left by a rebuild killed before its swap")
    result = zwcrawl("rebuild", "--archive", archive)
    assert result.returncode == 0, result.stderr
    # The WAL goes with its database (zwcrawl.db.bak-TIME-wal), so no committed row is left behind.
    (backup,) = [p for p in archive.glob("zwcrawl.db.bak-*") if not p.name.endswith(("-wal", "-shm"))]
    assert backup.read_bytes() == old and backup.name in result.stdout
    assert not list(archive.glob("zwcrawl.db.rebuild-*"))
    assert tables(backup) == crawled.tables


def test_rows_a_killed_crawl_left_in_the_wal_stay_with_the_old_database(crawled, tmp_path):
    # A crawl killed with SIGKILL leaves committed rows in zwcrawl.db-wal. The rebuild folds them into the
    # old database before moving it aside, so one rename moves it whole: a rebuild killed between moving a
    # WAL and its database could otherwise part them.
    archive = copy_of(crawled.archive, tmp_path / "archive")
    killed = (
        "import os, signal, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1])\n"
        "db.execute('pragma wal_autocheckpoint = 0')\n"
        'db.execute("update crawls set pid = 424242")\n'
        "db.commit()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", killed, archive / "zwcrawl.db"], check=False)
    assert (archive / "zwcrawl.db-wal").stat().st_size > 0
    result = zwcrawl("rebuild", "--archive", archive)
    assert result.returncode == 0, result.stderr
    moved = sorted(p.name for p in archive.glob("zwcrawl.db.bak-*"))
    assert len(moved) == 1, f"the old database is more than one file: {moved}"
    assert {p for (p,) in rows(archive / moved[0], "select pid from crawls")} == {424242}


def test_a_rebuild_waits_for_no_crawl_it_refuses_to_run_beside_one(crawled, tmp_path):
    archive = copy_of(crawled.archive, tmp_path / "archive")
    before = (archive / "zwcrawl.db").read_bytes()
    lock = ArchiveLock(archive).acquire()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "zwcrawl", "rebuild", "--archive", str(archive)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        lock.release()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "another zwcrawl crawl" in result.stderr
    assert (archive / "zwcrawl.db").read_bytes() == before


ARTICLE = "https://en.zamanalwsl.net/news/article/34489"


def _page(article_id: int, headline: str) -> bytes:
    template = (FIXTURES / "zwsite/en.zamanalwsl.net/news/article/34489.html").read_text()
    return template.replace("34489", str(article_id)).encode()


def test_a_rebuild_extracts_with_todays_extractor_unless_told_from_metadata(tmp_path):
    """WARC records written directly: the metadata record holds what an older extractor got wrong."""
    archive = tmp_path / "archive"
    url = "https://en.zamanalwsl.net/news/article/34489"
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    options = {"editions": ["en"], "sites": {}}
    with WarcWriter(
        archive, info=crawl_warcinfo(7, "2026-01-02T03:04:00Z", options), clock=lambda: when
    ) as w:
        exchange = Exchange(
            url=url, method="GET", request_headers=[("Host", "en.zamanalwsl.net")], request_body=b"",
            status=200, reason="OK", response_headers=[("Content-Type", "text/html; charset=utf-8")],
            body=_page(34489, ""), fetched_at=when,
        )  # fmt: skip
        _, response = w.write_exchange(exchange)
        old = json.loads((FIXTURES / "zwsite/expected/en/34489.json").read_text())
        w.write_metadata(url, response.record_id, {**old, "headline": "What an old extractor read"})
    today = zwcrawl("rebuild", "--archive", archive)
    assert today.returncode == 0, today.stdout + today.stderr
    db = archive / "zwcrawl.db"
    assert rows(db, "select headline, first_seen from articles") == [
        (old["headline"], "2026-01-02T03:04:05Z")
    ]
    assert rows(db, "select id, started_at, options from crawls") == [
        (7, "2026-01-02T03:04:00Z", json.dumps(options, sort_keys=True))
    ]
    then = zwcrawl("rebuild", "--archive", archive, "--from-metadata")
    assert then.returncode == 0, then.stdout + then.stderr
    assert rows(db, "select headline from articles") == [("What an old extractor read",)]


def test_a_page_the_crawl_could_not_read_is_read_again_by_a_rebuild(tmp_path):
    """A parse error leaves the response without a metadata record; today's extractor may read it."""
    archive = tmp_path / "archive"
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with WarcWriter(archive, info=crawl_warcinfo(1, "2026-01-02T03:04:00Z", {}), clock=lambda: when) as w:
        exchange = Exchange(
            url=ARTICLE, method="GET", request_headers=[("Host", "en.zamanalwsl.net")], request_body=b"",
            status=200, reason="OK", response_headers=[("Content-Type", "text/html; charset=utf-8")],
            body=_page(34489, ""), fetched_at=when,
        )  # fmt: skip
        w.write_exchange(exchange)
        cut = Exchange(**{**exchange.__dict__, "url": ARTICLE[:-2] + "90", "body": _page(34490, "")[:2000]})
        w.write_exchange(cut)  # cut short: a crawl fetched it again, and so it stays unsaved
    result = zwcrawl("rebuild", "--archive", archive)
    assert result.returncode == 0, result.stdout + result.stderr
    db = archive / "zwcrawl.db"
    expected = json.loads((FIXTURES / "zwsite/expected/en/34489.json").read_text())["headline"]
    assert rows(db, "select article_id, headline from articles") == [(34489, expected)]
    assert rows(db, "select count(*) from missing") == [(0,)]
