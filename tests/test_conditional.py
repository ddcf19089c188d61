"""Conditional refreshes: a mirror sending validators, a refresh asking with them, 304s as revisit records."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import as_from_a_terminal, fastwarc_check, indexes_unlike_read_back, site_flags, zwcrawl
from pywb_replay import warc_timestamp
from test_rebuild import tables
from test_replay import memento_time, payload
from warcio.archiveiterator import ArchiveIterator

from zwcrawl.extract import extract_article
from zwcrawl.mirror import MirrorServer
from zwcrawl.site import Sites
from zwcrawl.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
CHANGED = "/news/article/34489"  # edited on disk between the crawls (en, served gzip-encoded)


def rows(db: Path, sql: str, *params) -> list[dict]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def article_requests(requests) -> list:
    return [r for r in requests if r.path.startswith("/news/article/")]


def records(archive: Path) -> dict[str, object]:
    """Every WARC record of an archive by record id, read with warcio (bodies decoded as a browser would)."""
    found = {}
    for path in sorted((archive / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                body = record.content_stream().read()
                found[record.rec_headers.get_header("WARC-Record-ID")] = SimpleNamespace(
                    type=record.rec_type, warc=record.rec_headers, http=record.http_headers, body=body
                )
    return found


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    """A copy served with validators (English gzip), crawled, a page edited, crawled again with --refresh."""
    tmp = tmp_path_factory.mktemp("conditional")
    site = tmp / "site"
    shutil.copytree(FIXTURES / "zwsite", site)
    server = MirrorServer(
        site, validators=True, faults={"en": {"*": {"gzip": True}}}, log_path=tmp / "mirror.jsonl"
    ).start()
    archive = tmp / "archive"
    try:
        first = zwcrawl("crawl", "--archive", archive, *site_flags(server))
        assert first.returncode == 0, first.stderr
        served = len(server.requests)
        page = site / f"en.zamanalwsl.net{CHANGED}.html"
        page.write_text(page.read_text().replace('class="like-count">(55)', 'class="like-count">(56)'))
        second = zwcrawl("crawl", "--archive", archive, "--refresh", *site_flags(server))
        assert second.returncode == 0, second.stderr
    finally:
        server.stop()
    db = archive / "zwcrawl.db"
    return SimpleNamespace(
        tmp=tmp, archive=archive, db=db, server=server, first=server.requests[:served],
        second=server.requests[served:], stdout=second.stdout, tables=tables(db),
        articles=rows(db, "select edition, article_id, url from articles"), sites=Sites(server.base_urls),
    )  # fmt: skip


# -- the mirror ---------------------------------------------------------------------------------------------


def get(server: MirrorServer | str, path: str, **headers: str) -> http.client.HTTPResponse:
    """A GET of the English edition of a mirror (or a base URL), its body read into `body`."""
    base = server if isinstance(server, str) else server.base_urls["en"]
    host, port = base.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path, headers=headers)
    answer = connection.getresponse()
    answer.body = answer.read()
    connection.close()
    return answer


def test_the_mirror_sends_validators_and_answers_304_only_when_asked(mirror_factory, zwsite):
    plain = mirror_factory(zwsite)
    assert get(plain, "/news/article/34492").getheader("ETag") is None  # off by default
    server = mirror_factory(zwsite, validators=True, faults={"en": {"*": {"gzip": True}}})
    full = get(server, "/news/article/34492")
    etag, modified = full.getheader("ETag"), full.getheader("Last-Modified")
    assert full.status == 200 and etag.startswith('"') and modified.endswith(" GMT")
    zipped = get(server, "/news/article/34492", **{"Accept-Encoding": "gzip"})
    assert zipped.getheader("ETag") != etag  # a strong ETag per representation: gzip has its own
    for asked in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"x", W/{etag}'},
        {"If-Modified-Since": modified},
    ):
        answer = get(server, "/news/article/34492", **asked)
        assert (answer.status, answer.body, answer.getheader("ETag")) == (304, b"", etag), asked
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2); a stale tag gets the page.
    stale = get(server, "/news/article/34492", **{"If-None-Match": '"old"', "If-Modified-Since": modified})
    assert stale.status == 200 and stale.body == full.body
    assert get(server, "/news/article/1", **{"If-None-Match": "*"}).status == 404  # no file, no validators
    assert [r.status for r in server.requests][-5:] == [304, 304, 304, 200, 404]


def test_the_mirror_command_sends_validators_when_asked(zwsite):
    command = [sys.executable, "-m", "zwcrawl", "mirror", zwsite, "--port-en", "0", "--port-ar", "0"]
    proc = subprocess.Popen(
        [*command, "--validators"], stdout=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal
    )
    try:
        base = proc.stdout.readline().split()[1]
        etag = get(base, "/news/article/34492").getheader("ETag")
        assert etag and get(base, "/news/article/34492", **{"If-None-Match": etag}).status == 304
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


# -- the crawl ----------------------------------------------------------------------------------------------


def test_a_refresh_asks_conditionally_and_gets_304_for_every_unchanged_article(refreshed):
    asked = article_requests(refreshed.second)
    archived = {f"/news/article/{a['article_id']}" for a in refreshed.articles}
    # One request per archived article, as a refresh without validators makes: none added or repeated.
    assert sorted(r.path for r in asked) == sorted(archived)
    for request in asked:
        assert "If-None-Match" in request.headers and "If-Modified-Since" in request.headers, request.path
        assert request.status == (200 if request.path == CHANGED else 304), request.path
    assert sum(r.status == 304 for r in refreshed.second) == len(refreshed.articles) - 1
    assert sum(r.bytes_sent for r in asked) < sum(r.bytes_sent for r in article_requests(refreshed.first)) / 4
    stats = rows(refreshed.db, "select stats from crawls where id = 2")[0]["stats"]
    assert json.loads(stats)["not_modified"] == len(refreshed.articles) - 1


def test_each_304_is_a_server_not_modified_revisit_of_the_full_capture(refreshed):
    found = records(refreshed.archive)
    revisits = rows(refreshed.db, "select * from captures where status = 304 order by id")
    assert len(revisits) == len(refreshed.articles) - 1
    for row in revisits:
        revisit = found[row["warc_record_id"]]
        original = found[row["refers_to_record_id"]]
        h = revisit.warc
        assert revisit.type == "revisit" and h.get_header("WARC-Profile") == NOT_MODIFIED
        assert h.get_header("WARC-Refers-To-Target-URI") == h.get_header("WARC-Target-URI") == row["url"]
        assert h.get_header("WARC-Refers-To-Date") == original.warc.get_header("WARC-Date")
        assert h.get_header("WARC-Payload-Digest") == original.warc.get_header("WARC-Payload-Digest")
        # The block is the 304's headers, no body; its original is the first crawl's full response.
        assert revisit.http.get_statuscode() == "304" and revisit.body == b""
        assert revisit.http.get_header("ETag") == original.http.get_header("ETag")
        assert original.type == "response" and original.http.get_statuscode() == "200" and original.body
        (request,) = [
            r for r in found.values()
            if r.type == "request" and r.warc.get_header("WARC-Concurrent-To") == row["warc_record_id"]
        ]  # fmt: skip
        assert request.http.get_header("If-None-Match") == original.http.get_header("ETag")
        assert request.http.get_header("If-Modified-Since") == original.http.get_header("Last-Modified")
    changed = rows(refreshed.db, f"select * from captures where crawl_id = 2 and url like '%{CHANGED}'")
    response = next(c for c in changed if c["record_type"] == "response")
    assert response["status"] == 200 and response["etag"]
    assert b'class="like-count">(56)' in found[response["warc_record_id"]].body


def test_a_304_is_an_unchanged_observation_with_the_counters_it_refers_to(refreshed):
    assert "0 new articles, 0 updated, 20 unchanged" in refreshed.stdout
    pairs = rows(
        refreshed.db,
        "select o.article_id, o.likes, o.dislikes, o.comments_count, c.status, c.record_type"
        " from observations o join captures c on c.id = o.capture_id order by o.article_id, o.id",
    )
    by_article: dict[int, list[dict]] = {}
    for pair in pairs:
        by_article.setdefault(pair["article_id"], []).append(pair)
    assert len(by_article) == len(refreshed.articles)
    for article_id, (first, second) in by_article.items():
        assert first["status"] == 200
        if article_id == 34489:
            assert (second["status"], second["likes"]) == (200, first["likes"] + 1)
            continue
        assert (second["status"], second["record_type"]) == (304, "revisit")
        assert [second[k] for k in ("likes", "dislikes", "comments_count")] == [
            first[k] for k in ("likes", "dislikes", "comments_count")
        ]
    # The refresh policy counts a 304 as an observation that found nothing changed.
    with Store(refreshed.db, read_only=True) as store:
        histories = {a: unchanged for a, _b, _l, unchanged in store.refresh_histories("en")}
    assert histories[34489] == 0 and histories[34492] == 1


def test_verify_rebuild_and_fastwarc_accept_the_304_revisits(refreshed, tmp_path):
    verify = zwcrawl("verify", "--archive", refreshed.archive)
    assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stdout
    revisits = {
        r["warc_record_id"]
        for r in rows(refreshed.db, "select * from captures where record_type = 'revisit'")
    }
    for path in sorted((refreshed.archive / "warc").glob("*.warc.gz")):
        assert fastwarc_check(path, revisits) == [], path
    for options in ((), ("--from-metadata", "--workers", "1")):
        copy = tmp_path / f"archive{len(options)}"
        shutil.copytree(refreshed.archive, copy, ignore=shutil.ignore_patterns("zwcrawl.db*"))
        rebuilt = zwcrawl("rebuild", "--archive", copy, *options)
        assert rebuilt.returncode == 0 and "0 problem(s)" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
        again = tables(copy / "zwcrawl.db")
        assert again.keys() == refreshed.tables.keys()
        for name, content in refreshed.tables.items():
            assert again[name] == content, name


def test_a_304_replays_as_the_page_it_confirmed(refreshed, pywb, tmp_path):
    """Through zwcrawl's index and a WACZ, the time of a 304 shows the page it confirmed, not an empty 304."""
    index = (refreshed.archive / "warc" / "index.cdxj").read_text()
    assert '"status": "304"' not in index  # pywb would replay the 304's headers: an empty answer
    warcs = sorted((refreshed.archive / "warc").glob("*.warc.gz"))
    wacz = tmp_path / "crawl2.wacz"
    export = zwcrawl("export", "wacz", "--archive", refreshed.archive, "--output", wacz, "--crawl", "2")
    assert export.returncode == 0, export.stderr
    collections = [pywb.use_index(refreshed.archive / "warc" / "index.cdxj", warcs), pywb.add_wacz(wacz)]
    found = records(refreshed.archive)
    for revisit in rows(refreshed.db, "select * from captures where status = 304"):
        original = found[revisit["refers_to_record_id"]]
        for collection in collections:
            answer = pywb.get(collection, revisit["url"], warc_timestamp(revisit["fetched_at"]), "id_")
            # The page as the full capture holds it, at that capture's time: what the 304 confirmed.
            assert (answer.status, payload(answer)) == (200, original.body), (collection, revisit["url"])
            assert memento_time(answer) == original.warc.get_header("WARC-Date")
        page = pywb.get(collections[1], revisit["url"], warc_timestamp(revisit["fetched_at"]), "mp_")
        assert extract_article(page.body, refreshed.sites.to_real(revisit["url"])).get("headline")


