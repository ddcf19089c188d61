"""A search in two steps: the ids of the hits to show, chosen cheaply, then the rows and snippets of those."""

from __future__ import annotations

import json
import sqlite3
from typing import NamedTuple

from zwcrawl.store.filters import ArticleFilter
from zwcrawl.store.search_facets import facet_terms

# The orders a search offers; after the first keys, edition and id make every order total.
ORDERS = ("relevance", "newest", "oldest")
# A hit in the headline weighs more than one in the body; the facets, only there to narrow, weigh nothing.
_BM25 = "bm25(articles_fts, 5.0, 1.0, 0.0)"
_MATCHES = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
# A filter admitting at most this many articles has all its matches ranked, however common the words.
RANK_WITHIN = 10_000
# The first this many articles archived (by rowid): a query in most articles is in a good share of these.
SAMPLE = 2000
# Newest first, a query matching at least this share of the sampled articles has its first hits within a
# few hundred articles of the date index.
PROBE_FROM = 0.05
# With this many matches or more, walking the articles newest first finds the page's hits within a few
# thousand rows; with fewer, sorting the matches themselves is cheaper (and the walk could go to the end).
WALK_FROM = 2000
# In published DESC, SQLite puts NULL last: undated articles come after every dated one, as before.
_BY_DATE = {
    "newest": "a.published DESC, a.edition, a.article_id",
    "oldest": "a.published IS NULL, a.published, a.edition, a.article_id",
}
# The shown hits with their authors and snippet, in the order of their rank from the first step. CROSS JOIN
# keeps the shown few as the outer loop: the index is then asked for those rowids only, not every match.
_ROWS_SQL = (
    "WITH ranked AS (SELECT CAST(json_extract(value, '$[0]') AS INTEGER) AS id,"
    " json_extract(value, '$[1]') AS score FROM json_each(?)),"
    " shown AS (SELECT ranked.id, ranked.score FROM ranked JOIN articles a ON a.rowid = ranked.id"
    " ORDER BY ranked.score, a.published DESC, a.edition, a.article_id LIMIT ?)"
    " SELECT a.edition, a.article_id, a.url, a.headline, a.published, a.source, {authors} AS authors,"
    " snippet(articles_fts, -1, '[', ']', '…', 16) AS snippet"
    " FROM shown CROSS JOIN articles a ON a.rowid = shown.id"
    " CROSS JOIN articles_fts ON articles_fts.rowid = shown.id"
    " WHERE articles_fts MATCH ? ORDER BY shown.score, a.published DESC, a.edition, a.article_id"
)


class Hits(list):
    """A search's hits; `newest` set where they are the newest of its `matches`, most of the `articles`."""

    newest: bool = False
    matches: int | None = None
    articles: int | None = None


class _Plan(NamedTuple):
    """How a search runs: its order, and for the newest shown instead of the best, what was counted."""

    order: str
    matches: int | None = None
    articles: int | None = None


def search_rows(
    conn: sqlite3.Connection,
    match: str,
    filters: ArticleFilter,
    order: str,
    limit: int,
    authors: str,
    rank_all: bool = False,
) -> Hits:
    """The hits of FTS5 query `match` among the articles `filters` admits, in `order`; OperationalError.

    By relevance, a query matching more than half the articles gets the newest of its hits (Hits.newest),
    unless `rank_all` or a filter admitting at most RANK_WITHIN articles.
    """
    plan = _plan(conn, match, filters, order, rank_all)
    ranked = _ranked_ids(conn, match, filters, plan.order, limit)
    cursor = conn.execute(_ROWS_SQL.format(authors=authors), (json.dumps(ranked), limit, match))
    names = [column[0] for column in cursor.description]
    hits = Hits(dict(zip(names, row, strict=True)) for row in cursor)
    if plan.order != order:
        hits.newest, hits.matches, hits.articles = True, plan.matches, plan.articles
    return hits


