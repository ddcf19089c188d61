"""WARC in, database out: records read in order become capture rows; article captures are extracted and saved.

The one path shared by `zwcrawl rebuild` and `zwcrawl import`. A crawl writes, beside each article page it
saves, a derived record (`metadata`, or a `resource` in later versions) holding the fields it extracted and
naming the response by `WARC-Concurrent-To`. That record marks the moment the crawl saved the page, so an
article is saved here when its derived record is read: observations and versions come out in the crawl's
order. Extraction runs in a pool of worker processes; this process reads headers and writes, in order.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sqlite3
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType

from zwcrawl.diskfull import is_disk_full
from zwcrawl.extract import ArticlePage, decode_html
from zwcrawl.site import Sites, canonical_article_url, classify
from zwcrawl.store import Store, response_facts
from zwcrawl.warc import CrawlInfo, RecordLocation, WarcWriter, described_url, scan_warc, target_uri
from zwcrawl.warc.reader import read_payload

logger = logging.getLogger(__name__)

# The Target-URI of the metadata records in which an import says where its copies came from.
PROVENANCE_URI = "urn:zwcrawl:imported-records"
_HTTP_RECORDS = ("response", "revisit")
_DERIVED_RECORDS = ("metadata", "resource")
_ABSENT = (404, 410)  # an article answered with these is missing, as a crawl records it
_RECENT = 512  # captures remembered for their derived records; an older one is looked up in the database
_BATCH = 16  # article pages sent to a worker at once
_COMMIT_EVERY = 2000  # rows per transaction while loading


@dataclass(frozen=True)
class WarcRecord:
    """What ingest reads of one WARC record: its headers, HTTP status and Content-Type, and where it lies."""

    record_type: str
    record_id: str
    url: str
    date: str
    warc_file: str  # relative to the archive dir
    offset: int
    length: int
    concurrent_to: str | None = None
    payload_digest: str | None = None
    refers_to: str | None = None
    refers_to_url: str | None = None
    refers_to_date: str | None = None
    status: int | None = None
    content_type: str | None = None
    block: bytes | None = None  # the block of warcinfo and derived records (small), else None
    location: str | None = None  # a redirect's Location header
    etag: str | None = None  # the response's validators, as its capture row keeps them
    last_modified: str | None = None

    @classmethod
    def from_headers(
        cls,
        header: Callable[[str], str | None],
        record_type: str,
        warc_file: str = "",
        offset: int = 0,
        **http,
    ) -> WarcRecord:
        """A record as its WARC headers name it (`header(name)`: FastWARC's or warcio's), with what `http`
        adds (status, content_type, ...); length 0 until the reader knows where the next record starts."""
        return cls(
            record_type=record_type,
            record_id=header("WARC-Record-ID") or "",
            url=target_uri(header("WARC-Target-URI")),
            date=header("WARC-Date") or "",
            warc_file=warc_file,
            offset=offset,
            length=0,
            concurrent_to=header("WARC-Concurrent-To"),
            payload_digest=header("WARC-Payload-Digest"),
            refers_to=header("WARC-Refers-To"),
            refers_to_url=target_uri(header("WARC-Refers-To-Target-URI")) or None,
            refers_to_date=header("WARC-Refers-To-Date"),
            **http,
        )

    @classmethod
    def written(
        cls, location: RecordLocation, *, status: int | None = None, **facts: str | None
    ) -> WarcRecord:
        """A record zwcrawl has just written, as it reads back: its capture row is `capture_row`'s."""
        original = location.refers_to
        return cls(
            record_type=location.record_type,
            record_id=location.record_id,
            url=location.url,
            date=location.date,
            warc_file=location.warc_file,
            offset=location.offset,
            length=location.length,
            concurrent_to=location.concurrent_to,
            payload_digest=location.payload_digest,
            refers_to=original.record_id if original else None,
            refers_to_url=original.url if original else None,
            refers_to_date=original.date if original else None,
            status=status,
            **facts,
        )


