"""One crawl's shared state: the archive lock, the SQLite store, the WARC writer and the counters."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from zwcrawl import __version__
from zwcrawl.lock import ArchiveLock
from zwcrawl.site import Sites, classify
from zwcrawl.store import DB_NAME, Store
from zwcrawl.warc import (
    Exchange,
    Original,
    RecordLocation,
    WarcWriter,
    described_url,
    merge_indexes,
    recover_archive,
)

logger = logging.getLogger(__name__)


def utc_now() -> str:
    """The current time as stored: UTC ISO-8601 to the second, with Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CrawlSession:
    """What the spider, the middlewares and the pipeline of one crawl share."""

    def __init__(self, archive_dir: Path, sites: Sites, *, warc_max_size: int, fsync: bool):
        self.archive_dir = Path(archive_dir)
        self.sites = sites
        self.warc_max_size = warc_max_size
        self.fsync = fsync
        self.counts: Counter[str] = Counter()
        self.started = datetime.now(UTC)
        self.crawl_id: int | None = None
        self.store: Store | None = None
        self.writer: WarcWriter | None = None
        self._lock = ArchiveLock(self.archive_dir)

    @classmethod
    def of(cls, crawler) -> CrawlSession:
        """The crawler's session, made on first use from its settings."""
        session = getattr(crawler, "zw_session", None)
        if session is None:
            settings = crawler.settings
            session = cls(
                Path(settings.get("ZW_ARCHIVE")),
                Sites(dict(settings.getdict("ZW_SITES"))),
                warc_max_size=settings.getint("ZW_WARC_MAX_SIZE"),
                fsync=settings.getbool("ZW_WARC_FSYNC"),
            )
            crawler.zw_session = session
        return session

    @property
    def is_open(self) -> bool:
        """Whether the archive is open for writing."""
        return self.store is not None

    def open(self, options: dict) -> None:
        """Lock the archive, repair a killed crawl's WARC tails, and start a crawl row."""
        (self.archive_dir / "warc").mkdir(parents=True, exist_ok=True)
        if not self._lock.held:
            self._lock.acquire()
        for report in recover_archive(self.archive_dir / "warc", self.archive_dir / "quarantine"):
            self.counts["recovered_files"] += 1
            if report.set_aside_bytes:
                logger.warning(
                    "crash recovery: %s: kept %d whole records, set aside %d bytes (%s) in %s",
                    report.path.name, report.kept_records, report.set_aside_bytes, report.problem,
                    report.set_aside_path,
                )  # fmt: skip
        self.store = Store(self.archive_dir / DB_NAME)
        # We hold the lock, so a crawl still marked running died without closing.
        self.store.mark_dead_crawls(utc_now())
        self.crawl_id = self.store.start_crawl(options, utc_now())
        self.writer = WarcWriter(
            self.archive_dir,
            max_size=self.warc_max_size,
            software=f"zwcrawl/{__version__}",
            info={"zwcrawl-crawl-id": str(self.crawl_id)},
            fsync=self.fsync,
        )

    def close(self, status: str) -> None:
        """Close the WARC file (indexing it), finish the crawl row and release the lock."""
        if self.writer is not None:
            self.writer.close()
            merge_indexes(self.archive_dir / "warc")
            self.writer = None
        if self.store is not None:
            self.store.finish_crawl(self.crawl_id, status, self.stats(), utc_now())
            self.store.close()
            self.store = None
        self._lock.release()

    def stats(self) -> dict:
        """The counters as stored with the crawl row."""
        return dict(sorted(self.counts.items()))

    def capture(self, exchange: Exchange) -> dict:
        """Write an exchange to WARC, then its capture row (that order: a row always has its record)."""
        previous = self.store.last_original(exchange.url)
        original = (
            Original(
                previous["payload_digest"],
                previous["warc_record_id"],
                previous["url"],
                previous["fetched_at"],
            )
            if previous
            else None
        )
        _request, response = self.writer.write_exchange(exchange, original)
        content_type = next((v for k, v in exchange.response_headers if k.lower() == "content-type"), None)
        capture_id = self.store.add_capture(
            self._row(response, status=exchange.status, content_type=content_type)
        )
        self.counts["pages"] += 1
        self.counts[f"records/{response.record_type}"] += 1
        return {
            "capture_id": capture_id,
            "record_id": response.record_id,
            "record_type": response.record_type,
        }

    def write_metadata(self, url: str, concurrent_to: str, fields: dict) -> int:
        """Write the extracted fields as a metadata record beside their response, and its row."""
        location = self.writer.write_metadata(url, concurrent_to, fields)
        # The row keeps the page's URL, as for every capture; the record's own URI is urn:zwcrawl:fields:URL.
        row = self._row(location, status=None, content_type="application/json", concurrent_to=concurrent_to)
        return self.store.add_capture({**row, "url": described_url(location.url)})

    def save_article(self, item: dict) -> None:
        """Store an article page's extraction beside a metadata record of it; a soft 404 is missing."""
        fields, capture = item["fields"], item.get("capture") or {}
        if capture:
            self.write_metadata(item["fetched_url"], capture["record_id"], fields)
        if not fields.get("is_article"):
            site_url = classify(fields["url"])
            self.save_missing(
                {
                    "edition": site_url.edition,
                    "article_id": site_url.article_id,
                    "url": fields["url"],
                    "status": item["status"],
                    "reason": "soft 404",
                    "observed_at": item["observed_at"],
                }
            )
            return
        outcome = self.store.save_article(
            fields,
            crawl_id=self.crawl_id,
            capture_id=capture.get("capture_id"),
            observed_at=item["observed_at"],
        )
        self.counts[f"articles/{outcome}"] += 1

    def save_missing(self, item: dict) -> None:
        """Record an article id that answered 404 or a soft 404."""
        self.counts["missing"] += 1
        self.store.record_missing(
            item["edition"],
            item["article_id"],
            item["url"],
            item["status"],
            item["reason"],
            self.crawl_id,
            item["observed_at"],
        )

    def record_failure(self, url: str, reason: str, attempts: int, status: int | None) -> None:
        """Add a fetch that stayed failed to the crawl's failure report."""
        self.counts["failures"] += 1
        logger.warning("failed after %d attempt(s): %s (%s)", attempts, url, reason)
        self.store.add_failure(self.crawl_id, url, reason, attempts, status, utc_now())

    def _row(self, location: RecordLocation, **extra) -> dict:
        refers = location.refers_to
        return {
            "crawl_id": self.crawl_id,
            "url": location.url,
            "fetched_at": location.date,
            "record_type": location.record_type,
            "warc_file": location.warc_file,
            "warc_offset": location.offset,
            "warc_length": location.length,
            "warc_record_id": location.record_id,
            "payload_digest": location.payload_digest,
            "refers_to_record_id": refers.record_id if refers else None,
            "refers_to_url": refers.url if refers else None,
            "refers_to_date": refers.date if refers else None,
            **extra,
        }
