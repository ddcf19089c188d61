"""A search in two steps: the ids of the hits to show, chosen cheaply, then the rows and snippets of those."""

from __future__ import annotations

import json
import sqlite3
from typing import NamedTuple

from zwcrawl.store.filters import ArticleFilter

# The orders a search offers; after the first keys, edition and id make every order total.
ORDERS = ("relevance", "newest", "oldest")
# A hit in the headline weighs more than one in the body.
_BM25 = "bm25(articles_fts, 5.0, 1.0)"
_MATCHES = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
# A best-match search over more than WALK_PAYS times this many matches ranks the newest this many only
# (README, researcher tour: FTS5 computes bm25 for every match and cannot stop early, about 1.4 us each).
RANK_AMONG = 10_000
# Below it, ranking every match costs less than walking the date index to the newest RANK_AMONG.
WALK_PAYS = 4
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
    """A search's hits, and the shortcut it took by relevance, if any (else the numbers are None).

    `ranked` of its `matches` were ranked (the newest); or, with `newest` set, its matches were more than half
    of the `articles` and are shown newest first.
    """

    ranked: int | None = None
    matches: int | None = None
    articles: int | None = None
    newest: bool = False


class _Plan(NamedTuple):
    """How a search runs: its order, the newest matches it ranks among (None: all), and what it counted."""

    order: str
    among: int | None = None
    matches: int | None = None
    articles: int | None = None


def search_rows(
    conn: sqlite3.Connection,
    match: str,
    filters: ArticleFilter,
    order: str,
    limit: int,
    authors: str,
    rank_among: int | None = RANK_AMONG,
) -> Hits:
    """The hits of FTS5 query `match` among the articles `filters` admits, in `order`; OperationalError.

    By relevance with more than `rank_among` matches, either (matches in more than half the articles) the
    newest hits, or (more than WALK_PAYS times `rank_among`) the best of the newest `rank_among` matches
    (newest by published, then edition and id), and the Hits say which; None or 0 ranks every match.
    """
    plan = _plan(conn, match, filters, order, rank_among)
    ranked = _ranked_ids(conn, match, filters, plan.order, limit, plan.among)
    cursor = conn.execute(_ROWS_SQL.format(authors=authors), (json.dumps(ranked), limit, match))
    names = [column[0] for column in cursor.description]
    hits = Hits(dict(zip(names, row, strict=True)) for row in cursor)
    if plan.order != order:
        hits.newest, hits.matches, hits.articles = True, plan.matches, plan.articles
    elif plan.among:
        hits.ranked, hits.matches = plan.among, plan.matches
    return hits


def _plan(
    conn: sqlite3.Connection, match: str, filters: ArticleFilter, order: str, rank_among: int | None
) -> _Plan:
    """The search's plan: by relevance over more than `rank_among` matches, a shortcut (README: why)."""
    if order != "relevance" or not rank_among or not _more_than(conn, match, filters, rank_among):
        return _Plan(order)
    # Counting reads the matches' ids inside the index only: a few ms for 150,000, beside 200 ms for bm25.
    everywhere = _count(conn, match, ArticleFilter())
    (articles,) = conn.execute("SELECT count(*) FROM articles").fetchone()
    matches = everywhere if filters.where("a")[0] == "1" else _count(conn, match, filters)
    if matches <= rank_among:
        return _Plan(order)
    if 2 * everywhere > articles:
        # Every word (or phrase) of such a query is in more than half the articles, and FTS5's bm25 gives a
        # word that common an idf of a millionth: its ranking weighs next to nothing, so show the newest.
        return _Plan("newest", None, everywhere, articles)
    if matches <= WALK_PAYS * rank_among:
        # So few that ranking them all costs less than finding the newest rank_among of them.
        return _Plan(order)
    return _Plan(order, rank_among, matches, articles)


def explain(
    conn: sqlite3.Connection, match: str, filters: ArticleFilter, order: str, rank_among: int | None = None
) -> list[str]:
    """SQLite's plan (EXPLAIN QUERY PLAN) for each of the two statements search_rows runs."""
    order, among, *_ = _plan(conn, match, filters, order, rank_among)
    ranked = _ranked_ids(conn, match, filters, order, 20, among)
    steps = [
        _first_step(conn, match, filters, order, 20, among),
        (_ROWS_SQL.format(authors="NULL"), [json.dumps(ranked), 20, match]),
    ]
    return [
        "; ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        for sql, params in steps
    ]


