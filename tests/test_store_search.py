"""Full-text search over the archive, in English and in Arabic with its spelling variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from zwcrawl.store import ArticleFilter, SearchQueryError, Store
from zwcrawl.store.query import MAX_QUERY_WORDS, literal_search_query, search_query
from zwcrawl.store.schema import MIGRATIONS

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


# Dates and numbers in Arabic-Indic and Persian digits, to find with Western ones and the other way round.
EASTERN_DIGITS = {
    **next(item for item in ITEMS if item["article_id"] == 87652),
    "article_id": 90002,
    "url": "https://www.zamanalwsl.net/news/article/90002",
    "headline": "ذكرى انطلاق الثورة عام ٢٠١١",
    "body": "خرجت المظاهرات الأولى في آذار ۲۰۱۱ من درعا، وشارك فيها ٣٥٠ شخصاً.",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("search") / "zwcrawl.db") as opened:
        crawl = opened.start_crawl({}, T1)
        for item in [*ITEMS, VOWELLED, EASTERN_DIGITS]:
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
    ("حجر يرموك", {87640}, 87640),  # two bare words, each with or without its article (والحجر, اليرموك)
    # Arabic-Indic and Persian digits are Western digits, in the text and in the query.
    ("2011", {90002, 34444, 87640}, None),
    ("٢٠١١", {90002, 34444, 87640}, None),
    ("۲۰۱۱", {90002, 34444, 87640}, None),
    ("350", {90002}, 90002),
    # English is stemmed: every form of a word finds the others.
    ("attacking", {10605, 34462, 34459}, None),
    ("attacked", {10605, 34462, 34459}, None),
    ('"barrel bombs"', {10605}, 10605),
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
        ("Daraa الحجر", "Daraa AND (حجر OR والحجر OR بالحجر OR فالحجر OR كالحجر OR الحجر OR للحجر)"),
        ("أحمد", "(احمد OR والاحمد OR بالاحمد OR فالاحمد OR كالاحمد OR الاحمد OR للاحمد)"),  # folded first
        ('"الحجر الأسود"', '"الحجر الاسود"'),  # a phrase is FTS5 written on purpose: left alone
        ("اليرم*", "اليرم*"),
    ],
)
def test_search_query(typed, sent):
    assert search_query(typed) == sent


@pytest.mark.parametrize("query", [q for q, _, _ in QUERIES if q not in ("al-Wasl", "50%")])
def test_expanded_queries_are_fts5(store, query):
    """Each query is searched as expanded, not through the as-typed fallback (which drops the expansion)."""
    store.db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [search_query(query)])


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


def test_snippets_quote_eastern_digits_as_printed(store):
    (result,) = store.search("2011 درعا")
    assert "[٢٠١١]" in result["snippet"] or "[۲۰۱۱]" in result["snippet"]


def test_a_query_of_many_words_is_refused_in_one_line():
    search_query(" ".join(["حلب"] * MAX_QUERY_WORDS))
    with pytest.raises(SearchQueryError, match=f"has 1,500 words; search with at most {MAX_QUERY_WORDS}"):
        search_query(" ".join(["حلب"] * 1500))


def test_the_expansion_grows_with_the_distinct_words_only():
    """A pasted paragraph repeats its common words: each is searched once (FTS5 cost grew with the square)."""
    once = search_query("مخيم اليرموك في دمشق")
    assert search_query(" ".join(["مخيم اليرموك في دمشق"] * 40)) == once
    many = search_query(" ".join(f"word{n % 7}" for n in range(MAX_QUERY_WORDS)))
    assert many == " AND ".join(f"word{n}" for n in range(7))
    # With operators the words keep their places: "a OR b OR c" is not "a OR b c".
    assert search_query("Idlib OR Daraa OR Homs") == "Idlib OR Daraa OR Homs"


@pytest.mark.parametrize("query", ['"', '""', "-", "*", "()"])
def test_a_query_with_nothing_to_search_says_so(store, query):
    with pytest.raises(SearchQueryError, match="nothing to search for"):
        store.search(query)


def test_filters_and_orders(store):
    everything = store.search("Syria", limit=100)
    assert {r["edition"] for r in everything} == {"en"}
    newest = store.search("Syria", limit=100, order="newest")
    assert [r["published"] for r in newest] == sorted((r["published"] for r in everything), reverse=True)
    oldest = store.search("Syria", limit=100, order="oldest")
    assert [r["article_id"] for r in oldest] == [r["article_id"] for r in reversed(newest)]
    april = ArticleFilter.parse(since="2018-04-16", until="2018-04-18")
    dated = store.search("Syria", limit=100, filters=april)
    assert dated and all("2018-04-16" <= r["published"][:10] <= "2018-04-18" for r in dated)
    assert {r["article_id"] for r in dated} == {
        r["article_id"] for r in everything if "2018-04-16" <= r["published"][:10] <= "2018-04-18"
    }
    by_source = store.search("Syria", limit=100, filters=ArticleFilter(source="afp"))
    assert by_source and {r["source"] for r in by_source} == {"AFP"}
    by_author = store.search("Syria", limit=100, filters=ArticleFilter(author="paul keane"))
    assert [(r["article_id"], r["authors"]) for r in by_author] == [(34459, ["Lena Morgan", "Paul Keane"])]
    middle_east = {i["article_id"] for i in ITEMS if i["section"] == "Middle East"}
    by_section = store.search("Syria", limit=100, filters=ArticleFilter(section="middle east"))
    assert by_section and {r["article_id"] for r in by_section} <= middle_east
    section_id = str(next(i["section_id"] for i in ITEMS if i["section"] == "Middle East"))
    assert store.search("Syria", limit=100, filters=ArticleFilter(section=section_id)) == by_section


@pytest.mark.parametrize("bad", ["2018-13-01", "yesterday", "2018-4-1", "18-04-01", "2018-02-30"])
def test_a_bad_date_is_refused(bad):
    with pytest.raises(ValueError, match="is not a date"):
        ArticleFilter.parse(since=bad)


def test_an_archive_indexed_before_0025_is_reindexed(tmp_path):
    """Migration 0025 rebuilds the index: stems and Eastern digits work on articles stored before it."""
    path = tmp_path / "zwcrawl.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="0025_search_stems_and_digits")
    row = {"first_seen": T1, "last_seen": T1, "last_changed": T1}
    for item in (next(i for i in ITEMS if i["article_id"] == 10605), EASTERN_DIGITS):
        fields = {name: item[name] for name in ("edition", "article_id", "url", "headline", "body")}
        db["articles"].insert({**fields, **row})
    match = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
    assert db.execute(match, ["attacking"]).fetchall() == []  # the old index: no stems
    assert db.execute(match, ["2011"]).fetchall() == []  # nor digits folded
    db.close()
    with Store(path) as store:
        assert _ids(store.search("attacking")) == [10605]
        assert _ids(store.search("2011")) == [90002]
