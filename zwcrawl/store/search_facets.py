"""FTS5 terms on the facets column that every article a filter admits matches: a superset, cheap to skip."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta

from zwcrawl.store.filters import ArticleFilter
from zwcrawl.store.schema import FACET_MARK, source_facet_sql

# A date range of at most this many months is asked by month, else of at most YEARS years by year; a wider
# one is not asked at all: an OR of that many lists costs more than it saves.
MONTHS = 4
YEARS = 8
# The moments strftime writes, as the facets column reads them (schema._facets_sql).
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def facet_terms(conn: sqlite3.Connection, filters: ArticleFilter) -> str | None:
    """`facets : (...)` matching at least every article `filters` admits (exactness is the filter's), or
    None when the filter names neither a source nor dates the facets can narrow."""
    terms = []
    if filters.source is not None:
        # The token of the name the filter compares with, made by the SQL that made the column's.
        (token,) = conn.execute(f"SELECT {source_facet_sql('?')}", [filters.source.strip()]).fetchone()
        terms.append(_quoted(token))
    if filters.since is not None or filters.until is not None:
        dates = _date_terms(conn, filters.since, filters.until)
        if dates:
            terms.append(dates)
    return f"facets : ({' AND '.join(terms)})" if terms else None


def _date_terms(conn: sqlite3.Connection, since: str | None, until: str | None) -> str | None:
    """The OR of the month or year tokens of every moment in [since, until), and of undated-looking text."""
    if since is None or until is None:
        # An open end stops at the archive's first or last date (two seeks of the date index).
        # Two subqueries: min() and max() in one SELECT would scan the table instead.
        ends = "SELECT (SELECT min(published) FROM articles), (SELECT max(published) FROM articles)"
        first, last = conn.execute(ends).fetchone()
        since, until = since or first, until or _after(last)
    if not (since and until and _MOMENT.fullmatch(since) and _MOMENT.fullmatch(until)) or since >= until:
        return None
    # Moments as strftime writes them compare as they sort: one in [since, until) is in a month from since's
    # to that of the last second before until. Any other text has the tokens mx and yx, always asked.
    try:
        start = datetime.fromisoformat(since[:19])
        end = datetime.fromisoformat(until[:19]) - timedelta(seconds=1)
    except ValueError:  # such as the 30th of February: no date strftime writes
        return None
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if months <= MONTHS:
        steps = (start.month - 1 + n for n in range(months))
        tokens = [f"m{start.year + step // 12:04d}{step % 12 + 1:02d}" for step in steps] + ["mx"]
    elif end.year - start.year < YEARS:
        tokens = [f"y{year:04d}" for year in range(start.year, end.year + 1)] + ["yx"]
    else:
        return None
    return "(" + " OR ".join(_quoted(FACET_MARK + token) for token in tokens) + ")"


def _after(moment: str | None) -> str | None:
    """The moment a second after `moment` (an exclusive end that takes it in), if strftime could write it."""
    if moment is None or not _MOMENT.fullmatch(moment):
        return None
    try:
        return (datetime.fromisoformat(moment[:19]) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError):
        return None


def _quoted(token: str) -> str:
    """A token as an FTS5 string."""
    return '"' + token.replace('"', '""') + '"'
