"""`zwcrawl import`: other crawlers' WARC and WACZ files brought into the archive, record by record.

Each record of the site's hosts is copied byte for byte (its WARC-Record-ID and date kept) into the archive's
own WARC files, and noted in `imported_records` with the file and offset it came from. HTML responses and
revisits get capture rows; once every file is copied, their article pages are extracted and saved oldest
first, whatever order the files came in, through the same Ingest path as `rebuild`. A record already in the
archive (by its WARC-Record-ID) is skipped, so importing a file twice adds nothing.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import tempfile
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from zwcrawl import __version__
from zwcrawl.diskfull import is_disk_full
from zwcrawl.ingest import PROVENANCE_URI, Ingest, WarcRecord, capture_row, imported_capture, read_warc
from zwcrawl.lock import ArchiveLock
from zwcrawl.site import Sites
from zwcrawl.store import DB_NAME, Store
from zwcrawl.warc import (
    WarcWriter,
    crawl_warcinfo,
    merge_indexes,
    parse_warc_fields,
    read_crawl_warcinfo,
    recover_archive,
    scan_warc,
    sha1_digest,
    target_uri,
)
from zwcrawl.warc._fs import sync_dir
from zwcrawl.warc.paths import OutsideLink, refuse_links_leaving
from zwcrawl.warc.writer import OPEN_SUFFIX

_GZIP_MAGIC = b"\x1f\x8b"
_HTTP_RECORDS = ("response", "revisit")
_COMMIT_EVERY = 200  # copied records per transaction


class ImportFailed(Exception):
    """The import could not run; the message is one line for the user."""


@dataclass
class ImportResult:
    """What an import did: counts by what became of each record, and the bad records found."""

    crawl_id: int
    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: records read and what became of them."""
        c = self.counts
        saved = c["articles/new"] + c["articles/updated"] + c["articles/unchanged"]
        return (
            f"import {self.crawl_id}: {c['records']} records read from {c['files']} file(s): "
            f"{c['copied']} copied ({c['captures']} HTML captures, {c['requests']} requests, "
            f"{c['not_html']} not HTML, {c['other_records']} other records of the site), "
            f"{c['known']} already in the archive, {c['other_hosts']} of other hosts left out, "
            f"{c['warcinfo']} warcinfo left out, {c['orphans']} left out with their damaged records, "
            f"{len(self.problems)} bad; "
            f"{saved} article captures saved ({c['articles/new']} new articles), {c['missing']} soft 404s"
        )


def import_files(archive_dir: Path, files: list[Path], *, sites: Sites | None = None) -> ImportResult:
    """Import WARC (gzip or not, 1.0 or 1.1) and WACZ files into the archive; ImportFailed on bad use."""
    archive_dir = Path(archive_dir)
    sites = sites or Sites()
    for path in files:
        if not Path(path).is_file():
            raise ImportFailed(f"cannot read {path}: no such file")
    try:
        (archive_dir / "warc").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImportFailed(f"cannot create the archive {archive_dir}: {exc.strerror or exc}") from None
    try:
        refuse_links_leaving(archive_dir)
    except OutsideLink as exc:
        raise ImportFailed(str(exc)) from None
    lock = ArchiveLock(archive_dir).acquire()
    try:
        with Store(archive_dir / DB_NAME) as store:
            now = _now()
            store.mark_dead_crawls(now)
            _recover(archive_dir, store)
            options = {"import": [str(p) for p in files], "sites": sites.bases}
            crawl_id = store.start_crawl(options, now)
            result = ImportResult(crawl_id)
            writer = WarcWriter(
                archive_dir,
                software=f"zwcrawl/{__version__}",
                info=crawl_warcinfo(crawl_id, now, options),
            )
            status = "failed"
            try:
                with Ingest(store, archive_dir, sites=sites, writer=writer) as ingest:
                    for path in files:
                        _import_file(Path(path), archive_dir, store, writer, sites, crawl_id, result)
                    # Oldest first, across every file (and any earlier import a kill cut short).
                    for row in store.unsaved_imports():
                        if not ingest.save(row):
                            result.counts["not_articles"] += 1
                    stats = ingest.finish()
                result.counts.update(
                    {k: v for k, v in stats.counts.items() if k.startswith(("articles/", "missing"))}
                )
                result.problems += stats.problems
                status = "finished"
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            finally:
                writer.close()
                merge_indexes(archive_dir / "warc")
                store.finish_crawl(crawl_id, status, dict(sorted(result.counts.items())), _now())
        return result
    finally:
        lock.release()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _import_file(
    path: Path, archive_dir: Path, store: Store, writer: WarcWriter, sites: Sites, crawl_id: int, result
) -> None:
    """Copy one file's records of the site's hosts, with their rows; a WACZ's WARC files one by one."""
    with ExitStack() as stack:
        for name, warc_path in _warc_files(path, archive_dir, stack, result):
            result.counts["files"] += 1
            batch: ExitStack | None = None
            noted: list[list] = []  # provenance of the copies since the last commit
            try:
                # A request (say) whose response is damaged is left out too: it would name a record not here.
                sound = {_record_id(data) for _, data, _ in _raw_records(warc_path) if data is not None}
                for n, (offset, data, problem) in enumerate(_raw_records(warc_path)):
                    if batch is None:
                        batch = ExitStack()
                        batch.enter_context(store.batch())
                    result.counts["records"] += 1
                    if problem is not None:
                        result.problems.append(f"{name} offset {offset}: {problem}")
                        continue
                    why = _copy(data, name, offset, sound, store, writer, sites, crawl_id, result, noted)
                    if why:
                        result.problems.append(f"{name} offset {offset}: {why}")
                    if n % _COMMIT_EVERY == _COMMIT_EVERY - 1:
                        _write_provenance(name, noted, store, writer, crawl_id)
                        batch.close()
                        batch = None
            except OSError as exc:
                if is_disk_full(exc):
                    raise  # the archive's disk, not the file read: the import stops, saying so
                result.problems.append(f"{name}: cannot be read ({exc.strerror or exc})")
            finally:
                if batch is not None:
                    _write_provenance(name, noted, store, writer, crawl_id)
                    batch.close()


