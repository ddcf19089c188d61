"""`zwcrawl export wacz`: chosen captures' WARC records copied into a WACZ 1.1.1 package, whole or not."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from zwcrawl import __version__
from zwcrawl.site import Sites
from zwcrawl.store import DB_NAME, Store
from zwcrawl.store.filters import ArticleFilter
from zwcrawl.warc import WarcWriter, index_path, merge_indexes, scan_warc
from zwcrawl.warc._fs import sync_dir
from zwcrawl.warc.paths import OutsideLink, inside_archive, refuse_links_leaving

WACZ_VERSION = "1.1.1"
_CHUNK = 1 << 20
_PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Article captures"}


class UsageError(ValueError):
    """A bad option (a date, an output path, a crawl id): one line, exit 2."""


class ExportError(Exception):
    """The export could not be written (damaged records, nothing chosen): one line, exit 1."""


@dataclass(frozen=True)
class CaptureFilter:
    """Which captures go in: the articles' edition and publication dates (as the other exports read them),
    and the crawl that made them; None means any."""

    articles: ArticleFilter = ArticleFilter()
    crawl_id: int | None = None

    @classmethod
    def parse(cls, *, crawl_id: int | None = None, **articles: str | None) -> CaptureFilter:
        """The filter a user typed; a bad date is a UsageError with a one-line reason."""
        try:
            return cls(ArticleFilter.parse(**articles), crawl_id)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    @property
    def edition(self) -> str | None:
        """The edition chosen, if any."""
        return self.articles.edition

    @property
    def by_date(self) -> bool:
        """Whether publication dates choose: then only article captures go in (nothing else has a date)."""
        return self.articles.since is not None or self.articles.until is not None

    def describe(self) -> str:
        """The filter in words, for the package's title and warcinfo."""
        named = (
            ("edition", self.articles.edition),
            ("published from", self.articles.since),
            ("published before", self.articles.until),
            ("crawl", self.crawl_id),
        )
        return ", ".join(f"{words} {value}" for words, value in named if value is not None) or "all captures"


@dataclass(frozen=True)
class WaczResult:
    """What an export wrote."""

    path: Path
    warc_files: int
    records: int
    pages: int
    size: int


def check_output(output: Path) -> Path:
    """The output path, or a UsageError when it cannot be written there (no such directory, a directory)."""
    output = Path(output)
    if output.is_dir():
        raise UsageError(f"--output {output} is a directory; give a file name such as {output}/archive.wacz")
    if not output.parent.is_dir():
        raise UsageError(f"--output {output}: directory {output.parent} does not exist")
    return output


