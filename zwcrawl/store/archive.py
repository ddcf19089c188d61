"""The SQLite archive: opens the database safely and offers the few writes and queries the crawler needs."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import quote

from sqlite_utils import Database
from sqlite_utils.db import Column, Index, NotFoundError, Table

from zwcrawl.article import Article, Comment
from zwcrawl.site import classify
from zwcrawl.store.filters import ArticleFilter
from zwcrawl.store.query import SearchQueryError, search_query
from zwcrawl.store.schema import MIGRATIONS, fold_search_text, foreign_objects, search_index_rows_sql
from zwcrawl.store.search_plan import ORDERS, Hits, search_rows
from zwcrawl.warc.paths import inside_archive

SaveResult = Literal["new", "updated", "unchanged"]

DB_NAME = "zwcrawl.db"  # the archive database's name inside an archive directory


def read_only_uri(path: str | Path) -> str:
    """The SQLite URI that opens a database read-only, whatever characters its path holds.

    Where the user cannot write beside the database and no writer's WAL is there, the URI also says
    `immutable=1`: SQLite then needs no -shm file, which it could not create, and takes no locks.
    """
    path = Path(path).resolve()
    uri = "file:" + quote(str(path)) + "?mode=ro"
    if not _can_write_beside(path) and not _sidecar(path, "-wal").exists():
        uri += "&immutable=1"
    return uri


@contextmanager
def leaving_no_sidecars(path: str | Path) -> Iterator[None]:
    """Around a read-only use: remove the -wal and -shm it made, as SQLite removes its own on close."""
    path = Path(path)
    had = _sidecar(path, "-wal").exists() or _sidecar(path, "-shm").exists()
    try:
        yield
    finally:
        wal = _sidecar(path, "-wal")
        if not had and _can_write_beside(path) and wal.exists() and wal.stat().st_size == 0:
            # A read-only connection cannot delete them; the last plain connection to close does, under
            # SQLite's own locks, so a crawl that opened the database meanwhile keeps them. It reads only.
            with contextlib.suppress(sqlite3.Error):
                conn = sqlite3.connect(path, timeout=1)
                try:
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                finally:
                    conn.close()


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _can_write_beside(path: Path) -> bool:
    return os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)


# Storage keeps one spelling of time; WARC 1.1 dates may carry a fraction of a second.
_UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z")

# Editorial columns (a change in any of them, or in people or images, makes a save "updated") and reader
# counters (recorded as observations, never a reason to call an article "updated"): named in Article.
_ARTICLE_COLUMNS = (*Article.names("column"), "image_url")
_COUNTERS = Article.names("counter")

_CAPTURE_REQUIRED = frozenset(
    {
        "crawl_id",
        "url",
        "fetched_at",
        "record_type",
        "warc_file",
        "warc_offset",
        "warc_length",
        "warc_record_id",
    }
)
_CAPTURE_OPTIONAL = frozenset(
    {
        "status",
        "payload_digest",
        "content_type",
        "refers_to_record_id",
        "refers_to_url",
        "refers_to_date",
        "concurrent_to",
        "etag",
        "last_modified",
    }
)
# The capture columns read from a response's own headers: its Content-Type and the validators a refresh sends.
_HEADER_COLUMNS = {"content-type": "content_type", "etag": "etag", "last-modified": "last_modified"}


def response_facts(headers: Iterable[tuple[str, str]]) -> dict[str, str | None]:
    """The capture columns a response's headers give (the first of each header, as sent; None if absent)."""
    facts: dict[str, str | None] = dict.fromkeys(_HEADER_COLUMNS.values())
    for name, value in headers:
        column = _HEADER_COLUMNS.get(name.strip().lower())
        if column is not None and facts[column] is None:
            facts[column] = value.strip()
    return facts


_CRAWL_END_STATUSES = ("finished", "interrupted", "failed")
# The names of an article's people in one role, in printed order, as a JSON array.
_NAMES_SQL = (
    "(SELECT json_group_array(name) FROM (SELECT p.name FROM article_people ap JOIN people p"
    " ON p.id = ap.person_id WHERE ap.edition = a.edition AND ap.article_id = a.article_id"
    " AND ap.role = '{role}' ORDER BY ap.position))"
)
_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