def _warc_files(path: Path, archive_dir: Path, stack: ExitStack, result) -> Iterator[tuple[str, Path]]:
    """(name for messages, path on disk) of each WARC file in `path`: itself, or a WACZ's archive/ members."""
    if not zipfile.is_zipfile(path):
        yield str(path), path
        return
    try:
        package = stack.enter_context(zipfile.ZipFile(path))
        members = [m for m in package.namelist() if m.startswith("archive/") and ".warc" in m]
    except (zipfile.BadZipFile, OSError) as exc:
        result.problems.append(f"{path}: not a readable WACZ ({exc})")
        return
    if not members:
        result.problems.append(f"{path}: a zip file with no archive/*.warc* in it (not a WACZ)")
    scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=".import-", dir=archive_dir)))
    for member in sorted(members):
        target = scratch / "member.warc"
        try:
            with package.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except (zipfile.BadZipFile, OSError, zlib.error) as exc:
            result.problems.append(f"{path}!{member}: cannot be read ({exc})")
            continue
        yield f"{path}!{member}", target


def _record_id(record: bytes) -> str:
    """The WARC-Record-ID of a record's bytes, read from its header alone."""
    header = record[: record.find(b"\r\n\r\n")]
    for line in header.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"warc-record-id":
            return value.strip().decode("latin-1")
    return ""


def _raw_records(path: Path) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(offset, record bytes, None) for each sound record, (offset, None, why) for each bad one."""
    with open(path, "rb") as fh:
        compressed = fh.read(2) == _GZIP_MAGIC
    if compressed:
        yield from _gzip_records(path)
    else:
        yield from _plain_records(path)


def _gzip_records(path: Path) -> Iterator[tuple[int, bytes | None, str | None]]:
    """Member by member, with the project's checking reader: a bad member is named, the next one read."""
    with open(path, "rb") as fh:
        for scanned in scan_warc(path, digests=True):
            problems = scanned.problems + scanned.digest_problems
            if problems:
                yield scanned.offset, None, "; ".join(problems)
                continue
            fh.seek(scanned.offset)
            yield scanned.offset, zlib.decompress(fh.read(scanned.length), 16 + zlib.MAX_WBITS), None


