"""End to end: real crawls of the saved site on 127.0.0.1, checked in the SQLite archive and WARC files."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from conftest import fastwarc_check, forbidden_requests, indexes_unlike_read_back, site_flags, zwcrawl
from warcio.archiveiterator import ArchiveIterator

from zwcrawl.article import Article
from zwcrawl.mirror import MirrorServer

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED = sorted((FIXTURES / "zwsite" / "expected").glob("*/*.json"))
ARTICLES = {
    (d["edition"], d["article_id"]): d
    for d in (json.loads(p.read_text()) for p in EXPECTED)
    if d.get("is_article")
}
COLUMNS = [*Article.names("column"), *Article.names("counter")]  # the article columns, named in Article


def rows(db: Path, sql: str, *params) -> list[dict]:
    """Query the archive read-only."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def article_requests(requests, since: int = 0) -> Counter:
    """How often each article path was requested, from the mirror's log."""
    return Counter(
        r.path.rstrip("/") for r in requests[since:] if r.path.startswith("/news/article/") and r.status
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Crawl a copy of the site (English gzip-encoded), change a counter, crawl again with --refresh."""
    tmp = tmp_path_factory.mktemp("crawl")
    site = tmp / "site"
    shutil.copytree(FIXTURES / "zwsite", site)
    server = MirrorServer(site, faults={"en": {"*": {"gzip": True}}}, log_path=tmp / "mirror.jsonl").start()
    archive = tmp / "archive"
    sites = site_flags(server)
    # The first two crawls read every article page in the extraction worker, the third all in-process.
    worker = ["-s", "ZW_EXTRACT_WORKER_AFTER=0"]
    first = zwcrawl("crawl", "--archive", archive, *sites, *worker)
    after_first = len(server.requests)
    db = archive / "zwcrawl.db"
    first_rows = {(r["edition"], r["article_id"]): r for r in rows(db, "select * from articles")}
    page = site / "en.zamanalwsl.net/news/article/34489.html"
    page.write_text(
        page.read_text().replace(
            '<span class="like-count">(55)</span>', '<span class="like-count">(56)</span>'
        )
    )
    second = zwcrawl("crawl", "--archive", archive, "--refresh", *sites, *worker)
    after_second = len(server.requests)
    full = zwcrawl("crawl", "--archive", archive, "--full", "--edition", "en", *sites)
    yield SimpleNamespace(
        server=server, archive=archive, db=db, first=first, second=second, full=full,
        first_rows=first_rows, after_first=after_first, after_second=after_second,
    )  # fmt: skip
    server.stop()


def test_crawls_run_to_their_end(crawled):
    for run in (crawled.first, crawled.second, crawled.full):
        assert run.returncode == 0, run.stderr
        assert "finished" in run.stdout
    statuses = [r["status"] for r in rows(crawled.db, "select status from crawls order by id")]
    assert statuses == ["finished", "finished", "finished"]


def test_the_first_crawls_read_their_article_pages_in_the_extraction_worker(crawled):
    logs = [p.read_text() for p in sorted((crawled.archive / "logs").glob("crawl-*.log"))]
    assert len(logs) == 3
    for log in logs[:2]:
        assert re.search(r"extraction worker: [1-9]\d* article pages read there, 0 here", log)
    assert "extraction worker" not in logs[2]


def test_every_article_is_archived_once_with_its_fields(crawled):
    assert set(crawled.first_rows) == set(ARTICLES)
    for key, expected in ARTICLES.items():
        row = crawled.first_rows[key]
        got = {c: row[c] for c in COLUMNS}
        want = {c: expected[c] for c in COLUMNS}
        want["with_agencies"] = int(want["with_agencies"])
        assert got == want, key


def test_people_comments_and_images_are_tables(crawled):
    for (edition, article_id), expected in ARTICLES.items():
        people = rows(
            crawled.db,
            "select role, name from article_people join people on people.id = person_id "
            "where edition = ? and article_id = ? order by role, position",
            edition, article_id,
        )  # fmt: skip
        assert [p["name"] for p in people if p["role"] == "author"] == expected["authors"]
        assert [p["name"] for p in people if p["role"] == "translator"] == expected["translators"]
        comments = rows(
            crawled.db,
            "select author, posted, text from comments where edition = ? and article_id = ? "
            "order by position",
            edition, article_id,
        )  # fmt: skip
        assert comments == expected["comments"]
        images = rows(
            crawled.db,
            "select url, caption from images where edition = ? and article_id = ? order by position",
            edition, article_id,
        )  # fmt: skip
        assert images == expected["images"]


def test_no_forbidden_request_reaches_the_site(crawled):
    assert forbidden_requests(crawled.server.requests) == []
    paths = [r.path for r in crawled.server.requests]
    assert "/robots.txt" in paths
    assert not [p for p in paths if p.endswith(("/like", "/dislike"))]


def test_each_article_is_fetched_once_per_crawl(crawled):
    first = article_requests(crawled.server.requests[: crawled.after_first])
    assert len(first) == len(ARTICLES)
    assert set(first.values()) == {1}
    refresh = article_requests(crawled.server.requests[crawled.after_first : crawled.after_second])
    assert set(refresh.values()) == {1}
    assert len(refresh) == len(ARTICLES)


def test_article_rows_keep_real_urls_and_captures_keep_fetched_urls(crawled):
    bases = tuple(crawled.server.base_urls.values())
    for row in rows(crawled.db, "select url from articles"):
        assert row["url"].startswith(
            ("https://en.zamanalwsl.net/news/article/", "https://www.zamanalwsl.net/")
        )
    for row in rows(crawled.db, "select url from captures"):
        assert row["url"].startswith(bases)


def _record_at(archive: Path, capture: dict):
    """The record a capture row points at, read with warcio from exactly its offset."""
    with open(archive / capture["warc_file"], "rb") as fh:
        fh.seek(capture["warc_offset"])
        member = fh.read(capture["warc_length"])
    record = next(iter(ArchiveIterator(io.BytesIO(member))))
    return record, member, record.raw_stream.read()


def test_every_capture_row_points_at_its_record(crawled):
    captures = rows(crawled.db, "select * from captures")
    assert {c["record_type"] for c in captures} == {"response", "revisit", "metadata"}
    for capture in captures:
        assert not Path(capture["warc_file"]).is_absolute() and capture["warc_file"].startswith("warc/")
        record, member, _ = _record_at(crawled.archive, capture)
        assert len(member) == capture["warc_length"]
        headers = record.rec_headers
        assert headers.get_header("WARC-Record-ID") == capture["warc_record_id"]
        assert headers.get_header("WARC-Type") == capture["record_type"]
        if capture["record_type"] == "metadata":
            # Kept apart from the page, so replay finds the page under its URL; the row names the page.
            assert headers.get_header("WARC-Target-URI") == "urn:zwcrawl:fields:" + capture["url"]
            assert headers.get_header("WARC-Payload-Digest") is None
        else:
            assert headers.get_header("WARC-Target-URI") == capture["url"]
        if capture["record_type"] in ("response", "revisit"):
            assert headers.get_header("WARC-Payload-Digest") == capture["payload_digest"]


def test_gzip_bodies_are_stored_as_received(crawled):
    en_base = crawled.server.base_urls["en"]
    captures = rows(
        crawled.db,
        "select * from captures where record_type = 'response' and crawl_id = 1 and url like ?",
        en_base + "/news/article/%",
    )
    assert captures
    for capture in captures:
        record, _, raw = _record_at(crawled.archive, capture)
        assert record.http_headers.get_header("Content-Encoding") == "gzip"
        assert raw[:2] == b"\x1f\x8b"
        digest = "sha1:" + base64.b32encode(hashlib.sha1(raw).digest()).decode()
        assert digest == capture["payload_digest"]
        saved = FIXTURES / "zwsite/en.zamanalwsl.net" / (urlsplit(capture["url"]).path.strip("/") + ".html")
        assert gzip.decompress(raw) == saved.read_bytes()


def test_each_article_response_has_a_metadata_record_of_its_fields(crawled):
    responses = rows(
        crawled.db,
        "select * from captures where record_type in ('response', 'revisit') and url like '%/news/article/%'",
    )
    metadata = {
        m["concurrent_to"]: m
        for m in rows(crawled.db, "select * from captures where record_type = 'metadata'")
    }
    for response in responses:
        meta = metadata[response["warc_record_id"]]
        assert meta["url"] == response["url"] and meta["fetched_at"] >= response["fetched_at"]
        _, _, raw = _record_at(crawled.archive, meta)
        fields = json.loads(raw)
        key = (fields["edition"], fields["article_id"])
        assert fields["headline"] == ARTICLES[key]["headline"]
        assert fields["url"] == ARTICLES[key]["url"]


def test_refresh_writes_revisits_for_unchanged_pages_and_observations_for_changed_counters(crawled):
    second = rows(crawled.db, "select id from crawls order by id")[1]["id"]
    captures = rows(
        crawled.db,
        "select url, record_type from captures where crawl_id = ? and url like '%/news/article/%' "
        "and record_type != 'metadata'",
        second,
    )
    by_type = Counter(c["record_type"] for c in captures)
    assert by_type == {"revisit": len(ARTICLES) - 1, "response": 1}
    changed = [c["url"] for c in captures if c["record_type"] == "response"]
    assert changed == [crawled.server.base_urls["en"] + "/news/article/34489"]
    observed = rows(
        crawled.db,
        "select likes, crawl_id from observations where edition = 'en' and article_id = 34489 order by id",
    )
    assert [o["likes"] for o in observed][:2] == [55, 56]
    assert rows(crawled.db, "select likes from articles where article_id = 34489") == [{"likes": 56}]
    counts = rows(crawled.db, "select count(*) n from observations group by edition, article_id")
    assert {c["n"] for c in counts} >= {2}


def test_revisits_refer_to_an_original_with_the_same_digest(crawled):
    for revisit in rows(crawled.db, "select * from captures where record_type = 'revisit'"):
        original = rows(
            crawled.db, "select * from captures where warc_record_id = ?", revisit["refers_to_record_id"]
        )
        assert original and original[0]["record_type"] == "response"
        assert original[0]["payload_digest"] == revisit["payload_digest"]
        record, _, _ = _record_at(crawled.archive, revisit)
        assert record.rec_headers.get_header("WARC-Refers-To-Target-URI") == original[0]["url"]


def test_a_walked_section_stops_early_unless_full(crawled):
    def listing_pages(requests):
        return {r.path for r in requests if r.path.startswith("/news/articles/")}

    first = listing_pages(crawled.server.requests[: crawled.after_first])
    second = listing_pages(crawled.server.requests[crawled.after_first : crawled.after_second])
    full = listing_pages(crawled.server.requests[crawled.after_second :])
    assert {"/news/articles/3/2", "/news/articles/89/2"} <= first
    assert "/news/articles/3/2" not in second and "/news/articles/3/1" in second
    assert "/news/articles/3/2" in full


def test_warc_files_pass_warcio_check_and_have_a_cdxj_index(crawled):
    files = sorted((crawled.archive / "warc").glob("*.warc.gz"))
    assert len(files) == 3  # one per crawl, each headed by a warcinfo record
    check = subprocess.run(
        [Path(sys.executable).parent / "warcio", "check", *files], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    # A second, independent reader: FastWARC checks the block and payload digests of every record.
    revisits = {
        r["warc_record_id"] for r in rows(crawled.db, "select * from captures where record_type = 'revisit'")
    }
    for path in files:
        assert fastwarc_check(path, revisits) == [], path
    index = (crawled.archive / "warc" / "index.cdxj").read_text().splitlines()
    fetched = {c["url"] for c in rows(crawled.db, "select url from captures where record_type != 'metadata'")}
    indexed = {json.loads(line.split(" ", 2)[2])["url"] for line in index}
    assert fetched <= indexed
    assert index == sorted(index)


def test_verify_passes_on_the_crawled_archive(crawled):
    result = zwcrawl("verify", "--archive", crawled.archive)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK")


def test_an_id_range_records_missing_ids_and_soft_404s(mirror, tmp_path):
    archive = tmp_path / "ids"
    run = zwcrawl("crawl", "--archive", archive, "--edition", "en", "--ids", "34488-34491",
                  "--site", f"en={mirror.base_urls['en']}")  # fmt: skip
    assert run.returncode == 0, run.stderr
    db = archive / "zwcrawl.db"
    assert rows(db, "select article_id from articles") == [{"article_id": 34489}]
    missing = {r["article_id"]: (r["status"], r["reason"]) for r in rows(db, "select * from missing")}
    assert missing == {34488: (404, "not found"), 34490: (200, "soft 404"), 34491: (404, "not found")}
    fetched = sorted(r.path for r in mirror.requests if r.path.startswith("/news/article"))
    assert fetched == [f"/news/article/{i}" for i in range(34488, 34492)]
    assert not any(r.path in ("/", "/news/rss/52/") for r in mirror.requests)


def test_scrapy_crawl_works_beside_the_cli(mirror, tmp_path):
    archive = tmp_path / "scrapy-archive"
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [Path(sys.executable).parent / "scrapy", "crawl", "zaman", "-a", "editions=ar",
         "-a", f"sites=ar={mirror.base_urls['ar']}", "-s", f"ZW_ARCHIVE={archive}",
         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"],
        cwd=root, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    got = {r["article_id"] for r in rows(archive / "zwcrawl.db", "select article_id from articles")}
    assert got == {aid for (ed, aid) in ARTICLES if ed == "ar"}


def test_urls_of_both_editions_map_onto_their_copies(crawled):
    hosts = {urlsplit(u).netloc for u in crawled.server.base_urls.values()}
    seen = {
        next((v for k, v in r.headers.items() if k.lower() == "host"), None) for r in crawled.server.requests
    }
    assert seen <= hosts


def test_warc_files_roll_over_at_the_size_setting(mirror, tmp_path):
    archive = tmp_path / "small-files"
    run = zwcrawl("crawl", "--archive", archive, "--edition", "ar", "--site", f"ar={mirror.base_urls['ar']}",
                  "-s", "ZW_WARC_MAX_SIZE=8000")  # fmt: skip
    assert run.returncode == 0, run.stderr
    files = sorted((archive / "warc").glob("*.warc.gz"))
    assert len(files) > 3
    assert all(f.stat().st_size < 8000 + 40_000 for f in files)  # a file closes at the first exchange past it
    assert zwcrawl("verify", "--archive", archive).returncode == 0
    assert indexes_unlike_read_back(archive, tmp_path) == []  # each file's index made as it was written


def test_live_progress_and_a_log_file(mirror, tmp_path):
    archive = tmp_path / "progress"
    run = zwcrawl("crawl", "--archive", archive, "--edition", "ar", "--site", f"ar={mirror.base_urls['ar']}",
                  "-s", "ZW_PROGRESS=1")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "pages " in run.stderr and "articles new 6" in run.stderr and "pages/s" in run.stderr
    (log,) = (archive / "logs").glob("crawl-*.log")
    text = log.read_text()
    assert "Spider closed (finished)" in text
    # No back door into a running crawl: neither the telnet console nor the remote-control server.
    assert "RemoteControl" not in text and "TelnetConsole" not in text
    assert "Enabled extensions" in text


@pytest.mark.parametrize(
    ("query", "expected"), [("Yarmouk deal", ("en", 34486)), ("تصعد", ("ar", 87640)), ("حجر", ("ar", 87640))]
)
def test_search_finds_english_and_arabic(crawled, query, expected):
    run = zwcrawl("search", "--archive", crawled.archive, query, "--json")
    assert run.returncode == 0, run.stderr
    hits = [json.loads(line) for line in run.stdout.splitlines()]
    assert (hits[0]["edition"], hits[0]["article_id"]) == expected
    # For people: two lines a hit, the article then its snippet, whatever paragraphs the snippet spans.
    lines = zwcrawl("search", "--archive", crawled.archive, query).stdout.splitlines()
    assert len(lines) == 2 * len(hits)
    assert lines[0].startswith(f"{expected[0]}/{expected[1]}  ") and lines[1].startswith("    ")
