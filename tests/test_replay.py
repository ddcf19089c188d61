"""Replay through pywb itself: the WARC files of real crawls show the archived pages, never our metadata."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from pywb_replay import Replayed, warc_timestamp
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from zwcrawl.extract import extract_article
from zwcrawl.site import Sites
from zwcrawl.warc import Exchange, WarcWriter, described_url, index_warc

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ZWSITE = FIXTURES / "zwsite"
ARTICLES = {
    d["url"]: d
    for d in (json.loads(p.read_text()) for p in sorted((ZWSITE / "expected").glob("*/*.json")))
    if d.get("is_article")
}
HOSTS = {"en": "en.zamanalwsl.net", "ar": "www.zamanalwsl.net"}


def rows(db: Path, sql: str, *params) -> list[dict]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def saved_page(sites: Sites, url: str) -> bytes:
    """The saved file the mirror served for a fetched URL."""
    site = sites.classify(url)
    path = urlsplit(url).path.strip("/") or "index"
    return (ZWSITE / HOSTS[site.edition] / f"{path}.html").read_bytes()


def payload(answer: Replayed) -> bytes:
    """An id_ answer's body as the server sent it, before its Content-Encoding."""
    encoding = {k.lower(): v for k, v in answer.headers.items()}.get("content-encoding", "")
    return gzip.decompress(answer.body) if encoding == "gzip" else answer.body


def memento_time(answer: Replayed) -> str:
    """The capture time pywb says it replayed (Memento-Datetime), as a WARC-Date."""
    moment = parsedate_to_datetime(answer.headers["Memento-Datetime"]).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def crawled(refreshed_archive, pywb):
    """The shared two-crawl archive, its WARC files added to a pywb collection (wb-manager add)."""
    warcs = sorted((refreshed_archive.archive / "warc").glob("*.warc.gz"))
    added = pywb.add(*warcs)
    return SimpleNamespace(**vars(refreshed_archive), warcs=warcs, replay=lambda *a: pywb.get(added, *a))


def captures(crawled, kind: str, record_type: str) -> list[dict]:
    found = rows(
        crawled.db,
        "select * from captures where record_type = ? and status = 200 order by id",
        record_type,
    )
    return [c for c in found if crawled.sites.classify(c["url"]).kind == kind]


def test_every_article_capture_replays_as_its_page(crawled):
    replayed = 0
    for capture in captures(crawled, "article", "response"):
        stamp = warc_timestamp(capture["fetched_at"])
        answer = crawled.replay(capture["url"], stamp, "id_")
        assert answer.status == 200, capture["url"]
        assert answer.headers["Content-Type"].startswith("text/html"), (capture["url"], answer.headers)
        assert memento_time(answer) == capture["fetched_at"]
        html = payload(answer)
        fields = extract_article(html, crawled.sites.to_real(capture["url"]))
        if not fields.get("is_article"):
            continue  # the site's soft 404, archived as it came
        assert fields["headline"] == ARTICLES[fields["url"]]["headline"]
        replayed += 1
        # The page as a browser gets it in pywb's frame (rewritten), still the article.
        framed = crawled.replay(capture["url"], stamp, "mp_")
        assert framed.status == 200 and framed.headers["Content-Type"].startswith("text/html")
        assert extract_article(framed.body, fields["url"])["headline"] == fields["headline"]
    assert replayed == len(ARTICLES) + 1  # every article, and 34489 twice (it changed)


def test_the_changed_page_replays_each_version_at_its_time(crawled):
    (first, second) = [
        c for c in captures(crawled, "article", "response") if c["url"].endswith("/news/article/34489")
    ]
    for capture, likes in ((first, "(55)"), (second, "(56)")):
        answer = crawled.replay(capture["url"], warc_timestamp(capture["fetched_at"]), "id_")
        assert memento_time(answer) == capture["fetched_at"]
        assert f'class="like-count">{likes}' in payload(answer).decode()


def test_a_revisit_replays_the_original_page(crawled):
    revisits = captures(crawled, "article", "revisit")
    assert revisits
    for revisit in revisits:
        answer = crawled.replay(revisit["url"], warc_timestamp(revisit["fetched_at"]), "id_")
        assert answer.status == 200
        # Replayed as the revisit (its own time), with the original's bytes.
        assert memento_time(answer) == revisit["fetched_at"]
        assert payload(answer) == saved_page(crawled.sites, revisit["url"])
        fields = extract_article(payload(answer), crawled.sites.to_real(revisit["url"]))
        if fields.get("is_article"):
            assert fields["headline"] == ARTICLES[fields["url"]]["headline"]


def test_listings_replay_as_they_were_served(crawled):
    listings = captures(crawled, "listing", "response") + captures(crawled, "listing", "revisit")
    assert len({c["url"] for c in listings}) >= 4
    for capture in listings:
        answer = crawled.replay(capture["url"], warc_timestamp(capture["fetched_at"]), "id_")
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/html")
        assert memento_time(answer) == capture["fetched_at"]
        assert payload(answer) == saved_page(crawled.sites, capture["url"])