class Store:
    """The archive database: WAL, one transaction per public write, schema migrated on open."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        """Open or create the archive at `path` and apply pending migrations; read_only never writes."""
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous!r}")
        self.path = Path(path)
        # check_same_thread off so a pipeline may hand writes to a worker thread; the lock serialises callers.
        target = read_only_uri(self.path) if read_only else self.path
        self._tidy = leaving_no_sidecars(self.path) if read_only else contextlib.nullcontext()
        self._tidy.__enter__()
        conn = sqlite3.connect(target, uri=read_only, timeout=busy_timeout, check_same_thread=False)
        self.db = _ArchiveDatabase(conn)
        self._lock = threading.RLock()
        self._batch_thread: int | None = None  # the thread inside batch(), if any
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if foreign := foreign_objects(conn):
                raise ValueError(
                    f"{self.path} holds a {foreign[0]} that zwcrawl did not make: refused, "
                    "as it would run on the archive's reads and writes"
                )
            if read_only:
                if MIGRATIONS.pending(self.db):
                    raise ValueError(f"{self.path} is not a zwcrawl archive of this version")
                self.db.know_tables()
                return
            self.db.execute("PRAGMA foreign_keys = ON")
            self._enable_wal(busy_timeout)
            # FULL: WAL mode with NORMAL survives a killed process but may drop the last commits on power
            # loss, leaving fsynced WARC records without their rows; FULL syncs the WAL at every commit.
            self.db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            if MIGRATIONS.pending(self.db):
                # Inside one write transaction so two processes opening a new archive cannot both migrate.
                with self._write():
                    MIGRATIONS.apply(self.db)
            self.db.know_tables()
        except BaseException:
            conn.close()
            self._tidy.__exit__(None, None, None)
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self.db.close()
            self._tidy.__exit__(None, None, None)

    # Crawls and their reports

    def start_crawl(self, options: dict | None, started_at: str, *, crawl_id: int | None = None) -> int:
        """Record a crawl as running (under `crawl_id` when given, as rebuild does); return its id."""
        row = (
            crawl_id,
            _utc(started_at, "started_at"),
            None if options is None else _json(options),
            os.getpid(),
        )
        with self._write():
            cursor = self._execute(
                "INSERT INTO crawls (id, started_at, status, options, pid) VALUES (?, ?, 'running', ?, ?)",
                row,
            )
            return int(cursor.lastrowid)

    def finish_crawl(self, crawl_id: int, status: str, stats: dict, ended_at: str) -> None:
        """Record how and when a crawl ended, with its statistics."""
        if status not in _CRAWL_END_STATUSES:
            raise ValueError(f"a crawl ends {', '.join(_CRAWL_END_STATUSES)}, not {status!r}")
        row = {"status": status, "stats": _json(stats), "ended_at": _utc(ended_at, "ended_at")}
        with self._write():
            try:
                self.db.table("crawls").update(crawl_id, row)
            except NotFoundError:
                raise ValueError(f"no crawl with id {crawl_id}") from None

    def name_schedule(self, crawl_id: int, schedule: str) -> None:
        """Name on a crawl's row the schedule that started it."""
        with self._write():
            self.db.table("crawls").update(crawl_id, {"schedule": schedule})

    def crawl(self, crawl_id: int) -> dict | None:
        """A crawl's row, its options and stats read from JSON; None when there is no such crawl."""
        with self._lock:
            try:
                row = self.db.table("crawls").get(crawl_id)
            except NotFoundError:
                return None
        return {
            **row,
            "options": json.loads(row["options"] or "{}"),
            "stats": json.loads(row["stats"] or "{}"),
        }

    def mark_dead_crawls(self, found_at: str) -> list[int]:
        """Mark crawls still 'running' as interrupted (call with the crawl lock held); return their ids."""
        stats = _json({"found_dead_at": _utc(found_at, "found_at")})
        with self._write():
            dead = [
                row["id"] for row in self.db.table("crawls").rows_where("status = 'running'", select="id")
            ]
            # One UPDATE with a correlated subquery: sqlite-utils' update() sets values, not expressions.
            # A killed crawl ended at its last sign of life, its last capture; the finding goes in stats.
            self._execute(
                "UPDATE crawls SET status = 'interrupted', stats = ?, ended_at = coalesce("
                " (SELECT max(fetched_at) FROM captures WHERE crawl_id = crawls.id), started_at)"
                " WHERE status = 'running'",
                (stats,),
            )
            return sorted(dead)

    def add_failure(
        self,
        crawl_id: int,
        url: str,
        reason: str,
        attempts: int,
        last_status: int | None,
        failed_at: str,
        *,
        capture_id: int | None = None,
    ) -> None:
        """Add a URL that stayed failed, or a capture zwcrawl could not read, to the failure report."""
        row = {
            "crawl_id": crawl_id, "url": url, "reason": reason, "attempts": attempts,
            "last_status": last_status, "failed_at": _utc(failed_at, "failed_at"), "capture_id": capture_id,
        }  # fmt: skip
        with self._write():
            self.db.table("failures").insert(row)

    def failures(self, crawl_id: int, limit: int) -> list[dict]:
        """The first URLs of a crawl's failure report, with why they failed."""
        with self._lock:
            rows = self.db.table("failures").rows_where(
                "crawl_id = ?", [crawl_id], select="url, reason", order_by="id", limit=limit
            )
            return list(rows)

    # Captures

    def add_capture(self, row: dict) -> int:
        """Record where a WARC record was written; return its captures.id (the old id if already recorded)."""
        row = _capture_row(row)
        with self._write():
            try:
                # Inserted first: a record just written is new, and the unique index on its id says so
                # without a lookup before each insert (the crawl's writer thread adds two a page).
                return self._put("captures", row)
            except sqlite3.IntegrityError:
                known = self._one(
                    "SELECT id, warc_file, warc_offset FROM captures WHERE warc_record_id = ?",
                    (row["warc_record_id"],),
                )
                if known is None:
                    raise  # another constraint: a crawl id that is not there, say
            # Recovery may index a WARC tail twice; the same record at the same place is the same capture.
            if (known["warc_file"], known["warc_offset"]) == (row["warc_file"], row["warc_offset"]):
                return int(known["id"])
            raise ValueError(
                f"record {row['warc_record_id']} is already recorded at"
                f" {known['warc_file']}:{known['warc_offset']}"
            )

    def capture(self, record_id: str) -> dict | None:
        """The capture row of a WARC record, by its WARC-Record-ID; None when it has none."""
        with self._lock:
            return self._one("SELECT * FROM captures WHERE warc_record_id = ?", (record_id,))

    def original(self, url: str, payload_digest: str) -> dict | None:
        """Latest response of `url` with this payload digest: a revisit's original, found without its id."""
        with self._lock:
            return self._one(
                "SELECT * FROM captures WHERE url = ? AND payload_digest = ? AND record_type = 'response'"
                " ORDER BY fetched_at DESC, id DESC LIMIT 1",
                (url, payload_digest),
            )

    def record_import(self, row: dict) -> None:
        """Note where an imported record came from and where its copy lies."""
        row = {**row, "warc_file": _relative_warc_file(row["warc_file"])}
        columns, marks = ", ".join(row), ", ".join("?" for _ in row)
        with self._write():
            self._execute(f"INSERT INTO imported_records ({columns}) VALUES ({marks})", tuple(row.values()))

    def known_record(self, record_id: str) -> bool:
        """Whether the archive holds a record of this WARC-Record-ID already (a capture or an import)."""
        with self._lock:
            return bool(
                self._one("SELECT 1 AS x FROM captures WHERE warc_record_id = ?", (record_id,))
                or self._one("SELECT 1 AS x FROM imported_records WHERE warc_record_id = ?", (record_id,))
            )

    def unsaved_imports(self) -> list[dict]:
        """Imported captures of HTTP 200 with no derived record beside them yet, oldest first (see import)."""
        with self._lock:
            return self._all(
                "SELECT c.* FROM captures c JOIN imported_records i ON i.warc_record_id = c.warc_record_id"
                " WHERE c.record_type IN ('response', 'revisit') AND c.status = 200 AND NOT EXISTS"
                " (SELECT 1 FROM captures m WHERE m.concurrent_to = c.warc_record_id)"
                " ORDER BY c.fetched_at, c.id"
            )

    def last_original(self, url: str) -> dict | None:
        """The original response behind the latest response or revisit of `url`, or None if never captured."""
        with self._lock:
            latest = self._one(
                "SELECT * FROM captures WHERE url = ? AND record_type IN ('response', 'revisit')"
                " ORDER BY fetched_at DESC, id DESC LIMIT 1",
                (url,),
            )
            if latest is None or latest["record_type"] == "response":
                return _original(latest)
            original = None
            if latest["refers_to_record_id"]:
                original = self._one(
                    "SELECT * FROM captures WHERE warc_record_id = ? AND record_type = 'response'",
                    (latest["refers_to_record_id"],),
                )
            if original is None and latest["refers_to_url"]:
                original = self._one(
                    "SELECT * FROM captures WHERE url = ? AND fetched_at = ? AND payload_digest IS ?"
                    " AND record_type = 'response' ORDER BY id DESC LIMIT 1",
                    (latest["refers_to_url"], latest["refers_to_date"], latest["payload_digest"]),
                )
            if original is not None:
                return _original(original)
            if not (latest["refers_to_record_id"] or latest["refers_to_url"]):
                return None
            # The original's row is gone (or in another archive): the revisit itself names what it stands for.
            return {
                "payload_digest": latest["payload_digest"],
                "warc_record_id": latest["refers_to_record_id"],
                "url": latest["refers_to_url"],
                "fetched_at": latest["refers_to_date"],
            }

    def validators(self, url: str) -> dict | None:
        """The ETag and Last-Modified of `url`'s latest full (200) capture, with the original response behind
        it (what a 304 to them refers to); None when that capture carried neither."""
        with self._lock:
            latest = self._one(
                "SELECT * FROM captures WHERE url = ? AND status = 200"
                " AND record_type IN ('response', 'revisit') ORDER BY fetched_at DESC, id DESC LIMIT 1",
                (url,),
            )
            if latest is None or not (latest["etag"] or latest["last_modified"]):
                return None
            original = latest
            if latest["record_type"] == "revisit":
                original = self._one(
                    "SELECT * FROM captures WHERE warc_record_id = ? AND record_type = 'response'",
                    (latest["refers_to_record_id"],),
                )
        if original is None:
            return None
        return {"etag": latest["etag"], "last_modified": latest["last_modified"], **_original(original)}

    # Articles

    def save_article(
        self, article: Article | dict, *, crawl_id: int, capture_id: int | None, observed_at: str
    ) -> SaveResult:
        """Store one fetch of an article in one transaction; say whether it was new, updated or unchanged."""
        if isinstance(article, dict):
            article = Article.from_dict(article)  # the JSON form: a fixture, a metadata record
        if not article.is_article:
            raise ValueError(f"not an article item: {article.url!r}")
        fetch = _Fetch(crawl_id, capture_id, _utc(observed_at, "observed_at"))
        parts = _article_parts(article)
        with self._write():
            old = self._article_row(parts.key)
            people_changed = old is None or self._people(parts.key) != parts.people
            images_changed = old is None or self._images(parts.key) != parts.images
            result = _change(old, parts, people_changed or images_changed)
            self._write_article_row(parts, old, result, fetch)
            if people_changed:
                self._replace_people(parts.key, parts.people)
            if images_changed:
                self._replace_images(parts.key, parts.images)
            self._merge_comments(parts.key, article.comments, fetch.observed_at)
            self._observe(parts, fetch)
            if old is None or (old["headline"], old["body"]) != (
                parts.columns["headline"],
                parts.columns["body"],
            ):
                self._add_version(parts, fetch)
            self._execute("DELETE FROM missing WHERE edition = ? AND article_id = ?", parts.key)
            self._execute("DELETE FROM redirects WHERE edition = ? AND article_id = ?", parts.key)
            # Back online, unless this is an older capture read again (a rebuild) than the removal's.
            self._execute(
                "DELETE FROM removals WHERE edition = ? AND article_id = ? AND checked_at < ?",
                (*parts.key, fetch.observed_at),
            )
        return result

    def record_missing(
        self,
        edition: str,
        article_id: int,
        url: str,
        status: int,
        reason: str,
        crawl_id: int,
        checked_at: str,
    ) -> None:
        """Record that the site answered an article id as absent (404 or soft 404)."""
        row = {
            "edition": edition, "article_id": article_id, "url": url, "status": status, "reason": reason,
            "crawl_id": crawl_id, "checked_at": _utc(checked_at, "checked_at"),
        }  # fmt: skip
        with self._write():
            self.db.table("missing").upsert(row, pk=("edition", "article_id"))

    def record_redirect(
        self, edition: str, article_id: int, url: str, status: int, target_url: str, crawl_id: int, at: str
    ) -> None:
        """Record that the site answered an article id with a redirect to another page."""
        target = classify(target_url)
        is_article = target is not None and target.kind == "article"
        row = {
            "edition": edition, "article_id": article_id, "url": url, "status": status,
            "target_url": target_url,
            "target_edition": target.edition if is_article else None,
            "target_article_id": target.article_id if is_article else None,
            "crawl_id": crawl_id, "checked_at": _utc(at, "checked_at"),
        }  # fmt: skip
        with self._write():
            self.db.table("redirects").upsert(row, pk=("edition", "article_id"))

    def redirected_ids(self, edition: str) -> set[int]:
        """Ids of the edition the site last answered with a redirect to another page."""
        return self._ids("redirects", "article_id", "edition = ?", edition)

    def missing_ids(self, edition: str) -> set[int]:
        """Ids of the edition the site last answered as absent."""
        return self._ids("missing", "article_id", "edition = ?", edition)

    def mark_removed(self, edition: str, article_id: int, status: int, crawl_id: int, at: str) -> bool:
        """Record that the site answered an archived article as removed (a 404/410, or with status 200 its
        not-found page), the first time kept; False, and nothing written, when none is archived."""
        how = f"HTTP {status}" if status in (404, 410) else "not-found page"
        at = _utc(at, "at")
        with self._write():
            cursor = self._execute(
                "INSERT INTO removals (edition, article_id, removed_at, how, crawl_id, checked_at)"
                " SELECT edition, article_id, ?, ?, ?, ? FROM articles WHERE edition = ? AND article_id = ?"
                " ON CONFLICT (edition, article_id) DO UPDATE"
                " SET how = excluded.how, crawl_id = excluded.crawl_id, checked_at = excluded.checked_at",
                (at, how, crawl_id, at, edition, article_id),
            )
            return cursor.rowcount > 0

    def record_absent(
        self, edition: str, article_id: int, url: str, status: int, reason: str, crawl_id: int, at: str
    ) -> str:
        """Record an article id the site answered as absent: "removed" when the archive holds the article
        (see mark_removed), else "missing" (see record_missing)."""
        if self.mark_removed(edition, article_id, status, crawl_id, at):
            return "removed"
        self.record_missing(edition, article_id, url, status, reason, crawl_id, at)
        return "missing"

    def article(self, edition: str, article_id: int) -> dict | None:
        """An article's row as stored, or None when the archive does not hold it."""
        with self._lock:
            return self._article_row((edition, article_id))

    def coverage(self, edition: str, names: Sequence[str], before: str) -> dict:
        """Of the edition's articles first seen before a time: how many, each column's share that is set,
        and the mean body length ("body_chars")."""
        shares = ", ".join(f"avg({name} IS NOT NULL) AS {name}" for name in names)
        sql = (
            f"SELECT count(*) AS articles, {shares}, avg(length(body)) AS body_chars FROM articles"
            " WHERE edition = ? AND first_seen < ?"
        )
        with self._lock:
            return self._one(sql, (edition, before)) or {}

    def earlier_crawls(self, crawl_id: int) -> list[dict]:
        """The finished crawls before one, newest first, with their stats read from JSON."""
        with self._lock:
            rows = self._all(
                "SELECT id, stats FROM crawls WHERE id < ? AND status = 'finished' ORDER BY id DESC",
                (crawl_id,),
            )
        return [{"id": row["id"], "stats": json.loads(row["stats"] or "{}")} for row in rows]

    def archived_ids(self, edition: str) -> set[int]:
        """Ids of the edition's articles in the archive."""
        return self._ids("articles", "article_id", "edition = ?", edition)

    def refresh_histories(self, edition: str) -> Iterator[tuple[int, str, str, int]]:
        """Per archived article: (id, published else first seen, last seen, observations in a row up to the
        last that found counters, comments and text as the one before), newest id first."""
        sql = """
            SELECT a.article_id, coalesce(a.published, a.first_seen) AS born, a.last_seen, a.last_changed,
                   o.observed_at, o.likes, o.dislikes, o.comments_count
            FROM articles a LEFT JOIN observations o USING (edition, article_id)
            WHERE a.edition = ? ORDER BY a.article_id DESC, o.observed_at, o.id"""
        with self._lock:
            rows = self.db.execute(sql, [edition]).fetchall()
        current, counters, unchanged, head = None, None, 0, None
        for article_id, born, last_seen, last_changed, observed_at, *seen in rows:
            if article_id != current:
                if head is not None:
                    yield (*head, unchanged)
                current, counters, unchanged, head = article_id, tuple(seen), 0, (article_id, born, last_seen)
                continue
            same = tuple(seen) == counters and observed_at != last_changed
            unchanged, counters = (unchanged + 1 if same else 0), tuple(seen)
        if head is not None:
            yield (*head, unchanged)

    # Section walks

    def walked_sections(self, edition: str) -> set[int]:
        """Ids of the edition's sections some crawl has walked to the end."""
        return self._ids("sections", "section_id", "edition = ? AND walked_to_end_at IS NOT NULL", edition)

    def section_walked(self, edition: str, section_id: int) -> bool:
        """Whether a crawl has walked this section's listing to its end."""
        return section_id in self.walked_sections(edition)

    def mark_section(
        self, edition: str, section_id: int, name: str | None, walked_to_end: bool, at: str
    ) -> None:
        """Record a walk of a section's listing, and whether it reached the end."""
        at = _utc(at, "at")
        sections = self.db.table("sections")
        with self._write():
            old = next(sections.rows_where("edition = ? AND section_id = ?", [edition, section_id]), {})
            # A name once known stays when a walk did not read one; the first walk to the end is kept.
            row = {
                "edition": edition,
                "section_id": section_id,
                "name": name or old.get("name"),
                "walked_to_end_at": old.get("walked_to_end_at") or (at if walked_to_end else None),
                "last_walked_at": at,
            }
            sections.upsert(row, pk=("edition", "section_id"))

    # Search

    def search(
        self,
        query: str,
        limit: int = 20,
        *,
        edition: str | None = None,
        filters: ArticleFilter | None = None,
        order: str = "relevance",
        rank_all: bool = False,
    ) -> Hits:
        """Full-text search of headlines and bodies, with snippets; SearchQueryError for an unfit query.

        By relevance, a query matching more than half the articles gets its newest hits, and the hits say so
        (`newest`); `rank_all` ranks them all the same (search_rows says when).
        """
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
        expanded = search_query(query)
        if not expanded:
            return Hits()
        filters = filters or ArticleFilter()
        if edition is not None:
            filters = replace(filters, edition=edition)
        authors = _NAMES_SQL.format(role="author")

        def hits(match: str) -> Hits:
            return search_rows(self.db.conn, match, filters, order, limit, authors, rank_all)

        with self._lock:
            try:
                rows = hits(expanded)
            except sqlite3.OperationalError:
                # Not FTS5 query syntax (al-Wasl, "unbalanced, 50%): search for the words as typed instead,
                # each once (see search_query).
                quoted = self.db.quote_fts(" ".join(dict.fromkeys(fold_search_text(query).split())))
                if not quoted:
                    raise SearchQueryError(
                        f"nothing to search for in {query.strip()!r}: give words"
                    ) from None
                try:
                    rows = hits(quoted)
                except sqlite3.OperationalError as exc:
                    raise SearchQueryError(f"cannot search for {query.strip()!r}: {exc}") from None
        for row in rows:
            row["authors"] = json.loads(row["authors"])
        return rows

    def iter_articles(self, filters: ArticleFilter | None = None) -> Iterator[dict]:
        """Every article the filter admits, by edition and id, with its people, images and comments nested."""
        where, params = (filters or ArticleFilter()).where("a")
        images = (
            "(SELECT json_group_array(json_object('url', url, 'caption', caption)) FROM (SELECT url, caption"
            " FROM images i WHERE i.edition = a.edition AND i.article_id = a.article_id ORDER BY position))"
        )
        comments = (
            "(SELECT json_group_array(json_object('author', author, 'posted', posted, 'text', text,"
            " 'first_seen', first_seen, 'last_seen', last_seen)) FROM (SELECT * FROM comments c"
            " WHERE c.edition = a.edition AND c.article_id = a.article_id ORDER BY position, id))"
        )
        sql = (
            f"SELECT a.*, {_NAMES_SQL.format(role='author')} AS authors,"
            f" {_NAMES_SQL.format(role='translator')} AS translators, {images} AS images,"
            f" {comments} AS comments FROM articles a WHERE {where} ORDER BY a.edition, a.article_id"
        )
        # Its own cursor, read row by row: an export of 250,000 articles never holds more than one.
        cursor = self.db.conn.cursor()
        try:
            cursor.execute(sql, params)
            names = [column[0] for column in cursor.description]
            for row in cursor:
                article = dict(zip(names, row, strict=True))
                article.pop("facets", None)  # the search index's tokens (0050), not part of the article
                for name in ("authors", "translators", "images", "comments"):
                    article[name] = json.loads(article[name])
                yield article
        finally:
            cursor.close()

    def rebuild_search(self) -> None:
        """Rebuild the search index from the articles (sqlite-utils' rebuild-fts would not fold Arabic)."""
        with self._write():
            self._execute("INSERT INTO articles_fts (articles_fts) VALUES ('delete-all')")
            rows = search_index_rows_sql()
            self._execute(f"INSERT INTO articles_fts (rowid, headline, body, facets) {rows}")

    def optimize_search(self) -> None:
        """Merge the search index into one segment: after a bulk load, each query then reads one b-tree."""
        with self._write():
            self._execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")

    # Helpers

    def _enable_wal(self, timeout: float) -> None:
        """Switch to WAL, retrying: while another process opens the file this pragma is busy, untimed."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.db.enable_wal()
                return
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorname", "") != "SQLITE_BUSY" or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Many writes as one transaction (a bulk load, a crawl's group of writes); other threads wait."""
        if self._batch_thread == threading.get_ident():
            with self._write():  # a batch inside a batch: a savepoint of the outer one
                yield
            return
        with self._write():
            self._batch_thread = threading.get_ident()
            try:
                yield
            finally:
                self._batch_thread = None

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taking the write lock up front (waiting up to the busy timeout)."""
        if self._batch_thread == threading.get_ident():
            # Inside batch(), on the batching thread: a failed write still undoes itself, back to this
            # savepoint, not the batch. Another thread (the crawl's reactor beside its writer) waits below.
            self.db.conn.execute("SAVEPOINT write")
            try:
                yield
            except BaseException:
                self.db.conn.execute("ROLLBACK TO write")
                self.db.conn.execute("RELEASE write")
                raise
            self.db.conn.execute("RELEASE write")
            return
        with self._lock:
            # IMMEDIATE: a deferred transaction that reads then writes can fail at once with SQLITE_BUSY
            # when another process wrote in between; taking the lock first lets the busy timeout work.
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise
            try:
                self.db.conn.execute("COMMIT")
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.conn.execute(sql, params)

    def _put(self, table: str, row: dict, key: Sequence[str] = ()) -> int:
        """One row into a table, updating the row of the same `key` if there is one, in one statement.

        For the rows written per page (a capture, an article's row, observation and version): sqlite-utils'
        insert and upsert wrap each row in a savepoint and resolve a dozen options first, which made saves
        and refreshes about twice as slow (bench_store). Returns the row's rowid."""
        sql = _insert_sql(table, tuple(row), tuple(key))
        return int(self._execute(sql, tuple(row.values())).lastrowid)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[dict]:
        return list(self._rows(sql, params))

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict | None:
        return _first(self._rows(sql, params))

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict]:
        """A query's rows as dicts, straight from SQLite: sqlite-utils' query() costs several times more per
        call (the crawl's writer thread runs some ten a page). Its columns must have distinct names."""
        cursor = self._execute(sql, params)
        names = [column[0] for column in cursor.description]
        return (dict(zip(names, row, strict=True)) for row in cursor)

    def _ids(self, table: str, column: str, where: str, edition: str) -> set[int]:
        with self._lock:
            return {row[column] for row in self.db.table(table).rows_where(where, [edition], select=column)}

    def _article_row(self, key: tuple[str, int]) -> dict | None:
        return self._one("SELECT * FROM articles WHERE edition = ? AND article_id = ?", key)

    def _write_article_row(
        self, parts: _ArticleParts, old: dict | None, result: SaveResult, fetch: _Fetch
    ) -> None:
        """The article's row: current fields and counters; when first seen, last seen, last changed."""
        at = fetch.observed_at
        seen = (
            {"first_seen": at, "last_seen": at, "last_changed": at}
            if old is None
            else {
                "first_seen": min(old["first_seen"], at),
                "last_seen": max(old["last_seen"], at),
                "last_changed": at if result == "updated" else old["last_changed"],
            }
        )
        values = {
            **parts.columns,
            **parts.counters,
            "capture_id": fetch.capture_id,
            "crawl_id": fetch.crawl_id,
        }
        self._put(
            "articles",
            {"edition": parts.key[0], "article_id": parts.key[1], **values, **seen},
            ("edition", "article_id"),
        )

    def _people(self, key: tuple[str, int]) -> list[tuple[str, str]]:
        rows = self._execute(
            "SELECT ap.role, p.name FROM article_people ap JOIN people p ON p.id = ap.person_id"
            " WHERE ap.edition = ? AND ap.article_id = ? ORDER BY ap.role = 'translator', ap.position",
            key,
        )
        return [tuple(row) for row in rows]

    def _images(self, key: tuple[str, int]) -> list[tuple[str, str | None]]:
        rows = self._execute(
            "SELECT url, caption FROM images WHERE edition = ? AND article_id = ? ORDER BY position", key
        )
        return [tuple(row) for row in rows]

    def _replace_people(self, key: tuple[str, int], people: list[tuple[str, str]]) -> None:
        self._execute("DELETE FROM article_people WHERE edition = ? AND article_id = ?", key)
        positions: dict[str, int] = defaultdict(int)
        rows = []
        for role, name in people:
            positions[role] += 1
            rows.append((*key, role, positions[role], self._person_id(name)))
        self._insert_all("article_people", ("edition", "article_id", "role", "position", "person_id"), rows)

    def _person_id(self, name: str) -> int:
        """The id of a person's row by name, the row added when new (what sqlite-utils' lookup did)."""
        found = self._execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
        return found[0] if found else self._put("people", {"name": name})

    def _replace_images(self, key: tuple[str, int], images: list[tuple[str, str | None]]) -> None:
        self._execute("DELETE FROM images WHERE edition = ? AND article_id = ?", key)
        self._insert_all(
            "images",
            ("edition", "article_id", "position", "url", "caption"),
            [(*key, position, url, caption) for position, (url, caption) in enumerate(images, 1)],
        )

    def _insert_all(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """Rows of the same columns into a table: plain statements, without sqlite-utils' per-call checks."""
        if rows:
            self.db.conn.executemany(_insert_sql(table, tuple(columns), ()), rows)

    def _merge_comments(self, key: tuple[str, int], comments: list[Comment], observed_at: str) -> None:
        """Mark comments seen again, add new ones, and keep those that vanished from the page."""
        known: dict[tuple, deque[dict]] = defaultdict(deque)
        for row in self._rows("SELECT * FROM comments WHERE edition = ? AND article_id = ? ORDER BY id", key):
            known[(row["author"], row["posted"], row["text"])].append(row)
        new = []
        for position, comment in enumerate(comments, 1):
            identity = (comment.author, comment.posted, comment.text)
            # A queue per identity: two identical comments (a double post) stay two rows.
            if known[identity]:
                old = known[identity].popleft()
                first, last = min(old["first_seen"], observed_at), max(old["last_seen"], observed_at)
                self._execute(
                    "UPDATE comments SET position = ?, first_seen = ?, last_seen = ? WHERE id = ?",
                    (position, first, last, old["id"]),
                )
            else:
                new.append((*key, position, *identity, observed_at, observed_at))
        self._insert_all(
            "comments",
            ("edition", "article_id", "position", "author", "posted", "text", "first_seen", "last_seen"),
            new,
        )

    def _observe(self, parts: _ArticleParts, fetch: _Fetch) -> None:
        """One row of the counters' time series."""
        self._put(
            "observations",
            {"edition": parts.key[0], "article_id": parts.key[1], "observed_at": fetch.observed_at,
             **parts.counters, "crawl_id": fetch.crawl_id, "capture_id": fetch.capture_id},
        )  # fmt: skip

    def _add_version(self, parts: _ArticleParts, fetch: _Fetch) -> None:
        """The article's headline and body as a new version: its first text, or a change to it."""
        # Numbered in the same statement (the next after the article's latest): one statement, not two.
        text = (parts.columns["headline"], parts.columns["body"])
        self._execute(
            "INSERT INTO article_versions"
            " (edition, article_id, version, observed_at, headline, body, capture_id)"
            " SELECT ?, ?, coalesce(max(version), 0) + 1, ?, ?, ?, ? FROM article_versions"
            " WHERE edition = ? AND article_id = ?",
            (*parts.key, fetch.observed_at, *text, fetch.capture_id, *parts.key),
        )


class _KnownTable(Table):
    """A table of an open archive: it exists, and its columns and indexes stay as the migrations left them."""

    def exists(self) -> bool:
        return True

    @cached_property
    def columns(self) -> list[Column]:
        return super().columns

    @cached_property
    def indexes(self) -> list[Index]:
        return super().indexes


class _ArchiveDatabase(Database):
    """sqlite-utils' Database that reads each table's schema once, once the archive is migrated.

    sqlite-utils asks SQLite whether a table exists, and for its columns and indexes, before each insert,
    update, get and lookup; an article's save made some forty such reads, and its writes ran 2 to 6 times
    slower than hand-written SQL (benchmarks/README.md, bench_store.py). The schema changes only in
    migrations, which run before know_tables()."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        # No sqlite-utils plugins: looking for them reads the metadata of every installed package, a seventh
        # of a second at each start of a command; and the archive must not depend on what else is installed.
        super().__init__(conn, execute_plugins=False)
        self._known: dict[str, _KnownTable] = {}

    def know_tables(self) -> None:
        """Read the tables once: from now on table() hands out these, schema read on first use."""
        self._known = {name: _KnownTable(self, name) for name in self.table_names()}

    def table(self, table_name: str, **kwargs: Any) -> Table:
        known = self._known.get(table_name)
        return known if known is not None and not kwargs else super().table(table_name, **kwargs)


class _Fetch(NamedTuple):
    """Which crawl and capture an article save comes from, and when the page was fetched."""

    crawl_id: int
    capture_id: int | None
    observed_at: str


class _ArticleParts(NamedTuple):
    """An article as stored: key, article columns, counters, (role, name) people, (url, caption) images."""

    key: tuple[str, int]
    columns: dict
    counters: dict
    people: list[tuple[str, str]]
    images: list[tuple[str, str | None]]


def _change(old: dict | None, parts: _ArticleParts, lists_changed: bool) -> SaveResult:
    """New, updated (an editorial column, the people or the images changed) or unchanged."""
    if old is None:
        return "new"
    if lists_changed or any(old[name] != value for name, value in parts.columns.items()):
        return "updated"
    return "unchanged"


def _article_parts(article: Article) -> _ArticleParts:
    """An article as its rows store it."""
    images = [(image.url, image.caption) for image in article.images]
    fields = {name: getattr(article, name) for name in Article.names("column")}
    if fields["with_agencies"] is not None:
        fields["with_agencies"] = int(bool(fields["with_agencies"]))
    fields["image_url"] = images[0][0] if images else None
    counters = {name: getattr(article, name) for name in _COUNTERS}
    people = [(role, name) for role, field in Article.roles().items() for name in getattr(article, field)]
    return _ArticleParts(article.key, fields, counters, people, images)


@functools.lru_cache(maxsize=64)
def _insert_sql(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    """The INSERT (an upsert on `key`, when given) for these columns: made once, not for each row."""
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    if key:
        updates = ", ".join(f"{name} = excluded.{name}" for name in columns if name not in key)
        sql += f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    return sql


def _utc(value: object, name: str) -> str:
    """The value if it is UTC ISO-8601 text with a Z, else a ValueError naming the argument."""
    if not isinstance(value, str) or not _UTC_TIME.fullmatch(value):
        raise ValueError(f"{name} must be UTC ISO-8601 text like 2018-04-19T17:14:00Z, not {value!r}")
    return value


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _capture_row(row: dict) -> dict:
    """A validated copy of an add_capture row: known columns only, times in UTC, a safe relative WARC path."""
    unknown = set(row) - _CAPTURE_REQUIRED - _CAPTURE_OPTIONAL
    if unknown:
        raise ValueError(f"unknown capture columns: {', '.join(sorted(unknown))}")
    absent = _CAPTURE_REQUIRED - {name for name, value in row.items() if value is not None}
    if absent:
        raise ValueError(f"capture row lacks {', '.join(sorted(absent))}")
    row = dict(row)
    row["fetched_at"] = _utc(row["fetched_at"], "fetched_at")
    if row.get("refers_to_date") is not None:
        row["refers_to_date"] = _utc(row["refers_to_date"], "refers_to_date")
    # The path is joined to the archive dir by readers; it must not lead out of it.
    warc_file = inside_archive(str(row["warc_file"]))
    if warc_file is None:
        raise ValueError(f"warc_file must be relative to the archive dir: {row['warc_file']!r}")
    row["warc_file"] = warc_file
    return row


def _relative_warc_file(name: str) -> str:
    """A WARC file's path as stored: relative to the archive dir, never leading out of it."""
    warc_file = inside_archive(str(name))
    if warc_file is None:
        raise ValueError(f"warc_file must be relative to the archive dir: {name!r}")
    return warc_file


def _first(rows: Iterable[dict]) -> dict | None:
    return next(iter(rows), None)


def _original(capture: dict | None) -> dict | None:
    if capture is None:
        return None
    return {name: capture[name] for name in ("payload_digest", "warc_record_id", "url", "fetched_at")}
