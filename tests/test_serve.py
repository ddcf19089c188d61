"""zwcrawl serve: the archive in Datasette, through Datasette's own test client and over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import serving

from zwcrawl.serve import archive_datasette
from zwcrawl.serve.queries import CANNED_QUERIES
from zwcrawl.serve.schema_notes import schema_notes

EXPECTED = Path(__file__).resolve().parent / "fixtures" / "zwsite" / "expected"
ARTICLES = {
    (d["edition"], d["article_id"]): d
    for d in (json.loads(p.read_text("utf-8")) for p in sorted(EXPECTED.glob("*/*.json")))
    if d.get("is_article")
}


class Client:
    """Datasette's own test client (datasette.client), driven from synchronous tests."""

    def __init__(self, db: Path):
        self.datasette = archive_datasette(db)
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.datasette.invoke_startup())

    def get(self, path: str):
        response = self.loop.run_until_complete(self.datasette.client.get(path))
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response

    def rows(self, path: str) -> list[dict]:
        separator = "&" if "?" in path else "?"
        return self.get(f"{path}{separator}_shape=array&_size=max").json()

    def close(self) -> None:
        self.loop.close()


@pytest.fixture(scope="module")
def client(small_archive):
    client = Client(small_archive / "zwcrawl.db")
    yield client
    client.close()


def test_articles_json_lists_every_article(client):
    rows = client.rows("/zwcrawl/articles.json")
    assert {(r["edition"], r["article_id"]) for r in rows} == set(ARTICLES)
    assert all(r["headline"] == ARTICLES[r["edition"], r["article_id"]]["headline"] for r in rows)
    # Newest first, as a person expects a news archive.
    published = [r["published"] for r in rows if r["published"]]
    assert published == sorted(published, reverse=True)


def test_every_visible_table_and_column_is_described_from_the_ddl_comments(client, small_archive):
    database = client.get("/zwcrawl.json").json()
    visible = {t["name"] for t in database["tables"] if not t["hidden"]} | {
        v["name"] for v in database["views"]
    }
    assert {"articles", "captures", "crawls", "observations", "article_versions", "failures"} <= visible
    with sqlite3.connect(small_archive / "zwcrawl.db") as conn:
        notes = {n.name: n for n in schema_notes(conn)}
    metadata = client.get("/-/metadata.json").json()["databases"]["zwcrawl"]["tables"]
    for name in visible:
        assert metadata[name]["title"] and metadata[name]["description"] == notes[name].description
        assert set(metadata[name]["columns"]) == set(notes[name].columns), name  # every column
        assert all(metadata[name]["columns"].values()), name
    assert metadata["articles"]["columns"]["published"] == (
        "the page's date line converted from Damascus time to UTC"
    )
    assert metadata["article_authors"]["columns"]["name"] == "the name as printed in attribution lines"
    # A person reads them on the table page too.
    page = client.get("/zwcrawl/articles").text
    assert "one row per article, kept current by later captures" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("تصعد", ("ar", 87640)),  # the page prints تصعّد: harakat folded in the query and the index
        ("حجر", ("ar", 87640)),  # the page prints والحجر: the article and the و made optional
        ("الأسود", ("ar", 87640)),  # hamza on alef folded
        ("Yarmouk deal", ("en", 34486)),
        ("al-Wasl", None),  # FTS5 syntax characters are taken literally, never an error page
    ],
)
def test_search_folds_the_query_like_zwcrawl_search(client, small_archive, query, expected):
    rows = client.rows(f"/zwcrawl/articles.json?_search={quote(query)}")
    found = {(r["edition"], r["article_id"]) for r in rows}
    if expected:
        assert expected in found
    run = subprocess.run(
        [sys.executable, "-m", "zwcrawl", "search", "--archive", small_archive, query, "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert expected is None or expected in {
        (h["edition"], h["article_id"]) for h in map(json.loads, run.stdout.splitlines())
    }


def test_facets_edition_section_source_author_and_month(client):
    facets = client.get("/zwcrawl/articles.json?_facet_size=max").json()["facet_results"]
    # Shown as "authors (author)" and "published (month)".
    assert {"edition", "section", "source", "authors", "published"} <= set(facets)
    editions = {r["value"]: r["count"] for r in facets["edition"]["results"]}
    assert editions == {e: sum(1 for k in ARTICLES if k[0] == e) for e in ("en", "ar")}
    months = [r["value"] for r in facets["published"]["results"]]
    assert months == sorted(months, reverse=True) and "2018-04" in months
    # Choosing an author keeps that author's articles, and the facet shows it chosen.
    wrote = {k for k, d in ARTICLES.items() if "Paul Keane" in (d.get("authors") or [])}
    (keane,) = [r for r in facets["authors"]["results"] if r["value"] == "Paul Keane"]
    assert keane["count"] == len(wrote) > 0
    chosen = client.get(keane["toggle_url"].replace("http://localhost", "")).json()
    assert {(r[0], r[1]) for r in chosen["rows"]} == wrote
    selected = {r["value"]: r["selected"] for r in chosen["facet_results"]["authors"]["results"]}
    assert selected["Paul Keane"] and sum(selected.values()) == 1  # co-authors are listed, not chosen
    april = client.rows("/zwcrawl/articles.json?published__startswith=2018-04")
    assert april and all(r["published"].startswith("2018-04") for r in april)


def test_canned_queries(client, small_archive):
    database = client.get("/zwcrawl.json").json()
    assert {q["name"] for q in database["queries"]} == set(CANNED_QUERIES)
    counters = client.rows("/zwcrawl/article_counters.json?edition=en&article_id=34489")
    assert [c["likes"] for c in counters] == [55, 58, 64]
    months = client.rows("/zwcrawl/articles_per_month_by_edition.json")
    assert sum(m["total"] for m in months) == sum(1 for d in ARTICLES.values() if d.get("published"))
    assert client.rows("/zwcrawl/articles_per_month_by_source.json")
    sources = client.rows("/zwcrawl/most_cited_sources.json")
    assert sources[0]["articles"] >= sources[-1]["articles"] > 0
    authors = client.rows("/zwcrawl/most_published_authors.json")
    author = authors[0]["author"]
    written = client.rows(f"/zwcrawl/author_articles.json?author={quote(author)}")
    assert len(written) == authors[0]["articles"]
    captured = client.rows("/zwcrawl/crawl_captured.json?crawl_id=1")
    assert captured and {c["record_type"] for c in captured} <= {"response", "revisit"}
    failed = client.rows("/zwcrawl/crawl_failed.json?crawl_id=1")
    # The faulty copy's redirect loop between 34400 and 34401 stays failed.
    assert any("/news/article/3440" in f["url"] for f in failed)


def test_every_article_row_links_to_its_capture_versions_and_observations(client, small_archive):
    with sqlite3.connect(small_archive / "zwcrawl.db") as conn:
        capture_id, warc_file, offset, record_id = conn.execute(
            "select c.id, c.warc_file, c.warc_offset, c.warc_record_id from articles a"
            " join captures c on c.id = a.capture_id where a.edition = 'en' and a.article_id = 34489"
        ).fetchone()
    page = client.get("/zwcrawl/articles?article_id=34489").text
    assert f'href="/zwcrawl/captures/{capture_id}"' in page
    assert f"{warc_file} @ {offset}" in page and record_id.replace("<", "&lt;").replace(">", "&gt;") in page
    assert 'href="/zwcrawl/article_versions?edition=en&amp;article_id=34489"' in page
    assert 'href="/zwcrawl/observations?edition=en&amp;article_id=34489"' in page
    # The links lead somewhere: the capture row, three observations, one version.
    assert client.get(f"/zwcrawl/captures/{capture_id}.json").json()["rows"]
    assert len(client.rows("/zwcrawl/observations.json?edition=en&article_id=34489")) == 3
    assert len(client.rows("/zwcrawl/article_versions.json?edition=en&article_id=34489")) == 1


def _digest(archive: Path) -> dict[str, str]:
    """The database and its write-ahead log; a reader may leave an empty -wal (and its -shm) behind."""
    files = [archive / "zwcrawl.db", archive / "zwcrawl.db-wal"]
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.exists() and p.stat().st_size
    }