def test_the_canonical_url_of_a_copy_is_not_what_pywb_knows(crawled):
    """A crawl of a copy is archived under the URL fetched; the real URL has no capture of it."""
    capture = captures(crawled, "article", "response")[0]
    fields = json.loads(_metadata_body(crawled, capture))
    assert fields["url"].startswith("https://") and fields["url"] != capture["url"]
    assert crawled.replay(fields["url"], "", "id_").status == 404
    assert crawled.replay(capture["url"], "", "id_").status == 200


def test_metadata_is_kept_apart_under_its_urn(crawled):
    capture = captures(crawled, "article", "response")[0]
    answer = crawled.replay(
        "urn:zwcrawl:fields:" + capture["url"], warc_timestamp(capture["fetched_at"]), "id_"
    )
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/json")
    assert json.loads(answer.body)["headline"]


def _metadata_body(crawled, capture: dict) -> bytes:
    (meta,) = rows(
        crawled.db,
        "select * from captures where record_type = 'metadata' and concurrent_to = ?",
        capture["warc_record_id"],
    )
    with open(crawled.archive / meta["warc_file"], "rb") as fh:
        fh.seek(meta["warc_offset"])
        record = next(iter(ArchiveIterator(io.BytesIO(fh.read(meta["warc_length"])))))
        return record.content_stream().read()


def test_a_crawl_of_the_real_site_replays_under_the_canonical_url(tmp_path, pywb):
    """Crawling the real site, the URL fetched is the canonical one: pywb replays the article under it."""
    url = "https://en.zamanalwsl.net/news/article/34489"
    body = (ZWSITE / "en.zamanalwsl.net/news/article/34489.html").read_bytes()
    fetched_at = datetime(2026, 11, 30, 5, 0, 0, tzinfo=UTC)
    exchange = Exchange(
        url=url, method="GET", request_headers=[("Host", "en.zamanalwsl.net")], request_body=b"",
        status=200, reason="OK", response_headers=[("Content-Type", "text/html; charset=utf-8")],
        body=body, fetched_at=fetched_at,
    )  # fmt: skip
    with WarcWriter(tmp_path / "live", fsync=False, clock=lambda: fetched_at) as writer:
        _, response = writer.write_exchange(exchange)
        writer.write_metadata(url, response.record_id, extract_article(body, url))
        (warc,) = writer.close()
    collection = pywb.add(warc)
    answer = pywb.get(collection, url, "2026", "mp_")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert extract_article(answer.body, url)["headline"] == ARTICLES[url]["headline"]


def _legacy_copy(source: Path, target: Path) -> None:
    """The same records as zwcrawl wrote them before: metadata under the page's URL, with a payload digest."""
    writer = WARCWriter(None, gzip=True, warc_version="WARC/1.1")
    with open(source, "rb") as src, open(target, "wb") as out:
        writer.out = out
        for record in ArchiveIterator(src):
            if record.rec_type != "metadata":
                writer.write_record(record)
                continue
            body = record.content_stream().read()
            headers = record.rec_headers
            page = described_url(headers["WARC-Target-URI"])
            writer.write_record(
                writer.create_warc_record(
                    page,
                    "metadata",
                    payload=io.BytesIO(body),
                    length=len(body),
                    warc_content_type="application/json",
                    warc_headers_dict={
                        "WARC-Record-ID": headers["WARC-Record-ID"],
                        "WARC-Date": headers["WARC-Date"],
                        "WARC-Concurrent-To": headers["WARC-Concurrent-To"],
                    },
                )
            )


def test_files_written_before_replay_through_zwcrawls_own_index(crawled, tmp_path, pywb):
    """Older files name the page in metadata records: wb-manager add replays the JSON, our index the page."""
    legacy = tmp_path / "legacy" / crawled.warcs[0].name
    legacy.parent.mkdir()
    _legacy_copy(crawled.warcs[0], legacy)
    # The clash needs the metadata record in the same second as its response (as nearly always).
    same_second = rows(
        crawled.db,
        "select r.* from captures r join captures m on m.concurrent_to = r.warc_record_id "
        "where r.crawl_id = 1 and r.record_type = 'response' and m.fetched_at = r.fetched_at",
    )
    capture = next(c for c in same_second if crawled.sites.classify(c["url"]).kind == "article")
    stamp = warc_timestamp(capture["fetched_at"])
    added = pywb.add(legacy)
    assert pywb.get(added, capture["url"], stamp, "id_").headers["Content-Type"] == "application/json"
    indexed = pywb.use_index(index_warc(legacy), [legacy])
    answer = pywb.get(indexed, capture["url"], stamp, "id_")
    assert answer.headers["Content-Type"].startswith("text/html")
    assert extract_article(payload(answer), crawled.sites.to_real(capture["url"]))["is_article"]
