"""Verify an archive: every WARC record whole and true to its digests, every row pointing at its record."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

from zwcrawl.lock import live_holder
from zwcrawl.store import DB_NAME, leaving_no_sidecars, read_only_uri
from zwcrawl.store.schema import foreign_objects
from zwcrawl.warc import (
    CrawlInfo,
    described_url,
    index_path,
    parse_warc_fields,
    read_crawl_warcinfo,
    scan_warc,
    target_uri,
)
from zwcrawl.warc._fs import NotRegularFile, open_regular
from zwcrawl.warc.paths import inside_archive, links_leaving
from zwcrawl.warc.writer import NOT_MODIFIED_PROFILE, OPEN_SUFFIX

# Stands in for the headers of a member too broken to parse, so the member still has a row to point at.
_NO_HEADERS = StatusAndHeaders("", [])
WARC_SUBDIR = "warc"
_BATCH = 1000
# The columns verify reads: a database without them is not a zwcrawl archive, whatever its tables are called.
_CAPTURE_COLUMNS = (
    "id", "crawl_id", "url", "status", "record_type", "warc_file", "warc_offset", "warc_length",
    "warc_record_id", "payload_digest",
)  # fmt: skip
# Records a crawl writes a row for; a killed crawl may leave one page of them (response, metadata) rowless.
_ROWED = ("response", "revisit", "metadata")
# WARC 1.0 and 1.1 name the 304 profile alike but for the version: http://netpreserve.org/warc/1.x/revisit/...
NOT_MODIFIED_SUFFIX = NOT_MODIFIED_PROFILE.rsplit("/warc/1.1", 1)[1]


@dataclass(frozen=True)
class Finding:
    """One thing verify found: where (a file and record, or a table row) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class VerifyReport:
    """What verify checked and found; `ok` when there are no problems (notes are allowed)."""

    problems: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    files: int = 0
    records: int = 0
    captures: int = 0
    articles: int = 0
    in_flight: int = 0  # records a running crawl wrote after the rows were read: not checked against rows
    committed_at: str | None = None  # when the rows were read (UTC), the state every row is checked as of
    running: list[int] = field(default_factory=list)  # crawls marked running in that state
    writer_pid: int | None = None  # the live process holding the archive's lock, if any

    @property
    def ok(self) -> bool:
        """Whether everything checked holds."""
        return not self.problems

    def snapshot_line(self) -> str | None:
        """Beside a running (or killed) crawl: the committed state checked, in one line; None otherwise."""
        if not self.running:
            return None
        line = f"checking the archive as committed at {self.committed_at}: {self.captures} capture(s); "
        crawls = ", ".join(map(str, self.running))
        if self.writer_pid is not None:
            return (
                line
                + f"a crawl is writing (crawl {crawls}, pid {self.writer_pid}): what it adds is not judged"
            )
        return line + (
            f"crawl {crawls} stopped without finishing (killed?): its unfinished tail is not judged; "
            "the next crawl recovers it"
        )

    def summary(self) -> str:
        """One line: what was checked and how it went."""
        verdict = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        line = (
            f"{verdict}: {self.files} WARC file(s), {self.records} record(s), "
            f"{self.captures} capture row(s), {self.articles} article row(s); {len(self.notes)} note(s)"
        )
        if self.in_flight:
            line += f"; {self.in_flight} record(s) of a crawl in flight, past its committed rows, not checked"
        return line


def verify_archive(archive_dir: Path) -> VerifyReport:
    """Check an archive's WARC files record by record and its database rows against them; changes nothing."""
    archive_dir = Path(archive_dir)
    report = VerifyReport()
    if not archive_dir.is_dir():
        report.problems.append(Finding(str(archive_dir), "not an archive directory"))
        return report
    # A private temporary database on disk: the join of rows and records stays out of memory.
    work = sqlite3.connect("", uri=True)
    try:
        _Verifier(archive_dir, report, work).run()
    finally:
        work.close()
    return report