def test_the_index_made_as_304s_were_written_is_what_reading_back_writes(refreshed, tmp_path):
    """Server-not-modified revisits, left out of the index, and the responses and revisits beside them."""
    assert rows(refreshed.db, "select count(*) n from captures where status = 304")[0]["n"] > 0
    assert indexes_unlike_read_back(refreshed.archive, tmp_path) == []


def test_without_validators_or_with_conditional_off_a_refresh_is_full(mirror_factory, zwsite, tmp_path):
    plain = mirror_factory(zwsite)
    archive = tmp_path / "plain"
    for options in ((), ("--refresh",)):
        assert zwcrawl("crawl", "--archive", archive, *options, *site_flags(plain)).returncode == 0
    asked = article_requests(plain.requests)
    assert not any("If-None-Match" in r.headers or "If-Modified-Since" in r.headers for r in asked)
    # Identical pages are identical-payload revisits, as before.
    profiles = {r.warc.get_header("WARC-Profile") for r in records(archive).values() if r.type == "revisit"}
    assert profiles == {"http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"}
    server = mirror_factory(zwsite, validators=True)
    archive = tmp_path / "off"
    assert zwcrawl("crawl", "--archive", archive, *site_flags(server)).returncode == 0
    served = len(server.requests)
    off = zwcrawl(
        "crawl", "--archive", archive, "--refresh", "-s", "ZW_CONDITIONAL=False", *site_flags(server)
    )
    assert off.returncode == 0, off.stderr
    assert not any(r.status == 304 for r in server.requests[served:])
