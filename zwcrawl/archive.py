"""The archive a crawl writes into, as a Scrapy extension: lock, WARC writer, store and crawl row."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro

from zwcrawl import __version__
from zwcrawl.diskfull import DiskFull, disk_full_message, is_disk_full
from zwcrawl.ingest import WarcRecord, capture_row
from zwcrawl.items import CaptureRef
from zwcrawl.lock import ArchiveBusy, ArchiveLock, LockRefused
from zwcrawl.refresh_policy import History, RefreshPolicy, is_due
from zwcrawl.store import DB_NAME, Store, response_facts
from zwcrawl.warc import (
    Exchange,
    Original,
    WarcWriter,
    crawl_warcinfo,
    is_conditional,
    merge_indexes,
    recover_archive,
)
from zwcrawl.warc.paths import OutsideLink, refuse_links_leaving
from zwcrawl.warc.reader import read_payload
from zwcrawl.write_queue import WriteQueue

logger = logging.getLogger(__name__)

STATS_PREFIX = "zwcrawl/"  # the crawl's own figures in crawler.stats; the crawl row keeps them unprefixed

# How Scrapy's close reasons read in the crawls table; any other reason is a crawl stopped short.
_END_STATUS = {
    "finished": "finished",
    "shutdown": "interrupted",
    "disk_full": "interrupted",
    "archive_unavailable": "failed",
}


def utc_now() -> str:
    """The current time as stored: UTC ISO-8601 to the second, with Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Known:
    """What the archive held when the crawl started, per edition: it decides what is fetched."""

    archived: dict[str, set[int]]  # article ids in the archive
    missing: dict[str, set[int]]  # article ids the site last answered as absent, or redirected elsewhere
    walked: dict[str, set[int]]  # section ids some crawl walked to the end


def _what_filled(exc: BaseException, directory: Path) -> tuple[str, object]:
    """What a full-disk error was writing, and where, for the user's line."""
    filename = getattr(exc, "filename", None)
    if filename is not None:
        return ("a WARC record" if "/warc/" in str(filename) else "a file"), filename
    return "the database", directory / DB_NAME


def crawl_figures(stats: StatsCollector) -> dict:
    """zwcrawl's own figures among a crawl's stats (the zwcrawl/ keys), without their prefix."""
    return {
        name.removeprefix(STATS_PREFIX): value
        for name, value in sorted(stats.get_stats().items())
        if name.startswith(STATS_PREFIX)
    }