class _Verifier:
    """One verify run: records go into a scratch table; the read-only archive db's rows are joined to it."""

    def __init__(self, archive_dir: Path, report: VerifyReport, work: sqlite3.Connection):
        self.archive_dir = archive_dir
        self.report = report
        self.db = work
        self.scanned: set[str] = set()
        self.has_db = False
        self.tables: set[str] = set()

    def problem(self, where: str, message: str) -> None:
        self.report.problems.append(Finding(where, message))

    def note(self, where: str, message: str) -> None:
        self.report.notes.append(Finding(where, message))

    def run(self) -> None:
        self.db.executescript(
            """
            CREATE TABLE records (file TEXT, offset INTEGER, length INTEGER, type TEXT, id TEXT, url TEXT,
                date TEXT, digest TEXT, refers_id TEXT, refers_url TEXT, refers_date TEXT,
                concurrent_to TEXT, status INTEGER, sound INTEGER, problem TEXT, profile TEXT);
            CREATE TABLE files (file TEXT PRIMARY KEY, crawl_id INTEGER, still_open INTEGER,
                imported INTEGER);
            """
        )
        # Rows first, then files: a record is synced before its row is committed, so every committed row's
        # record is on disk by the time the files are read, even beside a running crawl.
        self.snapshot_rows()
        warc_dir = self.archive_dir / WARC_SUBDIR
        if leaving := links_leaving(self.archive_dir):
            for link in leaving:
                self.problem(
                    link.relative_to(self.archive_dir).as_posix(), "a symbolic link out of the archive"
                )
            return  # nothing read through them: the rest is checked once they are gone
        if warc_dir.is_dir():
            found = [(p, False) for p in warc_dir.rglob("*.warc.gz")]
            found += [(p, True) for p in warc_dir.rglob("*.warc.gz" + OPEN_SUFFIX)]
            for path, still_open in sorted(found):
                self.scan(path.relative_to(self.archive_dir).as_posix(), still_open=still_open)
        if self.has_db:
            self.scan_files_named_by_rows()
        self.db.executescript(
            """
            CREATE INDEX records_at ON records (file, offset);
            CREATE INDEX records_id ON records (id);
            CREATE INDEX records_url_date ON records (url, date);
            """
        )
        self.check_duplicate_ids()
        self.check_revisits()
        self.check_concurrent()
        if self.has_db:
            self.check_captures()
            self.check_articles()
            self.check_rowless_records()
            self.check_crawls_known()

    def scan(self, rel: str, *, still_open: bool = False) -> None:
        """Read one WARC file through, noting each record and naming each damaged one."""
        path = self.archive_dir / rel
        if still_open:
            # Rows name a file by the name it gets once closed: its records are filed under that name.
            rel = rel.removesuffix(OPEN_SUFFIX)
            if not path.exists() and (self.archive_dir / rel).exists():
                path, still_open = self.archive_dir / rel, False  # closed while we listed the directory
        if rel in self.scanned:
            return
        if not path.is_symlink() and not path.is_file():
            self.note(rel, "is not a regular file (a pipe, a device, a directory): not read")
            return
        self.scanned.add(rel)
        self.report.files += 1
        if still_open:
            self.note(
                rel,
                "is still open (its name ends in .open): a crawl is writing it, or was killed while it did "
                "(the next crawl recovers it)",
            )
        elif not index_path(path).exists():
            self.note(rel, "has no CDXJ index: it was not closed cleanly (the next crawl recovers it)")
        info = _crawl_of(path)
        crawl_id = info.crawl_id if info else None
        imported = bool(info and (info.options or {}).get("import"))
        in_flight_from = self._in_flight_from(rel, crawl_id, still_open)
        if self._started_later(info):
            # A crawl that began after the rows were read (the last one ended meanwhile): none of its
            # rows can be in them, so all of its file is in flight, and its crawl not a stranger.
            in_flight_from, crawl_id = 0, None
        self.db.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?)", (rel, crawl_id, int(still_open), int(imported))
        )
        rows = []
        try:
            for scanned in scan_warc(path, digests=True):
                if in_flight_from is not None and scanned.offset >= in_flight_from:
                    # Written (or being written) after the rows were read: neither its row nor, if it is
                    # half-written, its whole bytes can be expected yet. Counted, and said so, not judged.
                    self.report.in_flight += 1
                    continue
                self.report.records += 1
                h = scanned.headers
                record_id = h.get_header("WARC-Record-ID") if h else None
                where = f"{rel} offset {scanned.offset}" + (f" {record_id}" if record_id else "")
                problems = scanned.problems + scanned.digest_problems
                for message in problems:
                    self.problem(where, message)
                h = h or _NO_HEADERS
                rows.append(
                    (
                        rel,
                        scanned.offset,
                        scanned.length,
                        h.get_header("WARC-Type"),
                        record_id,
                        target_uri(h.get_header("WARC-Target-URI")),
                        h.get_header("WARC-Date"),
                        h.get_header("WARC-Payload-Digest"),
                        h.get_header("WARC-Refers-To"),
                        target_uri(h.get_header("WARC-Refers-To-Target-URI")),
                        h.get_header("WARC-Refers-To-Date"),
                        h.get_header("WARC-Concurrent-To"),
                        scanned.http_status,
                        int(not problems),
                        problems[0] if problems else None,
                        h.get_header("WARC-Profile"),
                    )
                )
                if len(rows) >= _BATCH:
                    self._insert(rows)
                    rows = []
        except NotRegularFile:
            self.note(rel, "is not a regular file (a pipe, a device, a directory): not read")
        except OSError as exc:
            self.problem(rel, f"cannot be read ({exc.strerror or exc})")
        self._insert(rows)

    def _in_flight_from(self, rel: str, crawl_id: int | None, still_open: bool) -> int | None:
        """Where a file a crawl is still writing passes its last committed row (None for a closed file)."""
        if not self.has_db:
            return None
        running = (
            crawl_id is not None
            and self.db.execute(
                "SELECT 1 FROM crawls WHERE id = ? AND status = 'running'", (crawl_id,)
            ).fetchone()
        )
        if not (still_open or running):
            return None
        (end,) = self.db.execute(
            "SELECT max(warc_offset + warc_length) FROM captures WHERE warc_file = ?", (rel,)
        ).fetchone()
        return end or 0

    def _started_later(self, info: CrawlInfo | None) -> bool:
        """Whether a file's crawl is unknown to the rows read and started after they were read."""
        if not (self.has_db and info and info.started_at and self.report.committed_at):
            return False
        known = self.db.execute("SELECT 1 FROM crawls WHERE id = ?", (info.crawl_id,)).fetchone()
        return known is None and info.started_at >= self.report.committed_at

    def _insert(self, rows: list[tuple]) -> None:
        self.db.executemany(f"INSERT INTO records VALUES ({', '.join('?' * 16)})", rows)

    def snapshot_rows(self) -> None:
        """Copy the rows verify checks out of the archive database in one read transaction, then let it go."""
        db_path = self.archive_dir / DB_NAME
        if not db_path.is_file():
            self.note(DB_NAME, "no database: only the WARC files were checked")
            return
        # Not through Store: verify must read a damaged or half-migrated archive (Store would refuse it, or
        # migrate it), and it copies the archive's rows into its own scratch tables by ATTACH, read-only.
        with leaving_no_sidecars(db_path):
            try:
                self.db.execute("ATTACH DATABASE ? AS archive", (read_only_uri(db_path),))
            except sqlite3.DatabaseError as exc:
                self.problem(DB_NAME, f"cannot be opened read-only ({exc})")
                return
            try:
                self.db.execute("BEGIN")
                self.report.committed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                self._copy_rows()
                self.db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self.problem(DB_NAME, f"cannot be read ({exc})")
                self.has_db = False
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
            finally:
                self.db.execute("DETACH DATABASE archive")

    def _copy_rows(self) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM archive.sqlite_master WHERE type='table'")}
        reason = _not_ours(self.db, tables)
        if not reason and (foreign := foreign_objects(self.db, "archive")):
            reason = f"holds a {foreign[0]} that zwcrawl did not make"
        if reason:
            self.problem(DB_NAME, f"is not a zwcrawl archive database ({reason}); nothing checked against it")
            return
        self.has_db = True
        self.tables = tables
        columns = ", ".join(_CAPTURE_COLUMNS)
        self.db.execute(f"CREATE TABLE captures AS SELECT {columns} FROM archive.captures")
        if "articles" in tables:
            self.db.execute(
                "CREATE TABLE articles AS SELECT edition, article_id, capture_id FROM archive.articles"
            )
        else:
            self.note(DB_NAME, "has no articles table")
        if "crawls" in tables:
            self.db.execute("CREATE TABLE crawls AS SELECT id, status FROM archive.crawls")
        else:
            self.db.execute("CREATE TABLE crawls (id INTEGER, status TEXT)")
        query = "SELECT id FROM crawls WHERE status = 'running' ORDER BY id"
        self.report.running = [crawl_id for (crawl_id,) in self.db.execute(query)]
        if self.report.running:
            self.report.writer_pid = live_holder(self.archive_dir)

    def scan_files_named_by_rows(self) -> None:
        """Rows may name WARC files outside warc/ (another layout): read those too, if inside the archive."""
        for (name,) in self.db.execute("SELECT DISTINCT warc_file FROM captures").fetchall():
            rel = inside_archive(name)
            if rel and rel not in self.scanned and (self.archive_dir / rel).is_file():
                self.scan(rel)

    def check_duplicate_ids(self) -> None:
        query = """SELECT id, group_concat(file || ' offset ' || offset, ', ') FROM records
                   WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1"""
        for record_id, places in self.db.execute(query):
            self.problem(record_id, f"record id used more than once: {places}")

    def check_revisits(self) -> None:
        """Every revisit resolves to an original response of its payload digest, by id or by URI and date;
        a server-not-modified one (a 304) to a response of its own URI."""
        query = """SELECT file, offset, id, digest, refers_id, refers_url, refers_date, url, profile
                   FROM records WHERE type = 'revisit' ORDER BY file, offset"""
        for rel, offset, record_id, digest, refers_id, refers_url, refers_date, url, profile in self._all(
            query
        ):
            where = f"{rel} offset {offset} {record_id}"
            not_modified = (profile or "").endswith(NOT_MODIFIED_SUFFIX)
            if not_modified and (refers_url or url) != url:
                self.problem(where, f"a 304 revisit of {url} refers to another URI, {refers_url}")
                continue
            if not digest and not not_modified:
                # A 304's payload is its original's (WARC 1.1 6.7.3): the digest may be left to that record.
                self.problem(where, "revisit has no WARC-Payload-Digest")
                continue
            if refers_id:
                original = self.db.execute(
                    "SELECT type, digest, sound, url FROM records WHERE id = ?"
                    " ORDER BY type = 'response' DESC",
                    (refers_id,),
                ).fetchone()
                if original is None:
                    self.problem(where, f"revisit's original {refers_id} is not in the archive")
                elif not original[2]:
                    self.problem(where, f"revisit's original {refers_id} is damaged")
                elif original[0] != "response":
                    self.problem(
                        where, f"revisit refers to {refers_id}, a {original[0]} record, not a response"
                    )
                elif digest and original[1] != digest:
                    self.problem(where, f"revisit's original {refers_id} has payload digest {original[1]}")
                elif not_modified and original[3] != url:
                    self.problem(
                        where, f"a 304 revisit of {url} refers to {refers_id}, a capture of {original[3]}"
                    )
                continue
            found = self.db.execute(
                "SELECT 1 FROM records WHERE url = ? AND date = ? AND type = 'response'"
                " AND digest = coalesce(?, digest)",
                (refers_url or url, refers_date, digest),
            ).fetchone()
            if found is None:
                self.problem(
                    where, f"no original response of {refers_url} at {refers_date} with digest {digest}"
                )

    def check_concurrent(self) -> None:
        """Every WARC-Concurrent-To names a record; where its file holds a record too damaged to name itself,
        that record may be the one named: a note then, as the damage is already a problem of its own."""
        query = """SELECT r.file, r.offset, r.id, r.type, r.concurrent_to,
                   (SELECT min(d.offset) FROM records d
                    WHERE d.file = r.file AND d.id IS NULL AND NOT d.sound)
                   FROM records r
                   WHERE r.concurrent_to IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM records o WHERE o.id = r.concurrent_to)
                   ORDER BY r.file, r.offset"""
        for rel, offset, record_id, record_type, other, nameless in self._all(query):
            where = f"{rel} offset {offset} {record_id}"
            message = f"{record_type} record's WARC-Concurrent-To {other} names no record in the archive"
            if nameless is None:
                self.problem(where, message)
            else:
                self.note(where, f"{message}: perhaps the damaged record at offset {nameless}")

    def check_captures(self) -> None:
        """Every capture row points at a sound record of its id, URL, type and digest, offset and length."""
        query = """SELECT id, url, status, record_type, warc_file, warc_offset, warc_length, warc_record_id,
                   payload_digest FROM captures ORDER BY id"""
        try:
            rows = self._all(query)
        except sqlite3.OperationalError as exc:
            self.problem(f"{DB_NAME} captures", f"cannot be read ({exc})")
            return
        lookup = """SELECT length, type, id, url, digest, status, sound, problem FROM records
                    WHERE file = ? AND offset = ?"""
        for row_id, url, status, record_type, warc_file, offset, length, record_id, digest in rows:
            self.report.captures += 1
            where = f"captures row {row_id} ({url})"
            rel = inside_archive(warc_file)
            if rel is None:
                self.problem(where, f"warc_file {warc_file!r} is not a path inside the archive")
                continue
            record = self.db.execute(lookup, (rel, offset)).fetchone()
            if record is None:
                if rel not in self.scanned:
                    self.problem(where, f"WARC file {rel} does not exist")
                else:
                    self.problem(where, f"no record starts at offset {offset} of {rel}")
                continue
            r_length, r_type, r_id, r_url, r_digest, r_status, r_sound, r_problem = record
            at = f"the record at {rel} offset {offset}"
            if r_type == "metadata" and r_url and url:
                # A metadata record names its page as urn:zwcrawl:fields:URL (records written before as
                # the URL itself); its row holds the page's URL, so any of these forms match.
                url, r_url = described_url(url), described_url(r_url)
            if not r_sound:
                self.problem(where, f"{at} is damaged: {r_problem}")
                # Its other fields say nothing about the row once the record is broken; its id still does.
                if r_id is not None and r_id != record_id:
                    self.problem(where, f"warc_record_id is {record_id!r} but {at} has {r_id!r}")
                continue
            checks = [
                ("warc_record_id", record_id, r_id),
                ("url", url, r_url),
                ("record_type", record_type, r_type),
                ("warc_length", length, r_length),
            ]
            if digest is not None:
                checks.append(("payload_digest", digest, r_digest))
            if status is not None and r_status is not None:
                checks.append(("status", status, r_status))
            for column, mine, theirs in checks:
                if mine != theirs:
                    self.problem(where, f"{column} is {mine!r} but {at} has {theirs!r}")

    def check_articles(self) -> None:
        if "articles" not in self.tables:
            return
        self.report.articles = self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
        query = """SELECT a.edition, a.article_id, a.capture_id FROM articles a
                   WHERE a.capture_id IS NULL
                   OR NOT EXISTS (SELECT 1 FROM captures c WHERE c.id = a.capture_id)
                   ORDER BY a.edition, a.article_id"""
        try:
            rows = self._all(query)
        except sqlite3.OperationalError as exc:
            self.problem(f"{DB_NAME} articles", f"cannot be read ({exc})")
            return
        for edition, article_id, capture_id in rows:
            where = f"articles row {edition}/{article_id}"
            if capture_id is None:
                self.problem(where, "has no capture")
            else:
                self.problem(where, f"its capture {capture_id} is not in captures")

    def check_rowless_records(self) -> None:
        """Records with no row: a killed crawl's last page is allowed; more is a database that lost rows."""
        self.db.executescript(
            """
            CREATE TABLE captured AS SELECT DISTINCT warc_record_id AS id FROM captures;
            CREATE INDEX captured_id ON captured (id);
            CREATE TABLE last_rowed AS SELECT file, max(offset) AS offset FROM records
                WHERE id IN (SELECT id FROM captured) GROUP BY file;
            """
        )
        query = f"""SELECT r.file, r.offset, r.id, r.type, r.url, r.offset > coalesce(l.offset, -1) AS tail
                   FROM records r LEFT JOIN last_rowed l ON l.file = r.file
                   WHERE r.type IN {_ROWED} AND r.id NOT IN (SELECT id FROM captured)
                   AND r.file NOT IN (SELECT file FROM files WHERE imported)
                   ORDER BY r.file, r.offset"""
        tails: dict[str, list[tuple]] = {}
        for rel, offset, record_id, record_type, url, tail in self._all(query):
            where = f"{rel} offset {offset} {record_id}"
            if not tail:
                self.problem(where, f"{record_type} of {url} has no capture row, though records after it do")
            else:
                tails.setdefault(rel, []).append((where, record_type, url))
        for rel, rowless in tails.items():
            pages = sum(record_type != "metadata" for _, record_type, _ in rowless)
            if pages <= 1 and len(rowless) - pages <= 1:
                for where, record_type, url in rowless:
                    self.note(where, f"{record_type} of {url} has no capture row (its crawl stopped there)")
            else:
                self.problem(
                    rel,
                    f"{len(rowless)} record(s) at its end have no capture row, more than one page a killed "
                    "crawl leaves: the database has lost rows, or is not this archive's",
                )

    def check_crawls_known(self) -> None:
        """Every WARC file's warcinfo names a crawl the database knows (a lost or replaced database fails)."""
        if "crawls" not in self.tables:
            return
        query = """SELECT f.file, f.crawl_id FROM files f WHERE f.crawl_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM crawls c WHERE c.id = f.crawl_id) ORDER BY f.file"""
        for rel, crawl_id in self._all(query):
            self.problem(rel, f"was written by crawl {crawl_id}, which {DB_NAME} has no row for")

    def _all(self, query: str, params: Iterable = ()) -> Iterator[tuple]:
        # A cursor of its own, streamed: lookups on the same connection may run while it is read.
        yield from self.db.cursor().execute(query, tuple(params))


def _not_ours(db: sqlite3.Connection, tables: set[str]) -> str | None:
    """Why the attached database is not a zwcrawl archive's (None when it is)."""
    if "captures" not in tables:
        return "no captures table"
    have = {row[1] for row in db.execute("PRAGMA archive.table_info(captures)")}
    missing = [c for c in _CAPTURE_COLUMNS if c not in have]
    if missing:
        return f"its captures table has no {', '.join(missing)}"
    if "_sqlite_migrations" in tables:
        sets = {r[0] for r in db.execute("SELECT DISTINCT migration_set FROM archive._sqlite_migrations")}
        if "zwcrawl" not in sets:
            return "its migrations are not zwcrawl's"
    return None


def _crawl_of(path: Path) -> CrawlInfo | None:
    """The crawl (or import: only its HTML captures get rows) a file's warcinfo record names, if any."""
    try:
        with open(open_regular(path), "rb") as fh:
            record = next(iter(ArchiveIterator(fh)), None)
            if record is None or record.rec_type != "warcinfo":
                return None
            info = read_crawl_warcinfo(parse_warc_fields(record.content_stream().read(1 << 16)))
    except Exception:  # noqa: BLE001 - a file too broken to say is reported by the scan itself
        return None
    return info