def _plain_records(path: Path) -> Iterator[tuple[int, bytes | None, str | None]]:
    """An uncompressed file, record by record; after a bad one, reading resumes at the next WARC/ line."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        at = 0
        while at < size:
            end, problem = _plain_record_end(data, at)
            if problem is None:
                yield at, bytes(data[at:end]), None
                at = end
                continue
            yield at, None, problem
            following = data.find(b"\r\n\r\nWARC/", at + 1)
            if following < 0:
                return
            at = following + 4


def _plain_record_end(data: mmap.mmap, at: int) -> tuple[int, str | None]:
    header_end = data.find(b"\r\n\r\n", at, at + (1 << 20))
    if data[at : at + 5] != b"WARC/":
        return at, f"not a WARC record (starts {bytes(data[at : at + 20])!r})"
    if header_end < 0:
        return at, "record header cut short"
    length = None
    for line in bytes(data[at:header_end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = value.strip()
    if length is None or not length.isdigit():
        return at, f"bad Content-Length {length!r}"
    end = header_end + 4 + int(length)
    if end + 4 > len(data):
        return at, "record cut short: the file ends inside it"
    if data[end : end + 4] != b"\r\n\r\n":
        return at, f"block does not match its Content-Length {int(length)} (no CRLFCRLF after it)"
    return end + 4, None


def _copy(
    data: bytes,
    name: str,
    offset: int,
    sound: set[str],
    store: Store,
    writer: WarcWriter,
    sites: Sites,
    crawl_id: int,
    result,
    noted: list[list],
) -> str | None:
    """Copy one record if it is the site's and new here, with its rows; returns why it is bad, if it is."""
    try:
        record = next(iter(ArchiveIterator(BytesIO(data), check_digests=False)))
        headers = record.rec_headers
        record_type = headers.get_header("WARC-Type") or ""
        record_id = headers.get_header("WARC-Record-ID") or ""
        url = target_uri(headers.get_header("WARC-Target-URI"))
        http = record.http_headers if record_type in (*_HTTP_RECORDS, "request") else None
        status = int(http.get_statuscode()) if http is not None and record_type in _HTTP_RECORDS else None
        content_type = http.get_header("Content-Type") if http is not None else None
    except (ArchiveLoadFailed, StopIteration, ValueError) as exc:
        return f"not a WARC record ({exc})"
    if not record_id:
        return "record has no WARC-Record-ID"
    if record_type == "warcinfo":
        result.counts["warcinfo"] += 1
        return None
    site_url = sites.classify(url) if url else None
    if site_url is None:
        result.counts["other_hosts"] += 1
        return None
    if store.known_record(record_id):
        result.counts["known"] += 1
        return None
    concurrent = headers.get_header("WARC-Concurrent-To")
    if concurrent and concurrent not in sound and not store.known_record(concurrent):
        result.counts["orphans"] += 1
        return None
    row = None
    if record_type in _HTTP_RECORDS:
        fields = WarcRecord.from_headers(
            headers.get_header, record_type, status=status, content_type=content_type
        )
        row = capture_row(fields, crawl_id) if imported_capture(fields, sites) else None
    warc_file, warc_offset, warc_length = writer.copy_record(data)
    try:
        with store.batch():
            store.record_import(
                {
                    "warc_record_id": record_id,
                    "record_type": record_type,
                    "url": url,
                    "source_file": name,
                    "source_offset": offset,
                    "warc_file": warc_file,
                    "warc_offset": warc_offset,
                    "warc_length": warc_length,
                    "crawl_id": crawl_id,
                }
            )
            if row is not None:
                row.update(warc_file=warc_file, warc_offset=warc_offset, warc_length=warc_length)
                store.add_capture(row)
    except ValueError as exc:
        # A date or URL the archive cannot hold: the copy stays (a note for verify), the record is reported.
        return f"copied but not recorded ({exc})"
    result.counts["copied"] += 1
    noted.append([record_id, record_type, url, offset])
    if row is not None:
        result.counts["captures"] += 1
    elif record_type == "request":
        result.counts["requests"] += 1
    elif record_type in _HTTP_RECORDS:
        result.counts["not_html"] += 1
    else:
        result.counts["other_records"] += 1
    return None


def _write_provenance(name: str, noted: list[list], store: Store, writer: WarcWriter, crawl_id: int) -> None:
    """A metadata record of where the copies just made came from, from which `rebuild` restores them."""
    if not noted:
        return
    body = json.dumps({"source_file": name, "records": noted}, ensure_ascii=False).encode("utf-8")
    record_id = f"<urn:uuid:{uuid.uuid4()}>"
    date = _now()
    head = (
        f"WARC/1.1\r\nWARC-Type: metadata\r\nWARC-Record-ID: {record_id}\r\nWARC-Date: {date}\r\n"
        f"WARC-Target-URI: {PROVENANCE_URI}\r\nContent-Type: application/json\r\n"
        f"WARC-Block-Digest: {sha1_digest(body)}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    warc_file, offset, length = writer.copy_record(head.encode("utf-8") + body + b"\r\n\r\n")
    record = WarcRecord("metadata", record_id, PROVENANCE_URI, date, warc_file, offset, length)
    store.add_capture(capture_row(replace(record, content_type="application/json"), crawl_id))
    noted.clear()


def _recover(archive_dir: Path, store: Store) -> None:
    """Repair what a killed import left: unclosed files cut back to their last record with a row."""
    quarantine = archive_dir / "quarantine"

    def cut_unrecorded(path: Path) -> None:
        # Before the file is renamed and indexed: an indexed file is taken as whole, so a tail still in it
        # then would be copied again by the next import, each of its records twice in the archive.
        keep, first = 0, True
        for record in read_warc(path, path.relative_to(archive_dir).as_posix()):
            if first:
                info = read_crawl_warcinfo(parse_warc_fields(record.block or b""))
                if info is None or not (info.options or {}).get("import"):
                    return  # a crawl's file: crawls resume from orphan records, as they always have
            if first or store.known_record(record.record_id):
                keep = record.offset + record.length
            first = False
        _set_aside_tail(path, keep, quarantine)

    recover_archive(archive_dir / "warc", quarantine, before_closing=cut_unrecorded)


def _set_aside_tail(path: Path, keep: int, quarantine: Path) -> None:
    """Move the bytes after `keep` (records an import wrote but never recorded) into quarantine."""
    size = path.stat().st_size
    if keep >= size:
        return
    quarantine.mkdir(parents=True, exist_ok=True)
    aside = quarantine / f"{path.name.removesuffix(OPEN_SUFFIX)}.{keep}.unrecorded"
    with open(path, "rb") as src, open(aside, "wb") as dst:
        src.seek(keep)
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    sync_dir(quarantine)
    with open(path, "r+b") as fh:
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