def _first_step(
    conn: sqlite3.Connection,
    match: str,
    filters: ArticleFilter,
    order: str,
    limit: int,
    among: int | None = None,
) -> tuple[str, list]:
    """The statement choosing the ids to show: (rowid, score) rows, best first, `limit` + 1 of them; by
    relevance with `among`, the best of the newest `among` matches only."""
    where, params = filters.where("a")
    if order == "relevance":
        # Inside the index alone: no article row is read until the few shown are known. The filter becomes a
        # list of rowids that the index's scan tests (+ keeps SQLite from probing the index per article
        # instead: each probe is a fresh query of the index, and of bm25's statistics).
        within = f" AND +rowid IN (SELECT a.rowid FROM articles a WHERE {where})" if where != "1" else ""
        if among:
            # The newest `among` matches, walked down articles_newest as --order newest walks it; bm25 is
            # then computed for those only (its statistics are still the whole index's, so each score is
            # the one a full ranking gives).
            within = f" AND +rowid IN ({_newest_sql(where)})"
            params = [*params, match, among]
        sql = f"SELECT rowid, {_BM25} FROM articles_fts WHERE articles_fts MATCH ?{within} ORDER BY 2 LIMIT ?"
        return sql, [match, *params, limit + 1]
    # A source, section or author filter would fetch each walked article's row: there the planner's own
    # choice (that filter's index, then a sort) is cheaper than the walk.
    walk = (
        order == "newest"
        and filters.source is None
        and filters.section is None
        and filters.author is None
        and _many_matches(conn, match)
    )
    # Walking the index newest first stops at the limit; each article is tested against the matches' list.
    hint = "INDEXED BY articles_newest" if walk else ""
    sql = (
        f"SELECT a.rowid, 0 FROM articles a {hint} WHERE {where} AND a.rowid IN ({_MATCHES})"
        f" ORDER BY {_BY_DATE[order]} LIMIT ?"
    )
    return sql, [*params, match, limit + 1]


def _newest_sql(where: str) -> str:
    """The rowids of the newest `?` matches `where` admits (parameters: where's, the match, the count)."""
    return (
        f"SELECT a.rowid FROM articles a INDEXED BY articles_newest WHERE {where} AND a.rowid IN ({_MATCHES})"
        f" ORDER BY {_BY_DATE['newest']} LIMIT ?"
    )


def _ranked_ids(
    conn: sqlite3.Connection,
    match: str,
    filters: ArticleFilter,
    order: str,
    limit: int,
    among: int | None = None,
) -> list[tuple[int, int]]:
    """(rowid, rank) of at least the `limit` hits to show, best rank first; equal ranks go by date."""
    sql, params = _first_step(conn, match, filters, order, limit, among)
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


def _more_than(conn: sqlite3.Connection, match: str, filters: ArticleFilter, n: int) -> bool:
    """Whether more than n articles might both match and pass the filters: each side counted to n + 1 at
    most, so the answer costs a few thousand index steps, never a reading of every match."""
    where, params = filters.where("a")
    if where != "1":
        admitted = f"SELECT count(*) FROM (SELECT 1 FROM articles a WHERE {where} LIMIT ?)"
        if conn.execute(admitted, [*params, n + 1]).fetchone()[0] <= n:
            return False
    matching = f"SELECT count(*) FROM ({_MATCHES} LIMIT ?)"
    return conn.execute(matching, (match, n + 1)).fetchone()[0] > n


def _count(conn: sqlite3.Connection, match: str, filters: ArticleFilter) -> int:
    """How many articles match and pass the filters."""
    where, params = filters.where("a")
    within = f" AND +rowid IN (SELECT a.rowid FROM articles a WHERE {where})" if where != "1" else ""
    return conn.execute(f"SELECT count(*) FROM ({_MATCHES}{within})", [match, *params]).fetchone()[0]


def _many_matches(conn: sqlite3.Connection, match: str) -> bool:
    """Whether the query matches at least WALK_FROM articles (counted no further)."""
    sql = f"SELECT count(*) FROM ({_MATCHES} LIMIT ?)"
    return conn.execute(sql, (match, WALK_FROM)).fetchone()[0] >= WALK_FROM
