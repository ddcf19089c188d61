"""Search in two steps gives exactly what one plain statement over every match gives, by the cheap plan."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from zwcrawl.store import ArticleFilter, Store, search_plan
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
ORDERS = {
    "relevance": "bm25(articles_fts, 5.0, 1.0), a.published DESC, a.edition, a.article_id",
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
]
QUERIES = ["the", "Idlib", "regime camps", '"قوات النظام"', "مخيم", "Xylophonist"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """300 articles; every tenth a copy of an earlier body (equal scores), some undated, some AFP."""
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
            article = {
                **item,
                "article_id": 200_000 + n,
                "url": f"{item['url'].rsplit('/', 1)[0]}/{200_000 + n}",
                "headline": headline,
                "body": body,
                "published": published,
                "source": "AFP" if n % 4 == 0 else item["source"],
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
        for hit in store.search(query, limit, filters=filters, order=order)
    ]


@pytest.mark.parametrize("walk_from", [search_plan.WALK_FROM, 3], ids=["sorted", "walked"])
@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("chosen", FILTERS, ids=[json.dumps(f) for f in FILTERS])
def test_the_same_hits_in_the_same_order(store, monkeypatch, walk_from, order, chosen):
    # walk_from 3: even a handful of matches takes the walk down the newest-first index.
    monkeypatch.setattr(search_plan, "WALK_FROM", walk_from)
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
    return search_plan.explain(store.db.conn, search_query(query), ArticleFilter.parse(**chosen), order)


def test_best_matches_are_chosen_inside_the_index(store):
    first, rows = _plans(store, "the", "relevance")
    # No article row is read while choosing: only the shown ones are joined, and asked for their snippet.
    assert first.startswith("SCAN articles_fts") and " a " not in first
    assert rows.index("SCAN shown") < rows.index("articles_fts")
    first, _ = _plans(store, "the", "relevance", since="2014-01-01", source="AFP")
    assert "LIST SUBQUERY" in first and "articles_source" in first


def test_newest_walks_the_index_when_matches_are_many(store, monkeypatch):
    monkeypatch.setattr(search_plan, "WALK_FROM", 3)
    first, _ = _plans(store, "the", "newest")
    assert "articles_newest" in first and "TEMP B-TREE" not in first
    monkeypatch.setattr(search_plan, "WALK_FROM", 10_000)
    first, _ = _plans(store, "the", "newest")
    assert "articles_newest" not in first


def test_search_rows_raises_on_a_query_fts5_cannot_read(store):
    with pytest.raises(sqlite3.OperationalError, match="unterminated string"):
        search_rows(store.db.conn, '"unbalanced', ArticleFilter(), "relevance", 20, "NULL")


def test_an_archive_made_before_0045_gains_the_indexes(tmp_path):
    path = tmp_path / "zwcrawl.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="0045_search_indexes")
    fields = ("edition", "article_id", "url", "headline", "body", "published", "source")
    for item in ITEMS:
        db["articles"].insert({**{name: item[name] for name in fields}, "first_seen": T1, "last_seen": T1,
                               "last_changed": T1})  # fmt: skip
    db.close()
    with Store(path) as store:
        indexes = {
            row["name"] for row in store.db.query("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert {"articles_newest", "articles_source"} <= indexes
        for order in ORDERS:
            assert _searched(store, "Idlib", ArticleFilter(), order, 20) == _plain(
                store, "Idlib", ArticleFilter(), order, 20
            )
            assert _searched(store, "Idlib", ArticleFilter(), order, 20)


def _plain_among_newest(
    store: Store, query: str, filters: ArticleFilter, limit: int, among: int
) -> list[tuple]:
    """The best matches by a full sort, among the newest `among` matches the filters admit only."""
    where, params = filters.where("a")
    newest = (
        "SELECT a.rowid FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid"
        f" WHERE articles_fts MATCH ? AND {where} ORDER BY {ORDERS['newest']} LIMIT ?"
    )
    sql = (
        "SELECT a.edition, a.article_id, snippet(articles_fts, -1, '[', ']', '…', 16)"
        " FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid"
        f" WHERE articles_fts MATCH ? AND a.rowid IN ({newest}) ORDER BY {ORDERS['relevance']} LIMIT ?"
    )
    match = search_query(query)
    return store.db.execute(sql, (match, match, *params, among, limit)).fetchall()


@pytest.mark.parametrize("chosen", FILTERS, ids=[json.dumps(f) for f in FILTERS])
def test_over_rank_among_matches_a_shortcut_says_what_it_shows(store, chosen):
    filters = ArticleFilter.parse(**chosen)
    (articles,) = store.db.execute("SELECT count(*) FROM articles").fetchone()
    paths = set()
    for query in QUERIES:
        everywhere = len(_plain(store, query, ArticleFilter(), "relevance", 1000))
        matches = len(_plain(store, query, filters, "relevance", 1000))
        for among in (1, 9, 40):
            for limit in (1, 7, 20):
                hits = store.search(query, limit, filters=filters, rank_among=among)
                shown = [(hit["edition"], hit["article_id"], hit["snippet"]) for hit in hits]
                if matches <= among:
                    paths.add("all")
                    assert shown == _plain(store, query, filters, "relevance", limit), (query, among)
                    assert hits.ranked is hits.matches is None and not hits.newest
                elif 2 * everywhere > articles:
                    # In more than half the articles: the newest matches, and the hits say so.
                    paths.add("newest")
                    assert shown == _plain(store, query, filters, "newest", limit), (query, among)
                    assert hits.newest and (hits.matches, hits.articles) == (everywhere, articles)
                elif matches <= search_plan.WALK_PAYS * among:
                    paths.add("all")  # ranking them all is cheaper than walking to the newest
                    assert shown == _plain(store, query, filters, "relevance", limit), (query, among)
                    assert hits.ranked is hits.matches is None and not hits.newest
                else:
                    # Exactly what a full sort of the newest `among` matches gives, and the hits say so.
                    paths.add("ranked")
                    assert shown == _plain_among_newest(store, query, filters, limit, among), (query, among)
                    assert (hits.ranked, hits.matches) == (among, matches) and not hits.newest
    assert paths == {"all", "newest", "ranked"} or chosen


def test_rank_among_none_or_zero_ranks_every_match(store):
    everything = _plain(store, "the", ArticleFilter(), "relevance", 20)
    for among in (None, 0):
        hits = store.search("the", 20, rank_among=among)
        assert [(h["edition"], h["article_id"], h["snippet"]) for h in hits] == everything
        assert hits.ranked is None
    # Other orders are never bounded: their walk stops at the limit anyway.
    assert store.search("the", 20, order="newest", rank_among=3).ranked is None


def test_the_shortcuts_walk_the_newest_index(store, monkeypatch):
    monkeypatch.setattr(search_plan, "WALK_FROM", 3)
    for query in ("Idlib", "the"):  # in fewer than half the articles, then in more
        match = search_query(query)
        first, _ = search_plan.explain(store.db.conn, match, ArticleFilter(), "relevance", rank_among=5)
        assert "articles_newest" in first, query
        first, _ = search_plan.explain(store.db.conn, match, ArticleFilter(), "relevance", rank_among=10_000)
        assert "articles_newest" not in first, query
    assert store.search("Idlib", 3, rank_among=5).ranked == 5
    assert store.search("the", 3, rank_among=5).newest
