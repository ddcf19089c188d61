"""`zwcrawl rebuild`: the archive database made afresh from its WARC files alone, swapped in when complete."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from zwcrawl.diskfull import is_disk_full
from zwcrawl.ingest import Ingest, read_warc, sound_spans
from zwcrawl.lock import ArchiveLock
from zwcrawl.site import Sites
from zwcrawl.store import DB_NAME, Store
from zwcrawl.warc import CrawlInfo, parse_warc_fields, read_crawl_warcinfo, recover_archive
from zwcrawl.warc._fs import sync_dir, sync_path
from zwcrawl.warc.paths import OutsideLink, refuse_links_leaving

WARC_SUBDIR = "warc"
# What the crawl row of a rebuilt crawl says: the WARC files hold no end, status or statistics of a crawl.
REBUILT_STATS = {"rebuilt_from_warc": True}


class RebuildError(Exception):
    """The rebuild could not run; the message is one line for the user."""


@dataclass
class RebuildResult:
    """What a rebuild did: the database it made, the one it set aside, counts, problems and time."""

    database: Path
    backup: Path | None
    files: int = 0
    records: int = 0
    pages: int = 0
    counts: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: what was read and what came of it."""
        c = self.counts
        rate = self.pages / self.seconds if self.seconds else 0.0
        return (
            f"rebuilt {self.database} from {self.files} WARC file(s), {self.records} records: "
            f"{c.get('captures', 0)} capture rows, {c.get('articles/new', 0)} articles, "
            f"{c.get('articles/updated', 0) + c.get('articles/unchanged', 0)} later fetches of them, "
            f"{c.get('missing', 0)} missing ids; {self.pages} pages in {self.seconds:.1f} s "
            f"({rate:.0f} pages/s); "
            f"{len(self.problems)} problem(s)"
        )


def rebuild_archive(
    archive_dir: Path,
    *,
    from_metadata: bool = False,
    sites: Sites | None = None,
    workers: int | None = None,
) -> RebuildResult:
    """Rebuild ARCHIVE/zwcrawl.db from ARCHIVE/warc/; the old database stays as zwcrawl.db.bak-TIME."""
    archive_dir = Path(archive_dir)
    warc_dir = archive_dir / WARC_SUBDIR
    # A crawl killed in its first file left only NAME.warc.gz.open, which recovery below closes.
    if not warc_dir.is_dir() or not any(warc_dir.glob("*.warc.gz*")):
        raise RebuildError(f"no WARC files in {warc_dir}: nothing to rebuild from")
    try:
        refuse_links_leaving(archive_dir)
    except OutsideLink as exc:
        raise RebuildError(str(exc)) from None
    started = time.monotonic()
    lock = ArchiveLock(archive_dir).acquire()  # ArchiveBusy names the crawl holding it
    try:
        # As a crawl does on start: a killed crawl's unclosed file is cut back to its last whole record.
        recover_archive(warc_dir, archive_dir / "quarantine")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for leftover in archive_dir.glob(f"{DB_NAME}.rebuild-*"):
            leftover.unlink()  # an earlier rebuild killed before its swap
        building = archive_dir / f"{DB_NAME}.rebuild-{stamp}"
        result = RebuildResult(database=archive_dir / DB_NAME, backup=None)
        # NORMAL: the file is private until the swap, which comes only after it is closed and synced.
        try:
            with Store(building, synchronous="NORMAL") as store:
                _load(store, archive_dir, warc_dir, result, sites, from_metadata, workers)
            sync_path(building)
        except BaseException:
            # Killed or out of space: the half-made database goes (freeing its space); the old one stays.
            for suffix in ("-wal", "-shm", ""):
                Path(f"{building}{suffix}").unlink(missing_ok=True)
            raise
        result.backup = _swap(archive_dir, building, stamp)
        result.seconds = time.monotonic() - started
        return result
    finally:
        lock.release()


def _load(
    store: Store,
    archive_dir: Path,
    warc_dir: Path,
    result: RebuildResult,
    sites: Sites | None,
    from_metadata: bool,
    workers: int | None,
) -> None:
    """Read every WARC file in order (their names begin with the time they were opened) into the store."""
    ended: dict[int, str] = {}
    with Ingest(store, archive_dir, sites=sites, from_metadata=from_metadata, workers=workers) as ingest:
        for path in sorted(warc_dir.glob("*.warc.gz")):
            rel = path.relative_to(archive_dir).as_posix()
            result.files += 1
            crawl_id = None
            spans, bad = sound_spans(path)
            for offset, why in bad:
                result.problems.append(f"{rel} offset {offset}: {why}; left out")
            try:
                for record in read_warc(path, rel, spans):
                    result.records += 1
                    if crawl_id is None:
                        info = _crawl_of(record, rel, result)
                        if info.crawl_id not in ended:
                            ingest.open_crawl(info, record.date)
                        crawl_id = info.crawl_id
                    ingest.add(record, crawl_id)
                    ended[crawl_id] = max(ended.get(crawl_id, record.date), record.date)
            except (OSError, ValueError) as exc:
                if is_disk_full(exc):
                    raise  # a rebuild missing what did not fit would be swapped in as if whole
                result.problems.append(
                    f"{rel}: cannot be read to its end ({exc}); the rest of it is left out"
                )
        stats = ingest.finish()
    for crawl_id, last in sorted(ended.items()):
        store.finish_crawl(crawl_id, "finished", REBUILT_STATS, last)
    store.optimize_search()  # a bulk load leaves the search index in many segments; queries read one
    result.counts = dict(stats.counts)
    result.pages = stats.counts["records/response"] + stats.counts["records/revisit"]
    result.problems += stats.problems


def _crawl_of(record, rel: str, result: RebuildResult) -> CrawlInfo:
    """The crawl a file belongs to, from its first record, the warcinfo."""
    info = None
    if record.record_type == "warcinfo":
        info = read_crawl_warcinfo(parse_warc_fields(record.block or b""))
    if info is None:
        raise ValueError(f"{rel} does not begin with a zwcrawl warcinfo record naming its crawl")
    return info


def _swap(archive_dir: Path, building: Path, stamp: str) -> Path | None:
    """Put the new database in place; the old one (with its WAL, if any) becomes zwcrawl.db.bak-TIME."""
    current = archive_dir / DB_NAME
    backup = archive_dir / f"{DB_NAME}.bak-{stamp}"
    kept = None
    if current.exists():
        # A killed crawl leaves rows in the WAL. Folded into the database first, they move with it in one
        # rename: a rebuild killed between moving a WAL and its database would have parted them for good.
        _fold_wal(current)
        # A WAL SQLite could not fold, and the shared-memory file, go with their database (by name + -wal).
        for suffix in ("-wal", "-shm", ""):
            old = archive_dir / f"{DB_NAME}{suffix}"
            if old.exists():
                os.replace(old, archive_dir / f"{backup.name}{suffix}")
        kept = backup
    os.replace(building, current)
    sync_dir(archive_dir)
    return kept


def _fold_wal(database: Path) -> None:
    """Checkpoint a database's WAL into it; SQLite then removes the WAL as its last connection closes."""
    if not Path(f"{database}-wal").exists():
        return
    try:
        connection = sqlite3.connect(database)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
        sync_path(database)
    except sqlite3.Error:
        pass  # a database SQLite cannot open: its files are moved as they are
