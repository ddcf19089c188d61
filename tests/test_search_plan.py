"""Search in two steps gives exactly what one plain statement over every match gives, by the cheap plan."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from zwcrawl.store import ArticleFilter, Store, search_facets, search_plan
from zwcrawl.store.query import search_query
from zwcrawl.store.schema import MIGRATIONS
from zwcrawl.store.search_plan import search_rows

EXPECTED = Path(__file__).parent / "fixtures" / "zwsite" / "expected"
ITEMS = [
    item
    for item in (json.loads(path.read_text("utf-8")) for path in sorted(EXPECTED.glob("*/*.json")))
    if item.get("is_article")
]
T1 = "2018-04-20T10:00:00Z"
_MATCHES_SQL = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
ORDERS = {
    "relevance": "bm25(articles_fts, 5.0, 1.0, 0.0), a.published DESC, a.edition, a.article_id",
    "newest": "a.published IS NULL, a.published DESC, a.edition, a.article_id",
    "oldest": "a.published IS NULL, a.published, a.edition, a.article_id",
}
FILTERS = [
    {},
    {"edition": "en"},
    {"since": "2014-01-01", "until": "2016-12-31"},
    {"source": "afp"},
    {"since": "2013-01-01", "source": "AFP"},
    {"section": "News"},
    # Facets: a year, months in one year, an open start, moments, names of several words and odd characters.
    {"since": "2016-01-01", "until": "2016-12-31", "source": "AFP"},
    {"since": "2016-02-15", "until": "2016-05-03"},
    {"until": "2013-06-30", "edition": "ar"},
    {"since": "2012-03-04T05:06:07Z", "until": "2019-08-09T10:11:12Z", "source": " zaman al-wasl (ZAW) "},
    {"source": "وكالة سانا"},
    {"source": "Zaman Al Wasl", "since": "2011-01-01", "until": "2026-12-31"},
]
# Sources of odd spelling, undated articles, and dates as strftime would not write them (the facets' yx, mx).
ODD_SOURCES = ["Zaman al-Wasl (ZAW)", "وكالة سانا", None, ""]
ODD_DATES = ["2016-03-01 10:00:00", "2016-04-05T10:00Z", "2016-02-30T10:00:00Z", "2013"]
QUERIES = ["the", "Idlib", "regime camps", '"قوات النظام"', "مخيم", "Xylophonist"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """300 articles; every tenth a copy of an earlier body (equal scores), some undated or oddly dated, some
    AFP, some of a source with several words or none."""
    rng = random.Random(7)
    words = {e: [w for i in ITEMS if i["edition"] == e for w in i["body"].split()] for e in ("en", "ar")}
    with Store(tmp_path_factory.mktemp("plan") / "zwcrawl.db") as opened:
        crawl = opened.start_crawl({}, T1)
        bodies: list[tuple[str, str]] = []
        for n in range(300):
            item = ITEMS[n % len(ITEMS)]
            edition = item["edition"]
            if n % 10 == 9:
                headline, body = bodies[rng.randrange(len(bodies))]
            else:
                headline = " ".join(rng.choices(words[edition], k=8))
                body = " ".join(rng.choices(words[edition], k=rng.randint(20, 200)))
            bodies.append((headline, body))
            published = (
                None if n % 37 == 0 else f"{2011 + n % 15}-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z"
            )
            published = ODD_DATES[n // 23 % 4] if n % 23 == 11 else published
            source = "AFP" if n % 4 == 0 else item["source"]
            source = ODD_SOURCES[n // 5 % 4] if n % 5 == 3 else source
            article = {
                **item,
                "article_id": 200_000 + n,
                "url": f"{item['url'].rsplit('/', 1)[0]}/{200_000 + n}",
                "headline": headline,
                "body": body,
                "published": published,
                "source": source,
            }
            opened.save_article(article, crawl_id=crawl, capture_id=None, observed_at=T1)
        yield opened


def _plain(store: Store, query: str, filters: ArticleFilter, order: str, limit: int) -> list[tuple]:
    """The search as one statement: join every match to its article, sort them all, keep the first."""
    where, params = filters.where("a")
    sql = (
        "SELECT a.edition, a.article_id, snippet(articles_fts, -1, '[', ']', '…', 16)"
        " FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid"
        f" WHERE articles_fts MATCH ? AND {where} ORDER BY {ORDERS[order]} LIMIT ?"
    )
    return store.db.execute(sql, (search_query(query), *params, limit)).fetchall()


def _searched(store: Store, query: str, filters: ArticleFilter, order: str, limit: int) -> list[tuple]:
    return [
        (hit["edition"], hit["article_id"], hit["snippet"])
        # rank_all: the exact ranking even of a word in most articles (their newest: further below)
        for hit in store.search(query, limit, filters=filters, order=order, rank_all=True)
    ]


@pytest.mark.parametrize("plan", ["sorted", "walked", "probed"])
@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("chosen", FILTERS, ids=[json.dumps(f) for f in FILTERS])
def test_the_same_hits_in_the_same_order(store, monkeypatch, plan, order, chosen):
    # walked: even a handful of matches takes the walk down the newest-first index, testing a list of them.
    # probed: the walk asks the index about each of the newest 40 articles (2 in 100 matching is enough).
    monkeypatch.setattr(search_plan, "WALK_FROM", 3 if plan == "walked" else search_plan.WALK_FROM)
    monkeypatch.setattr(search_plan, "PROBE_FROM", 0.02 if plan == "probed" else 2)
    monkeypatch.setattr(search_plan, "SAMPLE", 40)
    filters = ArticleFilter.parse(**chosen)
    for query in QUERIES:
        for limit in (1, 7, 20, 1000):
            assert _searched(store, query, filters, order, limit) == _plain(
                store, query, filters, order, limit
            ), (
                query,
                limit,
            )


def test_equal_scores_across_the_cut_are_ordered_by_date(store):
    # Every tenth article repeats an earlier one's text: a query matching both scores them alike.
    headline, _ = next(
        (row["headline"], row["body"])
        for row in store.db.query("SELECT headline, body FROM articles WHERE article_id = 200009")
    )
    query = " ".join(headline.split()[:3])
    twins = _plain(store, query, ArticleFilter(), "relevance", 1000)
    assert len(twins) >= 2
    for limit in range(1, len(twins) + 1):
        assert _searched(store, query, ArticleFilter(), "relevance", limit) == twins[:limit]


def _plans(store: Store, query: str, order: str, **chosen: str) -> list[str]:
    return search_plan.explain(store.db.conn, search_query(query), ArticleFilter.parse(**chosen), order, True)


def test_best_matches_are_chosen_inside_the_index(store):
    first, rows = _plans(store, "the", "relevance")
    # No article row is read while choosing: only the shown ones are joined, and asked for their snippet.
    assert first.startswith("SCAN articles_fts") and " a " not in first
    assert rows.index("SCAN shown") < rows.index("articles_fts")
    first, _ = _plans(store, "the", "relevance", since="2014-01-01", source="AFP")
    assert "LIST SUBQUERY" in first and "articles_source" in first
    # FTS5 is asked for the articles of that source and those years only: the filter then tests a few.
    filters = ArticleFilter.parse(since="2020-01-01", source="AFP")  # to the last year archived, 2025
    match = search_plan.narrowed(store.db.conn, "the", filters)
    assert match == f"(the) AND {search_facets.facet_terms(store.db.conn, filters)}"
    assert "s616670" in match and "y2020" in match and "y2025" in match


def test_newest_walks_the_index_when_matches_are_many(store, monkeypatch):
    monkeypatch.setattr(search_plan, "PROBE_FROM", 2)  # never: the walk testing the list of every match
    monkeypatch.setattr(search_plan, "WALK_FROM", 3)
    first, _ = _plans(store, "the", "newest")
    assert "articles_newest" in first and "TEMP B-TREE" not in first
    monkeypatch.setattr(search_plan, "WALK_FROM", 10_000)
    first, _ = _plans(store, "the", "newest")
    assert "articles_newest" not in first


def test_search_rows_raises_on_a_query_fts5_cannot_read(store):
    with pytest.raises(sqlite3.OperationalError, match="unterminated string"):
        search_rows(store.db.conn, '"unbalanced', ArticleFilter(), "relevance", 20, "NULL")


def _archive_before(path: Path, migration: str) -> Path:
    """An archive of the fixture articles as it stood before `migration`."""
    db = Database(path)
    MIGRATIONS.apply(db, stop_before=migration)
    fields = ("edition", "article_id", "url", "headline", "body", "published", "source")
    for item in ITEMS:
        db["articles"].insert({**{name: item[name] for name in fields}, "first_seen": T1, "last_seen": T1,
                               "last_changed": T1})  # fmt: skip
    db.close()
    return path


def test_an_archive_made_before_0045_gains_the_indexes(tmp_path):
    with Store(_archive_before(tmp_path / "zwcrawl.db", "0045_search_indexes")) as store:
        indexes = {
            row["name"] for row in store.db.query("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert {"articles_newest", "articles_source"} <= indexes
        for order in ORDERS:
            assert _searched(store, "Idlib", ArticleFilter(), order, 20) == _plain(
                store, "Idlib", ArticleFilter(), order, 20
            )
            assert _searched(store, "Idlib", ArticleFilter(), order, 20)


def _counts(store: Store, query: str, filters: ArticleFilter) -> tuple[int, int, int]:
    """(articles the query matches, of how many, how many the filters admit)."""
    where, params = filters.where("a")
    (admitted,) = store.db.execute(f"SELECT count(*) FROM articles a WHERE {where}", params).fetchone()
    (articles,) = store.db.execute("SELECT count(*) FROM articles").fetchone()
    return len(_plain(store, query, ArticleFilter(), "relevance", 1000)), articles, admitted


@pytest.mark.parametrize("chosen", FILTERS, ids=[json.dumps(f) for f in FILTERS])
def test_a_query_in_most_articles_shows_the_newest_and_says_so(store, monkeypatch, chosen):
    # 300 articles, under SAMPLE: every one is in the sample. A filter of 60 articles or fewer ranks them all.
    monkeypatch.setattr(search_plan, "RANK_WITHIN", 60)
    filters = ArticleFilter.parse(**chosen)
    shortcuts = 0
    for query in QUERIES:
        matches, articles, admitted = _counts(store, query, filters)
        for limit in (1, 7, 20):
            hits = store.search(query, limit, filters=filters)
            shown = [(hit["edition"], hit["article_id"], hit["snippet"]) for hit in hits]
            if 2 * matches > articles and (not chosen or admitted > 60):
                shortcuts += 1
                assert shown == _plain(store, query, filters, "newest", limit), (query, limit)
                assert hits.newest and (hits.matches, hits.articles) == (matches, articles)
            else:
                assert shown == _plain(store, query, filters, "relevance", limit), (query, limit)
                assert not hits.newest and hits.matches is None
            ranked = store.search(query, limit, filters=filters, rank_all=True)
            assert not ranked.newest
            assert [(h["edition"], h["article_id"], h["snippet"]) for h in ranked] == _plain(
                store, query, filters, "relevance", limit
            )
    assert shortcuts or chosen  # "the" is in most articles, and no filter


def test_the_sample_spares_a_rarer_query_the_count(store, monkeypatch):
    # Under a third of the first SAMPLE articles matching: ranked in full, without counting every match.
    matches, articles, _ = _counts(store, "the", ArticleFilter())
    assert 2 * matches > articles and store.search("the", 5).newest
    first = [row[0] for row in store.db.execute("SELECT rowid FROM articles ORDER BY rowid LIMIT 30")]
    in_sample = sum(
        1 for (rowid,) in store.db.execute(_MATCHES_SQL, [search_query("the")]) if rowid in set(first)
    )
    monkeypatch.setattr(search_plan, "SAMPLE", 30)
    assert store.search("the", 5).newest is (3 * in_sample >= 30)
    assert not store.search("Idlib", 5).newest


def test_newest_asks_the_index_of_each_article_when_matches_are_dense(store, monkeypatch):
    monkeypatch.setattr(search_plan, "SAMPLE", 40)
    first, _ = _plans(store, "the", "newest")
    assert "articles_newest" in first and "CORRELATED" in first and "TEMP B-TREE" not in first
    # A rare word, or too few of the newest articles matching: the list of every match, as before.
    first, _ = _plans(store, "Xylophonist", "newest")
    assert "CORRELATED" not in first
    monkeypatch.setattr(search_plan, "SAMPLE", 1)
    assert [h["article_id"] for h in store.search("Idlib", 5, order="newest")] == [
        row[1] for row in _plain(store, "Idlib", ArticleFilter(), "newest", 5)
    ]


def test_the_newest_instead_walks_the_date_index(store, monkeypatch):
    monkeypatch.setattr(search_plan, "WALK_FROM", 3)
    match = search_query("the")
    first, _ = search_plan.explain(store.db.conn, match, ArticleFilter(), "relevance")
    assert "articles_newest" in first
    first, _ = search_plan.explain(store.db.conn, match, ArticleFilter(), "relevance", rank_all=True)
    assert first.startswith("SCAN articles_fts") and "articles_newest" not in first


def test_no_query_matches_the_facets_nor_quotes_them(store):
    # The facets hold a token of AFP, of 2016 and of March 2016; words typed, even the tokens themselves
    # (the mark dropped), find only what the text holds, and no snippet quotes the facets.
    (facets,) = next(iter(store.db.execute("SELECT facets FROM articles WHERE source = 'AFP' LIMIT 1")))
    for query in [*facets.split(), facets, "y2016", f"facets: {facets.split()[1]}"]:
        assert store.search(query, 1000, rank_all=True) == []
    for hit in store.search("Idlib", 1000, rank_all=True):
        assert search_facets.FACET_MARK not in hit["snippet"]


@pytest.mark.parametrize(
    ("chosen", "terms"),
    [
        ({"since": "2016-01-01", "until": "2016-12-31"}, "(y2016 OR yx)"),
        ({"since": "2016-11-15", "until": "2017-01-31"}, "(m201611 OR m201612 OR m201701 OR mx)"),
        ({"since": "2014-05-01", "until": "2015-12-31T23:59:59Z"}, "(y2014 OR y2015 OR yx)"),
        ({"since": "2001-01-01", "until": "2016-12-31"}, None),  # too wide to narrow
        ({"since": "2017-01-01", "until": "2016-12-31"}, None),  # nothing to narrow to
        ({"edition": "en", "section": "News"}, None),
    ],
)  # fmt: skip
def test_facet_terms_ask_months_or_years(store, chosen, terms):
    assert _terms(store.db.conn, **chosen) == (terms and f"facets : ({terms})")


def _terms(conn: sqlite3.Connection, **chosen: str) -> str | None:
    """The facet terms of a filter, the mark and quotes left out."""
    found = search_facets.facet_terms(conn, ArticleFilter.parse(**chosen))
    return found and found.replace(search_facets.FACET_MARK, "").replace('"', "")


def test_an_open_date_range_stops_at_the_archives_dates(tmp_path):
    db = Database(tmp_path / "dated.db")
    MIGRATIONS.apply(db)
    for article_id, published in ((1, "2019-05-01T10:00:00Z"), (2, "2022-05-01T10:00:00Z")):
        db["articles"].insert({"edition": "en", "article_id": article_id, "url": "u", "published": published,
                               "first_seen": T1, "last_seen": T1, "last_changed": T1})  # fmt: skip
    assert _terms(db.conn, since="2021-01-01") == "facets : ((y2021 OR y2022 OR yx))"
    assert _terms(db.conn, until="2019-07-31") == "facets : ((m201905 OR m201906 OR m201907 OR mx))"
    # The latest date as strftime would not write it: no end to count to, so no terms.
    db["articles"].insert({"edition": "en", "article_id": 3, "url": "u", "published": "2031-01-01",
                           "first_seen": T1, "last_seen": T1, "last_changed": T1})  # fmt: skip
    assert _terms(db.conn, since="2021-01-01") is None


def _index(db: Database) -> list[tuple]:
    """Every token the search index holds, where: (term, rowid, column, offset)."""
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.tokens USING fts5vocab(main, articles_fts, instance)")
    return db.execute("SELECT term, doc, col, offset FROM temp.tokens ORDER BY 1, 2, 3, 4").fetchall()


def test_an_archive_made_before_0050_gains_the_facets_as_a_rebuild_makes_them(tmp_path):
    with Store(_archive_before(tmp_path / "zwcrawl.db", "0050_search_facets")) as store:
        migrated = _index(store.db)
        assert {"facets"} <= {term[2] for term in migrated}
        store.rebuild_search()
        assert _index(store.db) == migrated
        for chosen in ({"source": "afp"}, {"since": "2018-01-01", "until": "2018-12-31"}):
            filters = ArticleFilter.parse(**chosen)
            assert _searched(store, "Syria", filters, "relevance", 20) == _plain(
                store, "Syria", filters, "relevance", 20
            )
            assert _searched(store, "Syria", filters, "relevance", 20)


def test_a_new_source_or_date_moves_the_articles_facets(tmp_path):
    with Store(tmp_path / "zwcrawl.db") as store:
        crawl = store.start_crawl({}, T1)
        item = {**ITEMS[0], "source": "AFP", "published": "2016-03-01T10:00:00Z"}
        store.save_article(item, crawl_id=crawl, capture_id=None, observed_at=T1)
        word = item["headline"].split()[0]
        in_2016 = {"since": "2016-01-01", "until": "2016-12-31"}
        assert _searched(store, word, ArticleFilter.parse(source="AFP", **in_2016), "relevance", 5)
        store.save_article({**item, "source": "Reuters", "published": "2019-03-01T10:00:00Z"},
                           crawl_id=crawl, capture_id=None, observed_at=T1)  # fmt: skip
        assert not _searched(store, word, ArticleFilter.parse(source="AFP"), "relevance", 5)
        assert not _searched(store, word, ArticleFilter.parse(**in_2016), "relevance", 5)
        assert _searched(
            store, word, ArticleFilter.parse(source="reuters", since="2019-01-01"), "relevance", 5
        )
        store.db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