def explain(
    conn: sqlite3.Connection, match: str, filters: ArticleFilter, order: str, rank_all: bool = False
) -> list[str]:
    """SQLite's plan (EXPLAIN QUERY PLAN) for each of the two statements search_rows runs."""
    order = _plan(conn, match, filters, order, rank_all).order
    ranked = _ranked_ids(conn, match, filters, order, 20)
    steps = [
        _first_step(conn, match, filters, order, 20, _probing_walk(conn, match, filters, order)),
        (_ROWS_SQL.format(authors="NULL"), [json.dumps(ranked), 20, match]),
    ]
    return [
        "; ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        for sql, params in steps
    ]


def _plan(conn: sqlite3.Connection, match: str, filters: ArticleFilter, order: str, rank_all: bool) -> _Plan:
    """By relevance, the newest instead where the query matches more than half the articles (README: why)."""
    if order != "relevance" or rank_all or not _may_match_most(conn, match):
        return _Plan(order)
    where, params = filters.where("a")
    if where != "1":
        admitted = f"SELECT count(*) FROM (SELECT 1 FROM articles a WHERE {where} LIMIT ?)"
        if conn.execute(admitted, [*params, RANK_WITHIN + 1]).fetchone()[0] <= RANK_WITHIN:
            return _Plan(order)  # few enough to rank every match, at a few ms
    # Counting reads the matches' ids inside the index only: a few ms for 150,000, beside 200 ms of bm25.
    (matches,) = conn.execute(f"SELECT count(*) FROM ({_MATCHES})", [match]).fetchone()
    (articles,) = conn.execute("SELECT count(*) FROM articles").fetchone()
    if 2 * matches <= articles:
        return _Plan(order)
    # Without OR, each word or phrase of such a query is in more than half the articles, and FTS5's bm25 gives
    # a word that common an idf of a millionth: its ranking would weigh next to nothing, at 1.4 us a match.
    # (With OR, as among a bare Arabic word's forms, one may be rarer: the newest are shown all the same.)
    return _Plan("newest", matches, articles)


def _may_match_most(conn: sqlite3.Connection, match: str) -> bool:
    """Whether the query matches at least a third of the sampled articles: a sign, needed before counting
    every match, so that a rarer phrase is not read twice."""
    return 3 * _sampled_share(conn, match) >= 1


def _sampled_share(conn: sqlite3.Connection, match: str) -> float:
    """The share of the first SAMPLE rowids (the first articles archived) that the query matches, asked of
    that slice of the index only (FTS5 seeks a rowid range); a rowid no longer used counts as no match."""
    # Two subqueries: min() and max() in one SELECT would scan the table instead of seeking both ends.
    ends = "SELECT (SELECT min(rowid) FROM articles), (SELECT max(rowid) FROM articles)"
    first, last = conn.execute(ends).fetchone()
    if first is None:
        return 0.0
    sampled = min(SAMPLE, last - first + 1)
    sql = f"SELECT count(*) FROM ({_MATCHES} AND rowid BETWEEN ? AND ?)"
    return conn.execute(sql, [match, first, first + sampled - 1]).fetchone()[0] / sampled


def _probing_walk(conn: sqlite3.Connection, match: str, filters: ArticleFilter, order: str) -> bool:
    """Whether the newest hits are best found by asking the index about each article of the date index in
    turn (no list of every match made): newest first, no filter reading article rows, and matches dense."""
    return _walkable(order, filters) and _sampled_share(conn, match) >= PROBE_FROM


def _walkable(order: str, filters: ArticleFilter) -> bool:
    """Whether the date index can be walked: newest first, and no filter that reads each walked article."""
    # A source, section or author filter would fetch each walked article's row: there the planner's own
    # choice (that filter's index, then a sort) is cheaper than the walk.
    return order == "newest" and filters.source is None and filters.section is None and filters.author is None