def read_warc(path: Path, warc_file: str, spans: list[tuple[int, int]] | None = None) -> Iterator[WarcRecord]:
    """The records of one WARC file in order, with each gzip member's offset and length (FastWARC).

    With `spans` (from sound_spans), only those byte ranges are read: FastWARC never sees the others."""
    with open(path, "rb") as fh:
        for start, end in spans if spans is not None else [(0, path.stat().st_size)]:
            fh.seek(start)
            held: WarcRecord | None = None
            for record in ArchiveIterator(_Window(fh, end - start), parse_http=True):
                at = start + record.stream_pos
                if held is not None:
                    yield _with_length(held, at - held.offset)
                held = _facts(record, warc_file, at)
            if held is not None:
                yield _with_length(held, end - held.offset)


def sound_spans(path: Path) -> tuple[list[tuple[int, int]], list[tuple[int, str]]]:
    """The byte ranges of a file's whole, well-formed records, and (offset, why) for each other member.

    Streamed with bounded memory (zwcrawl's own reader): a header line of gigabytes or a Content-Length of
    terabytes is reported here, never handed to a reader that would hold it in memory."""
    spans: list[tuple[int, int]] = []
    bad: list[tuple[int, str]] = []
    for scanned in scan_warc(path, digests=False):
        end = scanned.offset + scanned.length
        if not scanned.sound:
            bad.append((scanned.offset, "; ".join(scanned.problems)))
        elif spans and spans[-1][1] == scanned.offset:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((scanned.offset, end))
    return spans, bad


class _Window:
    """The next `size` bytes of a file, as a file: FastWARC reads one run of sound records and stops."""

    def __init__(self, fh, size: int):
        self._fh, self._size, self._left = fh, size, size

    def tell(self) -> int:
        return self._size - self._left  # from the window's start: read_warc adds where it begins

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._fh.read(n)
        self._left -= len(data)
        return data

    def readable(self) -> bool:
        return True


def _with_length(record: WarcRecord, length: int) -> WarcRecord:
    return WarcRecord(**{**record.__dict__, "length": length})


def _facts(record, warc_file: str, offset: int) -> WarcRecord:
    headers = record.headers
    kind = _TYPES.get(int(record.record_type), "unknown")
    status = block = location = None
    facts = dict.fromkeys(("content_type", "etag", "last_modified"))
    if record.is_http and kind in _HTTP_RECORDS:
        http = record.http_headers
        status = http.status_code
        facts = response_facts(http.items())
        location = http.get("Location") if 300 <= status < 400 else None
    elif kind in ("warcinfo", *_DERIVED_RECORDS):
        facts["content_type"] = headers.get("Content-Type")
        block = record.reader.read()
    return WarcRecord.from_headers(
        headers.get,
        kind,
        warc_file,
        offset,
        status=status,
        block=block,
        location=location,
        **facts,
    )


# FastWARC's record types are not hashable; their integer values are.
_TYPES = {
    int(WarcRecordType.warcinfo): "warcinfo",
    int(WarcRecordType.response): "response",
    int(WarcRecordType.resource): "resource",
    int(WarcRecordType.request): "request",
    int(WarcRecordType.metadata): "metadata",
    int(WarcRecordType.revisit): "revisit",
    int(WarcRecordType.conversion): "conversion",
    int(WarcRecordType.continuation): "continuation",
}


def imported_capture(record: WarcRecord, sites: Sites) -> bool:
    """Whether an imported record gets a capture row: a response or revisit of an HTML page of the site."""
    if record.record_type not in _HTTP_RECORDS or record.status is None:
        return False
    if "html" in (record.content_type or "").lower():
        return True
    site_url = sites.classify(record.url)  # a revisit may carry no headers: an article page is HTML
    return record.content_type is None and site_url is not None and site_url.kind == "article"