def test_it_never_writes(small_archive):
    before = _digest(small_archive)
    client = Client(small_archive / "zwcrawl.db")
    try:
        database = client.datasette.get_database("zwcrawl")
        with pytest.raises(PermissionError):
            database.connect(write=True)
        for sql in ("delete from articles", "update articles set likes = 0"):
            response = client.loop.run_until_complete(
                client.datasette.client.get(f"/zwcrawl.json?sql={quote(sql)}")
            )
            assert response.status_code == 400
        client.rows("/zwcrawl/articles.json?_search=Daraa&_facet=edition")
    finally:
        client.close()
    assert _digest(small_archive) == before


def test_it_reads_beside_a_crawl_writing_in_wal_mode(small_archive, tmp_path):
    """mode=ro sees each committed state and is never blocked by a writer (immutable would see neither)."""
    archive = tmp_path / "archive"
    shutil.copytree(small_archive, archive, ignore=shutil.ignore_patterns("warc", "logs"))
    client = Client(archive / "zwcrawl.db")
    writer = sqlite3.connect(archive / "zwcrawl.db", isolation_level=None)
    try:
        assert writer.execute("pragma journal_mode").fetchone() == ("wal",)
        writer.execute("begin immediate")
        writer.execute("update articles set likes = 999 where edition = 'en' and article_id = 34489")
        path = "/zwcrawl/articles.json?edition=en&article_id=34489"
        assert client.rows(path)[0]["likes"] == 64  # the write in progress is not seen, nor waited for
        writer.execute("commit")
        assert client.rows(path)[0]["likes"] == 999  # the committed one is
    finally:
        writer.close()
        client.close()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_serves_on_loopback_and_stops_quietly(small_archive, stop):
    before = _digest(small_archive)
    with serving(small_archive, stop=stop) as (server, url):
        assert url.endswith("/zwcrawl")
        with urllib.request.urlopen(f"{url}/articles.json?_shape=array&_size=max") as response:
            assert len(json.load(response)) == len(ARTICLES)
        # A second server on the same port: one line, exit 1.
        port = url.split(":")[2].split("/")[0]
        busy = subprocess.run(
            [sys.executable, "-m", "zwcrawl", "serve", "--archive", small_archive, "--port", port],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert busy.returncode == 1
        assert busy.stderr.strip().splitlines() == [
            f"zwcrawl: cannot listen on 127.0.0.1:{port}: Address already in use"
        ]
    assert server.returncode == 0, server.err
    assert server.err == ""
    assert _digest(small_archive) == before


def test_open_shows_the_archive_in_the_browser_once_it_answers(small_archive, tmp_path):
    opened = tmp_path / "opened.txt"
    # webbrowser runs $BROWSER with the URL for %s: here a script that writes it down.
    browser = f"{sys.executable} -c \"import sys; open(sys.argv[2], 'w').write(sys.argv[1])\" %s {opened}"
    with serving(small_archive, "--open", env={"BROWSER": browser}) as (server, url):
        deadline = time.monotonic() + 30
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text() == url
    assert server.returncode == 0
