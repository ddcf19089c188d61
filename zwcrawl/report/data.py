"""What the report shows, read from the archive (read-only) in a fixed order: one archive, one report."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from zwcrawl.store import DB_NAME, Store

TOP = 15  # sources and authors shown
TIME_SERIES = 4  # articles whose counters are drawn
MISSING_SHOWN = 40  # missing ids listed by number
FAILURES_SHOWN = 10  # latest failed fetches listed


@dataclass
class CrawlRow:
    """One crawl: when, how it ended, and what it fetched, found new and gave up on."""

    id: int
    started_at: str
    ended_at: str | None
    status: str
    editions: str
    pages: int
    new_articles: int
    failures: int


@dataclass
class Series:
    """One article's counters at each fetch."""

    edition: str
    article_id: int
    headline: str | None
    observed_at: list[str]
    likes: list[int | None]
    dislikes: list[int | None]


@dataclass
class ReportData:
    """Everything the report draws, in the order it draws it."""

    as_of: str | None
    articles: dict[str, int]
    crawls: list[CrawlRow]
    months: list[tuple[str, dict[str, int]]]
    sources: list[tuple[str, int]]
    authors: list[tuple[str, int]]
    series: list[Series]
    database_bytes: int
    warc_files: int
    warc_bytes: int
    captures: int
    failures: int
    recent_failures: list[tuple[int, str, str]]
    missing: dict[str, int]
    missing_ids: list[tuple[str, int, str]]
    last_verify: str | None = None
    notes: list[str] = field(default_factory=list)


def read_report_data(archive: Path) -> ReportData:
    """Read the report's figures from the archive, never writing to it."""
    with Store(archive / DB_NAME, read_only=True) as store:
        conn = store.db.conn
        conn.row_factory = sqlite3.Row
        # One read transaction: beside a running crawl every figure comes from the same committed state.
        conn.execute("BEGIN")
        warcs = sorted((archive / "warc").glob("*.warc.gz"))
        return ReportData(
            as_of=_one(conn, "select max(fetched_at) from captures"),
            articles=dict(conn.execute("select edition, count(*) from articles group by edition order by 1")),
            crawls=_crawls(conn),
            months=_months(conn),
            sources=_pairs(
                conn,
                "select source, count(*) from articles where source is not null"
                f" group by source order by 2 desc, 1 limit {TOP}",
            ),
            authors=_pairs(
                conn,
                f"select name, count(*) from article_authors group by name order by 2 desc, 1 limit {TOP}",
            ),
            series=_series(conn),
            # Pages in use, not the file's size: the same archive reads the same whatever its WAL holds.
            database_bytes=_one(conn, "pragma page_count") * _one(conn, "pragma page_size"),
            warc_files=len(warcs),
            warc_bytes=sum(path.stat().st_size for path in warcs),
            captures=_one(conn, "select count(*) from captures"),
            failures=_one(conn, "select count(*) from failures"),
            recent_failures=[
                tuple(row)
                for row in conn.execute(
                    f"select crawl_id, url, reason from failures order by id desc limit {FAILURES_SHOWN}"
                )
            ],
            missing=dict(conn.execute("select edition, count(*) from missing group by edition order by 1")),
            missing_ids=[
                tuple(row)
                for row in conn.execute(
                    "select edition, article_id, reason from missing order by edition, article_id"
                    f" limit {MISSING_SHOWN}"
                )
            ],
        )


def _crawls(conn: sqlite3.Connection) -> list[CrawlRow]:
    """Every crawl, oldest first, its figures counted from the rows it wrote (a dead crawl has no stats)."""
    pages = dict(
        conn.execute(
            "select crawl_id, count(*) from captures where record_type in ('response', 'revisit')"
            " group by crawl_id"
        )
    )
    # An article is new in the crawl of its first observation.
    new = dict(
        conn.execute(
            "select first, count(*) from (select min(crawl_id) as first from observations"
            " group by edition, article_id) group by first"
        )
    )
    failures = dict(conn.execute("select crawl_id, count(*) from failures group by crawl_id"))
    rows = conn.execute(
        "select id, started_at, ended_at, status,"
        " coalesce((select group_concat(value, ' ') from json_each(options, '$.editions')), '')"
        " from crawls order by id"
    )
    return [
        CrawlRow(id, started, ended, status, editions, pages.get(id, 0), new.get(id, 0), failures.get(id, 0))
        for id, started, ended, status, editions in rows
    ]


def _months(conn: sqlite3.Connection) -> list[tuple[str, dict[str, int]]]:
    """Articles per month of publication (UTC) and edition, oldest month first."""
    months: dict[str, dict[str, int]] = {}
    for month, edition, count in conn.execute(
        "select substr(published, 1, 7), edition, count(*) from articles where published is not null"
        " group by 1, 2 order by 1, 2"
    ):
        months.setdefault(month, {})[edition] = count
    return list(months.items())


def _series(conn: sqlite3.Connection) -> list[Series]:
    """The counters of the most-observed articles: most fetches first, then the widest swing in likes."""
    keys = conn.execute(
        f"""
        select o.edition, o.article_id, a.headline from observations o
        join articles a on a.edition = o.edition and a.article_id = o.article_id
        group by o.edition, o.article_id having count(*) > 1
        order by count(*) desc, max(o.likes) - min(o.likes) desc, o.edition, o.article_id
        limit {TIME_SERIES}
        """
    ).fetchall()
    series = []
    for edition, article_id, headline in keys:
        points = conn.execute(
            "select observed_at, likes, dislikes from observations where edition = ? and article_id = ?"
            " order by observed_at, id",
            (edition, article_id),
        ).fetchall()
        series.append(
            Series(
                edition,
                article_id,
                headline,
                [p[0] for p in points],
                [p[1] for p in points],
                [p[2] for p in points],
            )
        )
    return series


def _pairs(conn: sqlite3.Connection, sql: str) -> list[tuple[str, int]]:
    return [(row[0], row[1]) for row in conn.execute(sql)]


def _one(conn: sqlite3.Connection, sql: str):
    return conn.execute(sql).fetchone()[0]