class Archive:
    """Opened when the spider opens, closed when it closes; the one place the archive lock is taken."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.directory = Path(settings.get("ZW_ARCHIVE"))
        # Named in every write's full-disk message: made once, not for each write.
        self.db_path, self.warc_dir = self.directory / DB_NAME, self.directory / "warc"
        self.warc_max_size = settings.getint("ZW_WARC_MAX_SIZE")
        self.fsync = settings.getbool("ZW_WARC_FSYNC")
        self.crawl_id: int | None = None
        self.store: Store | None = None
        self.writer: WarcWriter | None = None
        self.open_error: str | None = None  # one line for the user when the archive could not be opened
        self.stop_error: str | None = None  # one line for the user when the crawl stopped on a full disk
        self._lock = ArchiveLock(self.directory)
        # Writes run on a thread of their own (see in_turn); their counts wait for their group to hold, then
        # are added up here until the reactor's thread, which owns the stats, asks for the figures.
        self._writes: WriteQueue | None = None
        self._group_counts: list[tuple[str, int]] = []
        self._counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        self._reactor_thread = threading.get_ident()
        self._loop: asyncio.AbstractEventLoop | None = None  # the reactor's asyncio loop, once open
        # Calls from other threads for the reactor's, run in order; one wake-up of the reactor for all those
        # waiting (see _on_reactor).
        self._for_reactor: deque[Callable[[], None]] = deque()
        self._reactor_woken = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.request_dropped, signal=signals.request_dropped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Archive:
        return cls(crawler)

    @classmethod
    def of(cls, crawler: Crawler) -> Archive | None:
        """The crawl's archive extension (None when the EXTENSIONS setting leaves it out)."""
        return crawler.get_extension(cls)

    @property
    def is_open(self) -> bool:
        """Whether the archive is open for writing (not once the disk filled: nothing more is written)."""
        return self.store is not None and self.stop_error is None

    @contextlib.contextmanager
    def writing(self, where: str, path: object) -> Iterator[None]:
        """Stop the crawl, saying where, when the disk fills inside the block (DiskFull is raised)."""
        try:
            yield
        except DiskFull:
            raise
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            self.disk_full(where, path)
            raise DiskFull(self.stop_error) from exc

    def disk_full(self, where: str, path: object) -> None:
        """Remember the first full-disk line and close the spider; what was written before stays."""
        if self.stop_error is not None:
            return
        self.stop_error = disk_full_message(where, path)
        with contextlib.suppress(Exception):
            logger.error("%s", self.stop_error)  # the log may be on the full disk too
        self._on_reactor(self._close_spider)

    def _close_spider(self) -> None:
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="disk_full"))

    def _on_reactor(self, call: Callable[[], None]) -> None:
        """Run `call` on the reactor's thread: now when on it, else as soon as the reactor gets to it.

        From the writer thread, each group of writes settles its futures: the calls queue here and the
        reactor is woken once for those waiting, not once a call."""
        if threading.get_ident() == self._reactor_thread:
            call()
            return
        self._for_reactor.append(call)
        if not self._reactor_woken:  # read after the append: a run that already began still sees the call
            self._reactor_woken = True
            if self._loop is not None:
                # Straight onto the reactor's asyncio loop: Twisted's callFromThread goes the same way, then
                # schedules a timed call of 0 s through its own heap as well, several times the cost.
                self._loop.call_soon_threadsafe(self._run_for_reactor)
                return
            from twisted.internet import reactor  # here: importing it at module level installs the wrong one

            reactor.callFromThread(self._run_for_reactor)

    def _run_for_reactor(self) -> None:
        self._reactor_woken = False  # before the queue is read: a call added meanwhile wakes it again
        calls = self._for_reactor
        while calls:
            call = calls.popleft()
            try:
                call()
            except Exception:  # noqa: BLE001 - as Twisted did for each callFromThread: logged, the rest run
                logger.exception("a call handed to the reactor failed")

    async def in_turn(self, job: Callable, *args, record: str | None = None):
        """Run a write on the archive's writer thread, after every write handed to it before; its result.

        While records are synced and rows committed, the reactor goes on downloading and parsing. One thread
        keeps the order the crawl gave its writes (a page's capture before its metadata record and its
        article); the writes waiting together form a group: one transaction, whose records are synced before
        it commits (`_group`), with at most one write of each `record` kind ("page": a response or revisit;
        "metadata"), so a crash leaves no more than one page's records without rows. The result comes back
        once the group holds.
        """
        # An asyncio future settled from the writer thread (Scrapy runs callbacks and middlewares as asyncio
        # tasks): no Deferred for each of a page's writes.
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        future = self._writes.submit(self._unless_stopped, job, *args, record=record)
        future.add_done_callback(lambda f: self._on_reactor(functools.partial(_settle, done, f)))
        return await done

    def _unless_stopped(self, job: Callable, *args):
        if self.stop_error is not None:
            raise DiskFull(self.stop_error)  # a write queued before the disk filled: nothing more is written
        return job(*args)

    @contextlib.contextmanager
    def _group(self) -> Iterator[None]:
        """A group of writes: one transaction; every record synced before it commits; its counts after."""
        self._group_counts = []
        with (
            self.writing("the database", self.db_path),
            self.store.batch(),
            self.writing("a WARC record", self.warc_dir),
            self.writer.one_sync(),  # closed first: the records are synced before the transaction commits
        ):
            yield
        self._add_counts(self._group_counts)

    # -- signals ---------------------------------------------------------------------------------

    def spider_opened(self, spider) -> None:
        """Open the archive, or close the crawl at once (reason archive_unavailable) saying why."""
        if self.stop_error is not None:
            self._refuse(self.stop_error)  # the log's disk filled before the spider opened: nothing written
        try:
            self.open(spider.options() if hasattr(spider, "options") else {})
        except (ArchiveBusy, LockRefused, OutsideLink, OSError) as exc:
            self._refuse(self._open_error_line(exc))
        except Exception as exc:  # noqa: BLE001 - a damaged database, say: one line for the user, all in the log
            if not is_disk_full(exc):
                logger.exception("cannot open the archive")
            self._refuse(self._open_error_line(exc))

    def _open_error_line(self, exc: Exception) -> str:
        if isinstance(exc, ArchiveBusy | LockRefused | OutsideLink):
            return str(exc)
        if is_disk_full(exc):
            return disk_full_message(*_what_filled(exc, self.directory))
        if isinstance(exc, OSError):
            return f"cannot open the archive: {exc}"
        return f"cannot open the archive: {exc or type(exc).__name__}"

    def _refuse(self, message: str) -> None:
        self.open_error = message
        logger.error("%s", message)
        self.close(None)
        raise CloseSpider("archive_unavailable")

    def spider_closed(self, spider, reason: str) -> None:
        """Close the WARC file and the crawl row with the crawl's figures, then let the next crawl in."""
        self.close(_END_STATUS.get(reason, "interrupted"))

    def request_dropped(self, request, spider=None) -> None:
        """A redirect back to a URL of its own chain is a loop: the duplicate filter ends it, we report it."""
        chain = request.meta.get("redirect_urls") or []
        if request.url in chain and self.is_open:
            hops = " -> ".join([*chain, request.url])
            self.record_failure(chain[0], f"redirect loop: {hops}", len(chain), None)

    # -- opening and closing ---------------------------------------------------------------------

    def open(self, options: dict) -> None:
        """Lock the archive, repair a killed crawl's WARC tails, and start a crawl row."""
        (self.directory / "warc").mkdir(parents=True, exist_ok=True)
        self._lock.acquire()  # ArchiveBusy names the process holding it
        refuse_links_leaving(self.directory)  # before recovery, which may truncate what it finds there
        for report in recover_archive(self.directory / "warc", self.directory / "quarantine"):
            self.count("recovered_files")
            if report.set_aside_bytes:
                logger.warning(
                    "crash recovery: %s: kept %d whole records, set aside %d bytes (%s) in %s",
                    report.path.name, report.kept_records, report.set_aside_bytes, report.problem,
                    report.set_aside_path,
                )  # fmt: skip
        self.store = Store(self.directory / DB_NAME)
        # We hold the lock, so a crawl still marked running died without closing.
        self.store.mark_dead_crawls(utc_now())
        started_at = utc_now()
        self.crawl_id = self.store.start_crawl(options, started_at)
        self.writer = WarcWriter(
            self.directory,
            max_size=self.warc_max_size,
            software=f"zwcrawl/{__version__}",
            # What `zwcrawl rebuild` needs to bring the crawl row back from the WARC files alone.
            info=crawl_warcinfo(self.crawl_id, started_at, options),
            fsync=self.fsync,
        )
        self._reactor_thread = threading.get_ident()
        self._loop = _running_loop()
        self._writes = WriteQueue(self._group, name="zwcrawl-archive")

    def close(self, status: str | None) -> None:
        """Close the WARC file (indexing it), finish the crawl row and release the lock.

        On a full disk each step is tried on its own: an index left unwritten is made again by the next
        crawl's recovery, a crawl row left 'running' is marked interrupted by the next crawl."""
        if self._writes is not None:
            self._writes.close()  # the writes handed over finish first
            self._writes = None
        writer, store = self.writer, self.store
        self.writer = self.store = None
        try:
            if writer is not None:
                with self._unless_full("the CDXJ index", self.directory / "warc"):
                    writer.close()
                with self._unless_full("the CDXJ index", self.directory / "warc" / "index.cdxj"):
                    merge_indexes(self.directory / "warc")
            if store is not None:
                if self.crawl_id is not None and status is not None:
                    if self.stop_error is not None:
                        status = "interrupted"  # the disk filled, even if only while indexing at the end
                    with self._unless_full("the database", self.directory / DB_NAME):
                        store.finish_crawl(self.crawl_id, status, self.figures(), utc_now())
                store.close()
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def _unless_full(self, where: str, path: object) -> Iterator[None]:
        """Closing on a full disk: note it (once) and go on with the next step."""
        try:
            yield
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            if self.stop_error is None:
                self.stop_error = disk_full_message(where, path)

    def known(self, editions: tuple[str, ...]) -> Known:
        """What the archive holds for the editions now (ask at the start of a crawl)."""
        store = self.store
        return Known(
            archived={edition: store.archived_ids(edition) for edition in editions},
            missing={
                edition: store.missing_ids(edition) | store.redirected_ids(edition) for edition in editions
            },
            walked={edition: store.walked_sections(edition) for edition in editions},
        )

    def due(self, edition: str, policy: RefreshPolicy, now: datetime) -> Iterator[int]:
        """The edition's archived articles due for a refresh at `now`, newest id first (read as needed)."""
        for article_id, born, last_seen, unchanged in self.store.refresh_histories(edition):
            history = History(_instant(born), _instant(last_seen), unchanged)
            if is_due(history, now, policy):
                yield article_id

    # -- the crawl's figures ---------------------------------------------------------------------

    def count(self, name: str, by: int = 1) -> None:
        """Add to one of the crawl's figures (zwcrawl/NAME in crawler.stats once read), from any thread."""
        if self._writes is not None and self._writes.on_thread():
            self._group_counts.append((name, by))  # added once the group holds
            return
        self._add_counts([(name, by)])

    def _add_counts(self, counts: list[tuple[str, int]]) -> None:
        # Added up here, not in crawler.stats: Scrapy's stats are the reactor thread's, and each call on them
        # passes a deprecation check (several a page). figures() moves them over when they are read.
        with self._counts_lock:
            for name, by in counts:
                self._counts[name] = self._counts.get(name, 0) + by

    def figures(self) -> dict:
        """The crawl's own figures, as the crawl row stores them (on the reactor's thread)."""
        with self._counts_lock:
            counts, self._counts = self._counts, {}
        stats = self.crawler.stats
        for name, by in counts.items():
            stats.inc_value(STATS_PREFIX + name, by)
        return crawl_figures(self.crawler.stats)

    # -- writes ----------------------------------------------------------------------------------

    def capture(self, exchange: Exchange) -> CaptureRef:
        """Write an exchange to WARC, then its capture row (that order: a row always has its record)."""
        # A 304 stands for the full capture whose validators the request sent; any other answer is
        # compared with the latest capture of its URL.
        not_modified = exchange.status == 304 and is_conditional(exchange)
        store = self.store
        previous = store.validators(exchange.url) if not_modified else store.last_original(exchange.url)
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
        with self.writing("a WARC record", self.warc_dir):
            _request, response = self.writer.write_exchange(exchange, original)
        record = WarcRecord.written(
            response, status=exchange.status, **response_facts(exchange.response_headers)
        )
        with self.writing("the database", self.db_path):
            capture_id = self.store.add_capture(capture_row(record, self.crawl_id))
        self.count("pages")
        self.count(f"records/{response.record_type}")
        if not_modified and response.record_type == "revisit":
            self.count("not_modified")
        return CaptureRef(capture_id, response.record_id, response.record_type, response.date)

    def unchanged_page(self, capture: CaptureRef | None) -> tuple[str | None, bytes] | None:
        """The Content-Type and body a server-not-modified revisit stands for: its original's, read from the
        WARC files (decoded as a browser would); None when `capture` refers to no response."""
        if capture is None or capture.record_type != "revisit":
            return None
        row = self.store.capture(capture.record_id)
        original = (
            self.store.capture(row["refers_to_record_id"]) if row and row["refers_to_record_id"] else None
        )
        if original is None:
            return None
        return read_payload(self.directory / original["warc_file"], original["warc_offset"])

    def write_metadata(self, url: str, concurrent_to: str, fields: dict) -> int:
        """Write extracted fields as a metadata record beside their response, and its capture row."""
        with self.writing("a WARC record", self.warc_dir):
            location = self.writer.write_metadata(url, concurrent_to, fields)
        row = capture_row(WarcRecord.written(location, content_type="application/json"), self.crawl_id)
        with self.writing("the database", self.db_path):
            return self.store.add_capture(row)

    def record_failure(
        self,
        url: str,
        reason: str,
        attempts: int,
        status: int | None,
        *,
        capture_id: int | None = None,
        parse_error: bool = False,
    ) -> None:
        """Add a page that stayed failed, or that zwcrawl could not read, to the crawl's failure report."""
        if self._writes is not None and not self._writes.on_thread():
            # From the reactor's thread (robots.txt, a redirect loop): the writer thread owns the database.
            later = functools.partial(
                self.record_failure,
                url,
                reason,
                attempts,
                status,
                capture_id=capture_id,
                parse_error=parse_error,
            )
            future = self._writes.submit(self._unless_stopped, later)
            future.add_done_callback(_log_failed_write)
            return
        self.count("failures")
        if parse_error:
            self.count("parse_errors")
        logger.warning("failed after %d attempt(s): %s (%s)", attempts, url, reason)
        with self.writing("the database", self.db_path):
            self.store.add_failure(
                self.crawl_id, url, reason, attempts, status, utc_now(), capture_id=capture_id
            )


def _log_failed_write(future: Future) -> None:
    error = future.exception()
    if error is not None and not isinstance(error, DiskFull):  # a full disk has said so already
        logger.error("could not write to the archive: %s", error, exc_info=error)


def _instant(text: str) -> datetime:
    """A stored ISO 8601 time as an aware datetime (UTC where the text names no offset)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running on this thread (the reactor's), None outside one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _settle(done: asyncio.Future, future: Future) -> None:
    """Copy a writer thread's outcome onto the reactor's future (unless its waiter was cancelled since)."""
    if done.done():
        return
    error = future.exception()
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(future.result())