def _first_step(
    conn: sqlite3.Connection, match: str, filters: ArticleFilter, order: str, limit: int, probe: bool = False
) -> tuple[str, list]:
    """The statement choosing the ids to show: (rowid, score) rows, best first, `limit` + 1 of them; with
    `probe`, among the newest SAMPLE articles only (fewer rows then: see _ranked_ids)."""
    where, params = filters.where("a")
    if probe:
        # Each of the newest articles asked of the index by rowid, a seek of a few microseconds, in the date
        # index's order (no sort: the walk stops at the limit); no further than the SAMPLE-th newest article's
        # date, as the matches could all be older (then the list of every match, below, is made after all).
        bound = (
            f"SELECT a.published FROM articles a INDEXED BY articles_newest WHERE {where}"
            f" ORDER BY {_BY_DATE['newest']} LIMIT 1 OFFSET ?"
        )
        matches = "SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? AND articles_fts.rowid = a.rowid"
        sql = (
            f"SELECT a.rowid, 0 FROM articles a INDEXED BY articles_newest WHERE {where}"
            f" AND a.published >= ({bound}) AND EXISTS ({matches}) ORDER BY {_BY_DATE['newest']} LIMIT ?"
        )
        return sql, [*params, *params, SAMPLE - 1, match, limit + 1]
    match = narrowed(conn, match, filters)
    if order == "relevance":
        # Inside the index alone: no article row is read until the few shown are known. The filter becomes a
        # list of rowids that the index's scan tests (+ keeps SQLite from probing the index per article
        # instead: each probe is a fresh query of the index, and of bm25's statistics).
        within = f" AND +rowid IN (SELECT a.rowid FROM articles a WHERE {where})" if where != "1" else ""
        sql = f"SELECT rowid, {_BM25} FROM articles_fts WHERE articles_fts MATCH ?{within} ORDER BY 2 LIMIT ?"
        return sql, [match, *params, limit + 1]
    walk = _walkable(order, filters) and _many_matches(conn, match)
    # Walking the index newest first stops at the limit; each article is tested against the matches' list.
    hint = "INDEXED BY articles_newest" if walk else ""
    sql = (
        f"SELECT a.rowid, 0 FROM articles a {hint} WHERE {where} AND a.rowid IN ({_MATCHES})"
        f" ORDER BY {_BY_DATE[order]} LIMIT ?"
    )
    return sql, [*params, match, limit + 1]


def narrowed(conn: sqlite3.Connection, match: str, filters: ArticleFilter) -> str:
    """The query with the filter's facet terms ANDed to it, as the first step hands it to FTS5."""
    # FTS5 then skips through a common word's list to the articles with those tokens (the doclist index),
    # instead of SQLite testing each match against the filter. Only a superset: the filter, in the first
    # step, keeps exactly the articles it admits. bm25 is the same: a facet term scores nothing, and the
    # facets' three tokens are in every article's length whatever the query.
    facets = facet_terms(conn, filters)
    return f"({match}) AND {facets}" if facets else match


def _ranked_ids(
    conn: sqlite3.Connection, match: str, filters: ArticleFilter, order: str, limit: int
) -> list[tuple[int, int]]:
    """(rowid, rank) of at least the `limit` hits to show, best rank first; equal ranks go by date."""
    if _probing_walk(conn, match, filters, order):
        rows = conn.execute(*_first_step(conn, match, filters, order, limit, probe=True)).fetchall()
        if len(rows) > limit:
            return [(rowid, position) for position, (rowid, _) in enumerate(rows)]
    sql, params = _first_step(conn, match, filters, order, limit)
    rows = conn.execute(sql, params).fetchall()
    if order != "relevance":
        return [(rowid, position) for position, (rowid, _) in enumerate(rows)]
    if 0 < limit < len(rows) and rows[limit][1] == rows[limit - 1][1]:
        # Equal scores across the cut: which of them are shown is decided by date, so take them all.
        tied = sql.replace(" ORDER BY 2 LIMIT ?", f" AND {_BM25} <= ?")
        rows = conn.execute(tied, [*params[:-1], rows[limit][1]]).fetchall()
    # Scores become ranks (equal scores, equal ranks) so no float makes the trip through JSON.
    ranks: dict[float, int] = {}
    return [(rowid, ranks.setdefault(score, len(ranks))) for rowid, score in sorted(rows, key=lambda r: r[1])]


def _many_matches(conn: sqlite3.Connection, match: str) -> bool:
    """Whether the query matches at least WALK_FROM articles (counted no further)."""
    sql = f"SELECT count(*) FROM ({_MATCHES} LIMIT ?)"
    return conn.execute(sql, (match, WALK_FROM)).fetchone()[0] >= WALK_FROM