def export_wacz(
    archive_dir: Path,
    output: Path,
    chosen: CaptureFilter,
    *,
    max_warc_size: int = 1_000_000_000,
    clock: Callable[[], datetime] | None = None,
) -> WaczResult:
    """Write the chosen captures as a WACZ at `output`: built under a temporary name, renamed when whole."""
    archive_dir, output = Path(archive_dir), check_output(output)
    clock = clock or (lambda: datetime.now(UTC))
    db_path = archive_dir / DB_NAME
    if not db_path.is_file():
        raise UsageError(f"no archive at {archive_dir} (no {DB_NAME} there)")
    try:
        refuse_links_leaving(archive_dir)  # a record copied through such a link would be anyone's file
    except OutsideLink as exc:
        raise ExportError(str(exc)) from None
    # Beside the output, so the last step is a rename within one file system.
    work = output.parent / f".{output.name}.{os.getpid()}.tmp.d"
    partial = output.parent / f".{output.name}.{os.getpid()}.tmp"
    try:
        store = Store(db_path, read_only=True)
    except ValueError as exc:  # an archive of another version, or holding what zwcrawl did not make
        raise ExportError(str(exc)) from None
    db = store.db.conn
    try:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        wanted, files, primaries = _choose(db, chosen)
        if not primaries:
            raise ExportError(f"nothing to export: no capture matches ({chosen.describe()})")
        warcs, records = _copy_records(archive_dir, work, wanted, files, chosen, max_warc_size, clock)
        (work / "indexes").mkdir()
        # CDXJ lines under the name WACZ readers look for: pywb's --unpack-wacz takes .cdx or .cdx.gz only.
        os.replace(merge_indexes(work / "archive"), work / "indexes" / "index.cdx")
        (work / "pages").mkdir()
        pages = _write_pages(db, work / "pages" / "pages.jsonl")
        _zip(work, warcs, partial, chosen, clock)
        os.replace(partial, output)
        sync_dir(output.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    return WaczResult(output, len(warcs), records, pages, output.stat().st_size)


def _choose(db: sqlite3.Connection, chosen: CaptureFilter) -> tuple[set[str], set[str], int]:
    """Fill temp table `chosen` with the responses and revisits that go in; their ids, originals and files."""
    if chosen.crawl_id is not None:
        found = db.execute("SELECT 1 FROM crawls WHERE id = ?", (chosen.crawl_id,)).fetchone()
        if found is None:
            raise UsageError(f"--crawl {chosen.crawl_id}: no such crawl in this archive")
    db.execute("CREATE TEMP TABLE chosen (id INTEGER PRIMARY KEY)")
    where, params = ["c.record_type IN ('response', 'revisit')"], []
    if chosen.crawl_id is not None:
        where.append("c.crawl_id = ?")
        params.append(chosen.crawl_id)
    if chosen.by_date:
        # Only article captures have a publication date: the captures of the articles published then.
        articles, article_params = chosen.articles.where("a")
        where.append(
            "c.id IN (SELECT o.capture_id FROM observations o JOIN articles a"
            " ON a.edition = o.edition AND a.article_id = o.article_id"
            f" WHERE {articles})"
        )
        params += article_params
    query = f"SELECT c.id, c.url, c.crawl_id FROM captures c WHERE {' AND '.join(where)} ORDER BY c.id"
    editions = _EditionOf(db)
    rows = (
        (capture_id,)
        for capture_id, url, crawl_id in db.execute(query, params).fetchall()
        if chosen.by_date or chosen.edition is None or editions(url, crawl_id) == chosen.edition
    )
    db.executemany("INSERT INTO chosen (id) VALUES (?)", rows)
    primaries = db.execute("SELECT count(*) FROM temp.chosen").fetchone()[0]
    wanted: set[str] = set()
    files: set[str] = set()
    # The chosen records, the originals their revisits refer to, and the records concurrent to either.
    query = "SELECT warc_record_id, warc_file, refers_to_record_id FROM captures JOIN temp.chosen USING (id)"
    for record_id, warc_file, refers_to in db.execute(query):
        wanted.add(record_id)
        files.add(warc_file)
        if refers_to:
            original = db.execute(
                "SELECT warc_file FROM captures WHERE warc_record_id = ?", (refers_to,)
            ).fetchone()
            if original is None:
                raise ExportError(f"revisit {record_id} refers to {refers_to}, which is not in captures")
            wanted.add(refers_to)
            files.add(original[0])
    return wanted, files, primaries


class _EditionOf:
    """The edition of a URL as fetched, read through the copies (--site) its crawl was given."""

    def __init__(self, db: sqlite3.Connection):
        self._sites: dict[int, Sites] = {}
        for crawl_id, options in db.execute("SELECT id, options FROM crawls"):
            try:
                bases = (json.loads(options or "{}") or {}).get("sites") or {}
                self._sites[crawl_id] = Sites(bases)
            except (ValueError, TypeError, AttributeError):
                self._sites[crawl_id] = Sites()

    def __call__(self, url: str, crawl_id: int) -> str | None:
        site_url = self._sites.get(crawl_id, Sites()).classify(url)
        return site_url.edition if site_url else None


def _copy_records(
    archive_dir: Path,
    work: Path,
    wanted: set[str],
    files: set[str],
    chosen: CaptureFilter,
    max_size: int,
    clock: Callable[[], datetime],
) -> tuple[list[Path], int]:
    """Copy each wanted record, and those concurrent to one, byte for byte into new WARC files."""
    info = {"zwcrawl-export": f"wacz of {chosen.describe()}", "zwcrawl-archive": archive_dir.resolve().name}
    writer = WarcWriter(
        work,
        subdir="archive",
        prefix="zwcrawl-export",
        max_size=max_size,
        software=f"zwcrawl/{__version__}",
        info=info,
        fsync=False,
        clock=clock,
    )
    copied = 0
    with writer:
        for rel in sorted(files):
            copied += _copy_file(archive_dir, rel, wanted, writer)
        warcs = writer.close()
    return warcs, copied


def _copy_file(archive_dir: Path, name: str, wanted: set[str], writer: WarcWriter) -> int:
    rel = inside_archive(name)
    if rel is None:
        raise ExportError(f"captures name {name!r} as a WARC file, which is not a path inside the archive")
    path = archive_dir / rel
    if not path.is_file():
        raise ExportError(f"{rel}: WARC file named by the captures table does not exist")
    copied, info = 0, None
    with open(path, "rb") as raw:
        for scanned in scan_warc(path, digests=False):
            if not scanned.sound:
                if not index_path(path).exists():
                    # A file still being written (a crawl is running) or never closed: its unfinished tail
                    # holds nothing a row points at yet, since a row is written only after its record.
                    break
                raise ExportError(
                    f"{rel} offset {scanned.offset}: damaged record ({'; '.join(scanned.problems)}); "
                    "see zwcrawl verify"
                )
            headers = scanned.headers
            record_type = headers.get_header("WARC-Type")
            if record_type == "warcinfo":
                info = scanned
                continue
            record_id = headers.get_header("WARC-Record-ID")
            if record_id not in wanted and headers.get_header("WARC-Concurrent-To") not in wanted:
                continue
            if info is not None:
                # The source file's warcinfo (its crawl) once, before the first record taken from it.
                writer.write_copy(_member(raw, info), may_roll=False)
                copied, info = copied + 1, None
            # A new file starts only at a response or revisit, so its request follows it in the same file.
            writer.write_copy(_member(raw, scanned), may_roll=record_id in wanted)
            copied += 1
    return copied


def _member(raw, scanned) -> bytes:
    raw.seek(scanned.offset)
    return raw.read(scanned.length)


def _write_pages(db: sqlite3.Connection, path: Path) -> int:
    """pages.jsonl: a header, then each chosen article capture with its time and headline as then."""
    query = """
        SELECT c.url, c.fetched_at, c.warc_record_id, coalesce(
            (SELECT v.headline FROM article_versions v
             WHERE v.edition = o.edition AND v.article_id = o.article_id AND v.observed_at <= o.observed_at
             ORDER BY v.version DESC LIMIT 1),
            (SELECT a.headline FROM articles a WHERE a.edition = o.edition AND a.article_id = o.article_id))
        FROM temp.chosen JOIN captures c USING (id) JOIN observations o ON o.capture_id = c.id
        ORDER BY c.fetched_at, c.id"""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(_PAGES_HEADER) + "\n")
        for url, fetched_at, record_id, headline in db.execute(query):
            page = {"id": record_id.strip("<>"), "url": url, "ts": fetched_at, "title": headline or url}
            out.write(json.dumps(page, ensure_ascii=False) + "\n")
            count += 1
    return count