def capture_row(record: WarcRecord, crawl_id: int) -> dict:
    """The captures row of a record, as a crawl writes it."""
    revisit = record.record_type == "revisit"
    return {
        "crawl_id": crawl_id,
        # A metadata record names its page as urn:zwcrawl:fields:URL; its row holds the page's URL.
        "url": described_url(record.url) if record.record_type == "metadata" else record.url,
        "fetched_at": record.date,
        "record_type": record.record_type,
        "warc_file": record.warc_file,
        "warc_offset": record.offset,
        "warc_length": record.length,
        "warc_record_id": record.record_id,
        "payload_digest": record.payload_digest,
        "refers_to_record_id": record.refers_to if revisit else None,
        "refers_to_url": record.refers_to_url if revisit else None,
        "refers_to_date": record.refers_to_date if revisit else None,
        "status": record.status,
        "content_type": record.content_type,
        "concurrent_to": record.concurrent_to if record.record_type in _DERIVED_RECORDS else None,
        "etag": record.etag,
        "last_modified": record.last_modified,
    }


# -- the worker side: one article page, read from its WARC record, extracted ------------------------------


def extract_pages(jobs: list[tuple]) -> list[dict | str]:
    """Extract each (canonical URL, page file, offset, body file, body offset): fields, or why not."""
    return [_extract(*job) for job in jobs]


def _extract(url: str, path: str, offset: int, body_path: str, body_offset: int) -> dict | str:
    try:
        content_type, body = read_payload(path, offset)
        if (body_path, body_offset) != (path, offset):
            # A revisit: the body is its original's, and so is the Content-Type a 304 does not repeat.
            original_type, body = read_payload(body_path, body_offset)
            content_type = content_type or original_type
        charset = _charset(content_type)
        page = ArticlePage(url, decode_html(body, charset))
        article = page.to_item()
        fields = article.to_dict()  # the JSON form, as a metadata record holds it
        fields["whole"] = page.whole  # a page cut short is taken only where the crawl took it
        if not article.is_article:
            fields["not_found"] = article.not_found  # whether the site said so: a soft 404, not a parse error
        return fields
    except Exception as exc:  # noqa: BLE001 - one bad page is reported, never the end of a rebuild
        return f"{type(exc).__name__}: {exc}"


def _charset(content_type: str | None) -> str | None:
    lowered = (content_type or "").lower()
    if "charset=" not in lowered:
        return None
    return lowered.split("charset=", 1)[1].split(";")[0].strip(" \"'")


# -- the writer side -----------------------------------------------------------------------------------------


@dataclass
class _Capture:
    """A response or revisit read earlier, remembered until its derived record comes."""

    capture_id: int
    record: WarcRecord
    crawl_id: int
    derived: bool = False  # a derived record named it: the crawl saved it there


@dataclass
class _Save:
    """An article save waiting for its extraction: a place in a worker's batch, or the fields themselves."""

    capture: _Capture
    canonical: str
    fields: dict | None = None
    unread: bool = False  # a page the crawl did not save (a parse error): saved now only if now read
    batch: object | None = None
    index: int = 0


@dataclass
class IngestStats:
    """What an ingest did, counted."""

    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


