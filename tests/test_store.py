"""The archive's writes: articles saved from the fixture items, captures, crawls and the crawl bookkeeping."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import pytest

from zwcrawl.store import Store

EXPECTED = Path(__file__).parent / "fixtures" / "zwsite" / "expected"
ITEMS = [
    item
    for item in (json.loads(path.read_text("utf-8")) for path in sorted(EXPECTED.glob("*/*.json")))
    if item.get("is_article")
]
T1, T2, T3 = "2018-04-20T10:00:00Z", "2018-04-21T10:00:00Z", "2018-04-22T10:00:00Z"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "zwcrawl.db") as opened:
        yield opened


@pytest.fixture
def crawl(store):
    return store.start_crawl({"editions": ["en", "ar"]}, T1)


def _capture(store: Store, crawl: int, url: str, n: int, **extra) -> int:
    row = {
        "crawl_id": crawl,
        "url": url,
        "status": 200,
        "fetched_at": T1,
        "record_type": "response",
        "warc_file": "warc/zwcrawl-test.warc.gz",
        "warc_offset": n * 1000,
        "warc_length": 900,
        "warc_record_id": f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>",
        "payload_digest": f"sha1:DIGEST{n}",
        "content_type": "text/html; charset=utf-8",
    }
    return store.add_capture({**row, **extra})


def _save(store: Store, crawl: int, item: dict, at: str) -> str:
    return store.save_article(item, crawl_id=crawl, capture_id=None, observed_at=at)


def _count(store: Store, table: str, item: dict | None = None) -> int:
    if item is None:
        return store.db[table].count
    return store.db[table].count_where(
        "edition = ? AND article_id = ?", [item["edition"], item["article_id"]]
    )


def _item(article_id: int) -> dict:
    return copy.deepcopy(next(item for item in ITEMS if item["article_id"] == article_id))


def test_fixture_items_saved_twice(store, crawl):
    assert [_save(store, crawl, item, T1) for item in ITEMS] == ["new"] * len(ITEMS)
    assert [_save(store, crawl, item, T2) for item in ITEMS] == ["unchanged"] * len(ITEMS)
    assert _count(store, "articles") == len(ITEMS)
    assert _count(store, "observations") == 2 * len(ITEMS)
    assert _count(store, "article_versions") == len(ITEMS)
    assert _count(store, "comments") == sum(len(item["comments"]) for item in ITEMS)
    assert _count(store, "images") == sum(len(item["images"]) for item in ITEMS)
    assert store.archived_ids("en") == {item["article_id"] for item in ITEMS if item["edition"] == "en"}
    assert store.archived_ids("ar") == {item["article_id"] for item in ITEMS if item["edition"] == "ar"}


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: f"{item['edition']}-{item['article_id']}")
def test_item_reads_back(store, crawl, item):
    capture = _capture(store, crawl, item["url"], 1)
    store.save_article(item, crawl_id=crawl, capture_id=capture, observed_at=T1)
    key = (item["edition"], item["article_id"])
    row = store.db["articles"].get(key)
    for name in ("url", "headline", "kind", "section_id", "section", "published", "body", "source", "byline"):
        assert row[name] == item[name], name
    assert row["dateline"] == item["dateline"]
    assert row["with_agencies"] == int(item["with_agencies"])
    assert (row["likes"], row["dislikes"], row["comments_count"]) == (
        item["likes"],
        item["dislikes"],
        item["comments_count"],
    )
    assert row["image_url"] == (item["images"][0]["url"] if item["images"] else None)
    assert (row["first_seen"], row["last_seen"], row["last_changed"]) == (T1, T1, T1)
    assert (row["capture_id"], row["crawl_id"]) == (capture, crawl)
    where = "edition = ? AND article_id = ?"
    people = store.db["article_authors"].rows_where(where, key, order_by="position")
    assert [person["name"] for person in people] == item["authors"]
    people = store.db["article_translators"].rows_where(where, key, order_by="position")
    assert [person["name"] for person in people] == item["translators"]
    images = store.db["images"].rows_where(where, key, order_by="position")
    assert [{"url": image["url"], "caption": image["caption"]} for image in images] == item["images"]
    comments = store.db["comments"].rows_where(where, key, order_by="position")
    assert [{name: c[name] for name in ("author", "posted", "text")} for c in comments] == item["comments"]
    (version,) = store.db["article_versions"].rows_where(where, key)
    assert (version["version"], version["headline"], version["body"]) == (1, item["headline"], item["body"])
    (observation,) = store.db["observations"].rows_where(where, key)
    assert observation["capture_id"] == capture


def _more_likes(item):
    item["likes"] += 5
    item["comments_count"] += 1


def _no_vote_widget(item):
    item["likes"] = item["dislikes"] = None


def _new_body(item):
    item["body"] += "\n\nUpdated: the council announced fuel deliveries."


def _new_headline(item):
    item["headline"] = "Idlib camps run out of fuel"


def _new_section(item):
    item["section_id"], item["section"] = 30, "Reports"


def _second_author(item):
    item["authors"].append("Omar Haddad")


def _translator(item):
    item["translators"] = ["Omar Haddad"]


def _new_caption(item):
    item["images"][0]["caption"] = "Tents near Atmeh"


def _no_images(item):
    item["images"] = []


def _new_comment(item):
    item["comments"].append({"author": "Sami", "posted": "2018-04-19T08:00:00Z", "text": "Thank you."})


def _comment_removed(item):
    del item["comments"][0]


# (change to 34478, what save_article says, article_versions rows, comments rows, images rows)
CHANGES = [
    (_more_likes, "unchanged", 1, 2, 1),
    (_no_vote_widget, "unchanged", 1, 2, 1),
    (_new_body, "updated", 2, 2, 1),
    (_new_headline, "updated", 2, 2, 1),
    (_new_section, "updated", 1, 2, 1),
    (_second_author, "updated", 1, 2, 1),
    (_translator, "updated", 1, 2, 1),
    (_new_caption, "updated", 1, 2, 1),
    (_no_images, "updated", 1, 2, 0),
    (_new_comment, "unchanged", 1, 3, 1),
    (_comment_removed, "unchanged", 1, 2, 1),
]


@pytest.mark.parametrize(("change", "result", "versions", "comments", "images"), CHANGES)
def test_refetch_with_a_change(store, crawl, change, result, versions, comments, images):
    item = _item(34478)
    assert _save(store, crawl, item, T1) == "new"
    change(item)
    assert _save(store, crawl, item, T2) == result
    row = store.db["articles"].get(("en", 34478))
    assert (row["first_seen"], row["last_seen"]) == (T1, T2)
    assert row["last_changed"] == (T2 if result == "updated" else T1)
    assert (row["likes"], row["headline"], row["body"], row["section"]) == (
        item["likes"],
        item["headline"],
        item["body"],
        item["section"],
    )
    assert row["image_url"] == (item["images"][0]["url"] if item["images"] else None)
    assert _count(store, "observations", item) == 2
    assert _count(store, "article_versions", item) == versions
    assert _count(store, "comments", item) == comments
    assert _count(store, "images", item) == images
    latest = store.db.execute(
        "SELECT likes, comments_count FROM observations ORDER BY observed_at DESC LIMIT 1"
    ).fetchone()
    assert latest == (item["likes"], item["comments_count"])
    authors = [row["name"] for row in store.db["article_authors"].rows_where(order_by="position")]
    assert authors == item["authors"]
    # The same page a third time changes nothing but the counters' time series.
    assert _save(store, crawl, item, T3) == "unchanged"
    assert _count(store, "article_versions", item) == versions


def test_versions_follow_each_text_change(store, crawl):
    item = _item(34478)
    _save(store, crawl, item, T1)
    _new_body(item)
    _save(store, crawl, item, T2)
    _new_headline(item)
    _save(store, crawl, item, T3)
    versions = list(store.db["article_versions"].rows_where(order_by="version"))
    assert [(v["version"], v["observed_at"]) for v in versions] == [(1, T1), (2, T2), (3, T3)]
    assert versions[0]["body"] == _item(34478)["body"]
    assert (versions[2]["headline"], versions[2]["body"]) == (item["headline"], item["body"])


def test_comments_seen_again_and_vanished(store, crawl):
    item = _item(34478)
    first, second = item["comments"]
    _save(store, crawl, item, T1)
    item["comments"] = [second]
    _save(store, crawl, item, T2)
    item["comments"] = [second, first]
    _save(store, crawl, item, T3)
    rows = {row["text"]: row for row in store.db["comments"].rows}
    assert len(rows) == 2
    # The first comment vanished at T2 and came back at T3: one row, seen from T1 to T3, now in position 2.
    assert (rows[first["text"]]["first_seen"], rows[first["text"]]["last_seen"]) == (T1, T3)
    assert rows[first["text"]]["position"] == 2
    assert (rows[second["text"]]["first_seen"], rows[second["text"]]["last_seen"]) == (T1, T3)


def test_vanished_comment_is_kept(store, crawl):
    item = _item(34478)
    first = item["comments"][0]
    _save(store, crawl, item, T1)
    item["comments"] = item["comments"][1:]
    _save(store, crawl, item, T2)
    row = next(store.db["comments"].rows_where("text = ?", [first["text"]]))
    assert row["last_seen"] == T1  # older than articles.last_seen: no longer on the page


def test_identical_comments_stay_two(store, crawl):
    item = _item(34478)
    item["comments"].append(dict(item["comments"][0]))
    _save(store, crawl, item, T1)
    _save(store, crawl, item, T2)
    assert _count(store, "comments") == 3


def test_people_are_shared_between_articles(store, crawl):
    translated = _item(34471)
    other = _item(34478)
    other["authors"] = [translated["translators"][0]]
    _save(store, crawl, translated, T1)
    _save(store, crawl, other, T1)
    assert _count(store, "people") == 2
    rows = store.db.execute(
        "SELECT ap.article_id, ap.role FROM article_people ap JOIN people p ON p.id = ap.person_id"
        " WHERE p.name = ? ORDER BY ap.article_id",
        [translated["translators"][0]],
    ).fetchall()
    assert rows == [(34471, "translator"), (34478, "author")]


def test_save_is_all_or_nothing(store, crawl):
    item = _item(34478)
    with pytest.raises(sqlite3.IntegrityError):
        store.save_article(item, crawl_id=crawl, capture_id=999, observed_at=T1)  # no such capture
    for table in ("articles", "observations", "article_versions", "comments", "images", "article_people"):
        assert _count(store, table) == 0, table
    assert _save(store, crawl, item, T1) == "new"


@pytest.mark.parametrize(
    ("item", "error"),
    [({"url": "https://en.zamanalwsl.net/news/article/34490", "is_article": False}, "not an article")],
)
def test_non_article_refused(store, crawl, item, error):
    with pytest.raises(ValueError, match=error):
        _save(store, crawl, item, T1)


@pytest.mark.parametrize("at", ["2018-04-20 10:00:00", "2018-04-20T10:00:00+00:00", "2018-04-20", None])
def test_times_must_be_utc_with_z(store, crawl, at):
    with pytest.raises(ValueError, match="UTC ISO-8601"):
        store.save_article(_item(34478), crawl_id=crawl, capture_id=None, observed_at=at)


def test_missing_rows(store, crawl):
    url = "https://en.zamanalwsl.net/news/article/34477"
    store.record_missing("en", 34477, url, 404, "404", crawl, T1)
    store.record_missing("en", 34477, url, 200, "soft 404", crawl, T2)
    (row,) = store.db["missing"].rows
    assert (row["status"], row["reason"], row["checked_at"]) == (200, "soft 404", T2)
    item = _item(34478) | {"article_id": 34477, "url": url}
    _save(store, crawl, item, T3)
    assert _count(store, "missing") == 0


def test_missing_ids(store, crawl):
    store.record_missing("en", 34477, "https://en.zamanalwsl.net/news/article/34477", 404, "404", crawl, T1)
    store.record_missing("ar", 1, "https://www.zamanalwsl.net/news/article/1", 404, "404", crawl, T1)
    assert store.missing_ids("en") == {34477}
    assert store.missing_ids("ar") == {1}


def test_dead_crawls_marked_interrupted(store):
    dead = store.start_crawl({}, T1)
    _capture(store, dead, "http://127.0.0.1:8001/", 1, fetched_at=T2)
    silent = store.start_crawl({}, T1)
    finished = store.start_crawl({}, T1)
    store.finish_crawl(finished, "finished", {"pages": 1}, T2)
    assert store.mark_dead_crawls(T3) == [dead, silent]
    rows = {row["id"]: row for row in store.db["crawls"].rows}
    statuses = [rows[crawl]["status"] for crawl in (dead, silent, finished)]
    assert statuses == ["interrupted", "interrupted", "finished"]
    # Ended at the last capture it wrote (or its start), found dead at T3.
    assert (rows[dead]["ended_at"], rows[silent]["ended_at"], rows[finished]["ended_at"]) == (T2, T1, T2)
    assert json.loads(rows[dead]["stats"]) == {"found_dead_at": T3}
    assert json.loads(rows[finished]["stats"]) == {"pages": 1}
    assert store.mark_dead_crawls(T3) == []


def test_crawls(store):
    crawl = store.start_crawl({"editions": ["ar"], "full": True}, T1)
    row = store.db["crawls"].get(crawl)
    assert (row["status"], row["started_at"], row["ended_at"]) == ("running", T1, None)
    assert json.loads(row["options"]) == {"editions": ["ar"], "full": True}
    assert row["pid"] > 0
    store.finish_crawl(crawl, "interrupted", {"pages": 3}, T2)
    row = store.db["crawls"].get(crawl)
    assert (row["status"], row["ended_at"], json.loads(row["stats"])) == ("interrupted", T2, {"pages": 3})
    with pytest.raises(ValueError, match="a crawl ends"):
        store.finish_crawl(crawl, "running", {}, T2)
    with pytest.raises(ValueError, match="no crawl"):
        store.finish_crawl(crawl + 1, "finished", {}, T2)


def test_failures(store, crawl):
    store.add_failure(crawl, "https://en.zamanalwsl.net/news/articles/3/2", "http 503", 4, 503, T2)
    store.add_failure(crawl, "https://en.zamanalwsl.net/news/article/1", "timeout", 3, None, T2)
    rows = list(store.db["failures"].rows_where("crawl_id = ?", [crawl], order_by="id"))
    assert [(r["reason"], r["attempts"], r["last_status"]) for r in rows] == [
        ("http 503", 4, 503),
        ("timeout", 3, None),
    ]


def test_sections(store):
    assert not store.section_walked("en", 3)
    store.mark_section("en", 3, "Syria", False, T1)
    assert not store.section_walked("en", 3)
    store.mark_section("en", 3, None, True, T2)
    store.mark_section("en", 3, None, True, T3)
    assert store.section_walked("en", 3)
    assert not store.section_walked("ar", 3)
    row = store.db["sections"].get(("en", 3))
    assert (row["name"], row["walked_to_end_at"], row["last_walked_at"]) == ("Syria", T2, T3)


def test_capture_rows(store, crawl):
    url = "http://127.0.0.1:8001/news/article/34478"
    first = _capture(store, crawl, url, 1)
    assert store.db["captures"].get(first)["warc_file"] == "warc/zwcrawl-test.warc.gz"
    # The same record indexed again (crash recovery) is the same capture, not a second row.
    assert _capture(store, crawl, url, 1) == first
    assert _count(store, "captures") == 1
    with pytest.raises(ValueError, match="already recorded"):
        _capture(store, crawl, url, 1, warc_offset=5)
    # Inserted before any lookup: another constraint broken is still that error, and nothing is written.
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        _capture(store, crawl + 100, url, 2)
    assert _count(store, "captures") == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"warc_file": "/tmp/x.warc.gz"}, "relative to the archive"),
        ({"warc_file": "warc/../../x.warc.gz"}, "relative to the archive"),
        ({"fetched_at": "2018-04-20T10:00:00"}, "UTC ISO-8601"),
        ({"refers_to_date": "yesterday"}, "UTC ISO-8601"),
        ({"warc_record_id": None}, "lacks warc_record_id"),
        ({"warc_path": "warc/x.warc.gz"}, "unknown capture columns: warc_path"),
        ({"record_type": "resource"}, None),
    ],
)
def test_bad_capture_rows_refused(store, crawl, change, error):
    expected = (ValueError, error) if error else (sqlite3.IntegrityError, "CHECK")
    with pytest.raises(expected[0], match=expected[1]):
        _capture(store, crawl, "http://127.0.0.1:8001/", 1, **change)
    assert _count(store, "captures") == 0


def test_last_original(store, crawl):
    url = "http://127.0.0.1:8001/news/article/34478"
    assert store.last_original(url) is None
    _capture(store, crawl, url, 1, record_type="request", status=None, payload_digest=None)
    assert store.last_original(url) is None
    original = {
        "payload_digest": "sha1:DIGEST2",
        "warc_record_id": "<urn:uuid:00000000-0000-0000-0000-000000000002>",
        "url": url,
        "fetched_at": T1,
    }
    _capture(store, crawl, url, 2)
    assert store.last_original(url) == original
    revisit = {
        "record_type": "revisit",
        "fetched_at": T2,
        "payload_digest": "sha1:DIGEST2",
        "refers_to_record_id": original["warc_record_id"],
        "refers_to_url": url,
        "refers_to_date": T1,
    }
    _capture(store, crawl, url, 3, **revisit)
    assert store.last_original(url) == original
    # A revisit naming its original only by URI and date still finds it.
    _capture(store, crawl, url, 4, **(revisit | {"fetched_at": T3, "refers_to_record_id": None}))
    assert store.last_original(url) == original
    # A changed page: the new response is the original from now on.
    _capture(store, crawl, url, 5, fetched_at="2018-04-23T10:00:00Z")
    assert store.last_original(url)["warc_record_id"].endswith("000000000005>")


def test_last_original_of_revisit_without_its_original_row(store, crawl):
    url = "http://127.0.0.1:8001/"
    elsewhere = {
        "refers_to_record_id": "<urn:uuid:elsewhere>",
        "refers_to_url": "http://x/",
        "refers_to_date": T1,
    }
    _capture(store, crawl, url, 1, record_type="revisit", fetched_at=T2, **elsewhere)
    assert store.last_original(url) == {
        "payload_digest": "sha1:DIGEST1",
        "warc_record_id": "<urn:uuid:elsewhere>",
        "url": "http://x/",
        "fetched_at": T1,
    }


def test_a_read_only_store_searches_beside_a_writer_and_never_writes(store, crawl, tmp_path):
    _save(store, crawl, _item(34489), T1)
    with Store(tmp_path / "zwcrawl.db", read_only=True) as reader:
        assert [hit["article_id"] for hit in reader.search("Daesh")] == [34489]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            _save(reader, crawl, _item(34486), T2)
        _save(store, crawl, _item(34486), T2)  # the writer goes on meanwhile, and the reader sees it
        assert 34486 in [hit["article_id"] for hit in reader.search("evacuation")]
    assert _count(store, "articles") == 2


def test_a_read_only_store_refuses_a_database_that_is_not_an_archive(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (text)").connection.close()
    with pytest.raises(ValueError, match="not a zwcrawl archive"):
        Store(other, read_only=True)
    assert [r[0] for r in sqlite3.connect(other).execute("SELECT name FROM sqlite_master")] == ["notes"]