def _zip(
    work: Path, warcs: list[Path], target: Path, chosen: CaptureFilter, clock: Callable[[], datetime]
) -> None:
    """The package: WARCs stored (replay tools read them by offset), text deflated, then the datapackage."""
    entries = [(f"archive/{p.name}", p, zipfile.ZIP_STORED) for p in warcs]
    entries += [
        ("indexes/index.cdx", work / "indexes" / "index.cdx", zipfile.ZIP_DEFLATED),
        ("pages/pages.jsonl", work / "pages" / "pages.jsonl", zipfile.ZIP_DEFLATED),
    ]
    created = clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    resources = []
    with open(target, "wb") as fh:
        # allowZip64: entries and archives past 4 GB (an archive's WARC files often are) get ZIP64 records.
        with zipfile.ZipFile(fh, "w", allowZip64=True) as package:
            for name, path, compression in entries:
                digest, size = _sha256(path)
                resources.append(
                    {"name": Path(name).name, "path": name, "hash": f"sha256:{digest}", "bytes": size}
                )
                package.write(path, name, compress_type=compression)
            datapackage = {
                "profile": "data-package",
                "wacz_version": WACZ_VERSION,
                "title": f"Zaman al-Wasl: {chosen.describe()}",
                "created": created,
                "modified": created,
                "software": f"zwcrawl {__version__}",
                "resources": resources,
            }
            data = json.dumps(datapackage, indent=2, ensure_ascii=False).encode("utf-8")
            package.writestr("datapackage.json", data, compress_type=zipfile.ZIP_DEFLATED)
            digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(data).hexdigest()}
            package.writestr(
                "datapackage-digest.json", json.dumps(digest, indent=2), compress_type=zipfile.ZIP_DEFLATED
            )
        fh.flush()
        os.fsync(fh.fileno())


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