class Ingest:
    """Feeds WARC records in order into a Store: capture rows at once, article saves in order."""

    def __init__(
        self,
        store: Store,
        archive_dir: Path,
        *,
        sites: Sites | None = None,
        from_metadata: bool = False,
        workers: int | None = None,
        writer: WarcWriter | None = None,
    ):
        self.store = store
        # With a writer (import), each save first writes the derived record a crawl writes beside its page.
        self.writer = writer
        self.archive_dir = Path(archive_dir)
        self.sites = sites or Sites()
        self.from_metadata = from_metadata
        self.stats = IngestStats()
        self._recent: OrderedDict[str, _Capture] = OrderedDict()
        self._saves: deque[_Save | tuple] = deque()
        self._jobs: list[tuple] = []
        self._job_saves: list[_Save] = []
        self._workers = workers if workers is not None else (os.cpu_count() or 1)
        self._pool = None
        if self._workers > 1 and not from_metadata:
            # fork: the workers start at once with the extractor imported; they never touch the database.
            self._pool = multiprocessing.get_context("fork").Pool(self._workers)
        self._rows = 0
        self._sites: dict[int, Sites] = {}  # where each crawl read the site, from its warcinfo
        self._imports: set[int] = set()  # crawls that are imports: only HTML captures have rows there
        self._copies: dict[str, WarcRecord] = {}  # an import's copies since its last provenance record
        self._transaction: ExitStack | None = None

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close(*exc_info)

    def close(self, *exc_info) -> None:
        """Commit what is written (roll it back after an error) and stop the workers."""
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            transaction.__exit__(*(exc_info or (None, None, None)))
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    # Crawls

    def open_crawl(self, info: CrawlInfo, first_date: str) -> int:
        """The crawl row a file's warcinfo names, made when first seen; returns its id."""
        options = info.options
        if options is not None and options.get("sites"):
            # Each crawl its own copies (crawls may have read different ports); --site given here wins.
            self._sites[info.crawl_id] = Sites({**options["sites"], **self.sites.bases})
        if options is not None and options.get("import"):
            self._imports.add(info.crawl_id)
        return self.store.start_crawl(options, info.started_at or first_date, crawl_id=info.crawl_id)

    def _sites_of(self, crawl_id: int) -> Sites:
        return self._sites.get(crawl_id, self.sites)

    # Records

    def add(self, record: WarcRecord, crawl_id: int) -> None:
        """Take one record, in WARC order, of the given crawl."""
        kind = record.record_type
        self.stats.counts[f"records/{kind}"] += 1
        if crawl_id in self._imports and kind != "warcinfo":
            self._copies[record.record_id] = record
        if kind in _HTTP_RECORDS:
            self._http(record, crawl_id)
        elif kind in _DERIVED_RECORDS and record.concurrent_to:
            self._derived(record, crawl_id)
        elif kind == "metadata" and record.url == PROVENANCE_URI:
            self._provenance(record, crawl_id)
        self._rows += 1
        if self._rows % _COMMIT_EVERY == 0:
            self._commit()

    def finish(self) -> IngestStats:
        """Send the last pages, save every article still waiting, and commit."""
        while self._recent:
            self._unread(self._recent.popitem(last=False)[1])
        self._send()
        self._drain(block=True)
        self._commit()
        return self.stats

    def _commit(self) -> None:
        """End the open transaction: a bulk load writes many rows in each, not one each."""
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            transaction.close()

    def _begin(self) -> None:
        if self._transaction is None:
            transaction = ExitStack()
            transaction.enter_context(self.store.batch())
            self._transaction = transaction

    def _http(self, record: WarcRecord, crawl_id: int) -> None:
        if crawl_id in self._imports and not imported_capture(record, self._sites_of(crawl_id)):
            return
        self._begin()
        capture_id = self.store.add_capture(capture_row(record, crawl_id))
        self.stats.counts["captures"] += 1
        capture = _Capture(capture_id, record, crawl_id)
        self._recent[record.record_id] = capture
        if len(self._recent) > _RECENT:
            self._unread(self._recent.popitem(last=False)[1])
        if record.status in _ABSENT or record.location:
            sites = self._sites_of(crawl_id)
            site_url = sites.classify(record.url)
            if site_url is not None and site_url.kind == "article":
                if record.status in _ABSENT:
                    self._saves.append(("missing", capture, site_url, "not found"))
                elif (away := sites.redirect_away(record.url, record.location)) is not None:
                    self._saves.append(("redirect", capture, site_url, away))  # as the crawl records it

    def _unread(self, capture: _Capture) -> None:
        """An article page no derived record named (the crawl could not read it): try today's extractor."""
        if capture.derived or capture.record.status != 200 or self.from_metadata:
            return
        canonical = _canonical(self._sites_of(capture.crawl_id), capture)
        if canonical is not None:
            self._save(_Save(capture, canonical, unread=True))

    def _derived(self, record: WarcRecord, crawl_id: int) -> None:
        """A record derived from a capture: its row, then (for an article's fields) the article's save."""
        self._begin()
        self.store.add_capture(capture_row(record, crawl_id))
        self.stats.counts["captures"] += 1
        fields = _json_fields(record.block)
        if fields is None:
            return
        capture = self._recent.get(record.concurrent_to) or self._lookup(record.concurrent_to)
        if capture is not None:
            capture.derived = True
        if capture is None:
            self.stats.problems.append(
                f"{record.warc_file} offset {record.offset}: fields of {record.concurrent_to}, "
                "a record with no capture here"
            )
            return
        canonical = canonical_article_url(str(fields.get("url") or "")) or _canonical(
            self._sites_of(capture.crawl_id), capture
        )
        if canonical is None:
            self.stats.counts["not_articles"] += 1
            return
        self._save(_Save(capture, canonical, fields if self.from_metadata else None))

    def _provenance(self, record: WarcRecord, crawl_id: int) -> None:
        """An import's note of where its copies came from: its row, and imported_records again."""
        self._begin()
        self.store.add_capture(capture_row(record, crawl_id))
        self.stats.counts["captures"] += 1
        try:
            note = json.loads(record.block or b"")
            entries = [(str(note["source_file"]), *entry) for entry in note["records"]]
        except (ValueError, KeyError, TypeError):
            self.stats.problems.append(f"{record.warc_file} offset {record.offset}: unreadable import note")
            return
        for source_file, record_id, record_type, url, source_offset in entries:
            copy = self._copies.get(record_id)
            if copy is None:
                continue
            self.store.record_import(
                {
                    "warc_record_id": record_id, "record_type": record_type, "url": url,
                    "source_file": source_file, "source_offset": source_offset, "warc_file": copy.warc_file,
                    "warc_offset": copy.offset, "warc_length": copy.length, "crawl_id": crawl_id,
                }
            )  # fmt: skip
        self._copies.clear()

    def save(self, capture_row: dict) -> bool:
        """Extract and save the article page of a capture row (import); False when its URL is no article."""
        capture = self._lookup(capture_row["warc_record_id"])
        canonical = _canonical(self._sites_of(capture.crawl_id), capture) if capture else None
        if canonical is None:
            return False
        self._save(_Save(capture, canonical))
        return True

    def _save(self, save: _Save) -> None:
        self._begin()
        if save.fields is None:
            self._queue(save)
        self._saves.append(save)
        self._drain(block=False)

    def _lookup(self, record_id: str) -> _Capture | None:
        row = self.store.capture(record_id)
        if row is None or row["record_type"] not in _HTTP_RECORDS:
            return None
        record = WarcRecord(
            record_type=row["record_type"],
            record_id=row["warc_record_id"],
            url=row["url"],
            date=row["fetched_at"],
            warc_file=row["warc_file"],
            offset=row["warc_offset"],
            length=row["warc_length"],
            payload_digest=row["payload_digest"],
            refers_to=row["refers_to_record_id"],
            refers_to_url=row["refers_to_url"],
            status=row["status"],
        )
        return _Capture(row["id"], record, row["crawl_id"])

    def _queue(self, save: _Save) -> None:
        record = save.capture.record
        body = record
        if record.record_type == "revisit":
            original = self.store.capture(record.refers_to) if record.refers_to else None
            if original is None and record.payload_digest:
                # Some crawlers name a revisit's original by URI and digest only, or not at all.
                original = self.store.original(record.refers_to_url or record.url, record.payload_digest)
            if original is None or original["record_type"] != "response":
                named = record.refers_to or record.refers_to_url or record.payload_digest
                save.fields = {"error": f"revisit's original ({named}) is not in the archive"}
                return
            body = WarcRecord("response", "", "", "", original["warc_file"], original["warc_offset"], 0)
        job = (
            save.canonical,
            str(self.archive_dir / record.warc_file),
            record.offset,
            str(self.archive_dir / body.warc_file),
            body.offset,
        )
        self._jobs.append(job)
        self._job_saves.append(save)
        if len(self._jobs) >= _BATCH:
            self._send()

    def _send(self) -> None:
        if not self._jobs:
            return
        jobs, saves = self._jobs, self._job_saves
        self._jobs, self._job_saves = [], []
        batch = self._pool.apply_async(extract_pages, (jobs,)) if self._pool else _Done(extract_pages(jobs))
        for index, save in enumerate(saves):
            save.batch, save.index = batch, index

    def _drain(self, *, block: bool) -> None:
        """Apply the saves at the head of the queue whose pages are extracted (all of them when blocking)."""
        limit = 4 * _BATCH * max(self._workers, 1)
        self._begin()
        while self._saves:
            head = self._saves[0]
            if isinstance(head, _Save) and head.fields is None:
                if head.batch is None:
                    self._send()
                if not (block or len(self._saves) > limit) and not head.batch.ready():
                    break
                head.fields = _result(head.batch.get()[head.index])
            self._saves.popleft()
            self._apply(head)

    def _apply(self, action: _Save | tuple) -> None:
        if isinstance(action, tuple):
            kind, capture, site_url, detail = action
            if kind == "redirect":
                self.store.record_redirect(
                    site_url.edition, site_url.article_id, site_url.canonical, capture.record.status, detail,
                    capture.crawl_id, capture.record.date,
                )  # fmt: skip
                return
            self._missing(capture, site_url.edition, site_url.article_id, site_url.canonical, detail)
            return
        fields, capture = action.fields, action.capture
        if "error" in fields:
            record = capture.record
            self.stats.problems.append(f"{record.warc_file} offset {record.offset}: {fields['error']}")
            return
        # A metadata record (written before the crawl told a soft 404 from a parse error) was a soft 404.
        not_found = fields.pop("not_found", True)
        whole = fields.pop("whole", True)
        if action.unread and not (whole and fields.get("is_article")):
            # Still unreadable, or cut short (the crawl fetched it again): as the crawl left it, unsaved.
            self.stats.counts["unread_pages"] += 1
            return
        if not fields.get("is_article") and not not_found:
            # As a crawl does: neither an article nor the site's "not found" page is never a missing id.
            record = capture.record
            self.stats.problems.append(f"{record.warc_file} offset {record.offset}: not an article page, nor "
                                       "the site's not-found page")  # fmt: skip
            return
        if self.writer is not None:
            self._write_derived(capture, fields)
        if not fields.get("is_article"):
            site_url = classify(action.canonical)
            self._missing(capture, site_url.edition, site_url.article_id, action.canonical, "soft 404")
            return
        try:
            outcome = self.store.save_article(
                fields,
                crawl_id=capture.crawl_id,
                capture_id=capture.capture_id,
                observed_at=capture.record.date,
            )
        except (ValueError, TypeError, OverflowError, sqlite3.Error) as exc:
            if is_disk_full(exc):
                raise  # not this page's fault: the whole run stops, saying so
            # What the store refuses (an id beyond SQLite's integers, say) is reported; the rest goes on.
            record = capture.record
            self.stats.problems.append(f"{record.warc_file} offset {record.offset}: not stored ({exc})")
            return
        self.stats.counts[f"articles/{outcome}"] += 1

    def _write_derived(self, capture: _Capture, fields: dict) -> None:
        """The record of the extracted fields beside the page, and its row, as a crawl writes them."""
        record = capture.record
        location = self.writer.write_metadata(record.url, record.record_id, fields)
        self.store.add_capture(
            capture_row(WarcRecord.written(location, content_type="application/json"), capture.crawl_id)
        )
        self.stats.counts["captures"] += 1

    def _missing(self, capture: _Capture, edition: str, article_id: int, url: str, reason: str) -> None:
        status, at = capture.record.status, capture.record.date
        # As a crawl does: an archived article the site answers as absent is removed, any other id missing.
        outcome = self.store.record_absent(edition, article_id, url, status, reason, capture.crawl_id, at)
        self.stats.counts[outcome] += 1


class _Done:
    """A batch extracted in this process: the pool's result interface, already complete."""

    def __init__(self, value: list):
        self._value = value

    def ready(self) -> bool:
        return True

    def get(self) -> list:
        return self._value


def _result(value: dict | str) -> dict:
    return value if isinstance(value, dict) else {"error": value}


def _json_fields(block: bytes | None) -> dict | None:
    """The article fields a derived record holds, or None when it holds something else."""
    if not block:
        return None
    try:
        fields = json.loads(block)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) and "is_article" in fields else None


def _canonical(sites: Sites, capture: _Capture) -> str | None:
    site_url = sites.classify(capture.record.url)
    return site_url.canonical if site_url is not None and site_url.kind == "article" else None
