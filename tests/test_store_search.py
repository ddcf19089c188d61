"""Full-text search over the archive, in English and in Arabic with its spelling variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zwcrawl.store import Store
from zwcrawl.store.query import literal_search_query, search_query

EXPECTED = Path(__file__).parent / "fixtures" / "zwsite" / "expected"
ITEMS = [
    item
    for item in (json.loads(path.read_text("utf-8")) for path in sorted(EXPECTED.glob("*/*.json")))
    if item.get("is_article")
]
T1, T2 = "2018-04-20T10:00:00Z", "2018-04-21T10:00:00Z"

# An article written with full harakat, tatweel and hamza spellings, to search by its bare spelling.
VOWELLED = {
    **next(item for item in ITEMS if item["article_id"] == 87652),
    "article_id": 90001,
    "url": "https://www.zamanalwsl.net/news/article/90001",
    "headline": "مُخَيَّمُ اليَرْموكِ تَحْتَ القَصْفِ",
    "body": "قالَ أحمدُ إنَّ المدرســة في الحيّ أُغلِقَت، وإنّ آلاف العائلات نزحت إلى مُخَيَّمات الشمال.",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("search") / "zwcrawl.db") as opened:
        crawl = opened.start_crawl({}, T1)
        for item in [*ITEMS, VOWELLED]:
            opened.save_article(item, crawl_id=crawl, capture_id=None, observed_at=T1)
        yield opened


def _ids(results: list[dict]) -> list[int]:
    return [result["article_id"] for result in results]


# (query, article ids that must be found, first result when it is certain)
QUERIES = [
    ("fuel shortage", {34478}, 34478),
    ("Idlib", {34475, 34478}, None),
    ("idlib CAMPS", {34478}, 34478),
    ('"barrel bomb"', {10605}, 10605),
    ("Yarmouk NOT Perspective", set(), None),
    ("al-Wasl", {34478}, None),  # not FTS5 syntax: searched as the words typed
    ("50%", set(), None),
    ("مخيم اليرموك", {87640, 90001}, None),
    ("الخبز", {87660}, 87660),
    ("تصعد", {87640}, 87640),  # printed تصعّد, with a shadda
    ("تصعّد", {87640}, 87640),
    ("مخيم", {87640, 90001}, None),  # printed مُخَيَّمُ in 90001
    ("مُخَيَّم", {87640, 90001}, None),
    ("احمد", {90001}, 90001),  # printed أحمدُ
    ("المدرسه", {90001}, 90001),  # printed المدرســة: tatweel, teh marbuta
    ("الاف", {90001}, 90001),  # printed آلاف
    # The definite article and its clitics are optional: حجر finds والحجر, الحجر finds it too.
    ("حجر", {87640}, 87640),
    ("الحجر", {87640}, 87640),
    ("يرموك", {87640, 90001}, None),
    ("مخيم NOT يرموك", set(), None),
]


@pytest.mark.parametrize(("query", "found", "first"), QUERIES)
def test_search(store, query, found, first):
    results = store.search(query)
    assert found <= set(_ids(results))
    if first is not None:
        assert results[0]["article_id"] == first
    if query == "Yarmouk NOT Perspective":
        assert 34486 not in _ids(results)  # FTS5 operators work
        assert _ids(results)


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("حجر", "(حجر OR والحجر OR بالحجر OR فالحجر OR كالحجر OR الحجر OR للحجر)"),
        ("بالحجر", "(حجر OR والحجر OR بالحجر OR فالحجر OR كالحجر OR الحجر OR للحجر)"),
        ("الله", "(الله OR والالله OR بالالله OR فالالله OR كالالله OR الالله OR للالله)"),  # never stripped
        ("Daraa الحجر", "Daraa (حجر OR والحجر OR بالحجر OR فالحجر OR كالحجر OR الحجر OR للحجر)"),
        ("أحمد", "(احمد OR والاحمد OR بالاحمد OR فالاحمد OR كالاحمد OR الاحمد OR للاحمد)"),  # folded first
        ('"الحجر الأسود"', '"الحجر الاسود"'),  # a phrase is FTS5 written on purpose: left alone
        ("اليرم*", "اليرم*"),
    ],
)
def test_search_query(typed, sent):
    assert search_query(typed) == sent


def test_result_fields(store):
    (result,) = store.search("تصعد")
    item = next(item for item in ITEMS if item["article_id"] == 87640)
    assert {name: result[name] for name in ("edition", "article_id", "url", "headline", "published")} == {
        name: item[name] for name in ("edition", "article_id", "url", "headline", "published")
    }
    # The snippet quotes the text as printed, harakat included, with the hit marked.
    assert "[تصعّد]" in result["snippet"]
    (result,) = store.search("احمد")
    assert "[أحمدُ]" in result["snippet"]


def test_headline_hits_rank_first(store):
    results = store.search("Damascus")
    headline_hits = [r["article_id"] for r in results if "damascus" in r["headline"].lower()]
    assert _ids(results)[: len(headline_hits)] == headline_hits


def test_limit_and_edition(store):
    assert len(store.search("Syria", limit=2)) == 2
    assert {r["edition"] for r in store.search("Syria", edition="en")} == {"en"}
    assert store.search("Syria", edition="ar") == []
    assert store.search("   ") == []


def test_index_follows_edits(tmp_path):
    with Store(tmp_path / "zwcrawl.db") as store:
        crawl = store.start_crawl({}, T1)
        item = dict(next(item for item in ITEMS if item["article_id"] == 34478))
        store.save_article(item, crawl_id=crawl, capture_id=None, observed_at=T1)
        item["body"] = item["body"].replace("diesel", "kerosene")
        store.save_article(item, crawl_id=crawl, capture_id=None, observed_at=T2)
        assert _ids(store.search("kerosene")) == [34478]
        assert store.search("diesel") == []
        store.rebuild_search()
        assert _ids(store.search("kerosene")) == [34478]
        store.db.execute("DELETE FROM observations")
        store.db.execute("DELETE FROM comments")
        store.db.execute("DELETE FROM images")
        store.db.execute("DELETE FROM article_people")
        store.db.execute("DELETE FROM article_versions")
        store.db.execute("DELETE FROM articles")
        assert store.search("kerosene") == []


def test_sqlite_utils_finds_the_index(store):
    assert store.db["articles"].detect_fts() == "articles_fts"
    assert {row["article_id"] for row in store.db["articles"].search("fuel")} >= {34478}


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("حجر", "(حجر OR والحجر OR بالحجر OR فالحجر OR كالحجر OR الحجر OR للحجر)"),
        ("تصعّد حجر", "(تصعد OR والتصعد OR بالتصعد OR فالتصعد OR كالتصعد OR التصعد OR للتصعد) AND "
                      "(حجر OR والحجر OR بالحجر OR فالحجر OR كالحجر OR الحجر OR للحجر)"),
        ("al-Wasl 50% (", '"al-Wasl" AND "50%" AND "("'),  # FTS5 syntax characters taken literally
        ('"الحجر الأسود" Daraa', '"الحجر الاسود" AND "Daraa"'),  # a phrase stays a phrase
        ('"unbalanced', '"unbalanced"'),
    ],
)  # fmt: skip
def test_literal_search_query_for_datasette(store, typed, sent):
    assert literal_search_query(typed) == sent
    store.db.execute("select count(*) from articles_fts where articles_fts match ?", [sent])  # valid FTS5
