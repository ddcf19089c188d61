"""Run one crawl into an archive: settings, the Scrapy process, and the outcome read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings, default_settings

from zwcrawl.archive import Archive
from zwcrawl.diskfull import disk_full_message, watching_log_files
from zwcrawl.interrupts import hand_over_interrupts, interrupted, raise_if_interrupted, restore_interrupts
from zwcrawl.site import Sites
from zwcrawl.spiders.zaman import ZamanSpider
from zwcrawl.store import DB_NAME, Store
from zwcrawl.wire import is_loopback


class CrawlError(Exception):
    """The crawl could not run; the message is one line for the user."""


@dataclass
class CrawlResult:
    """What a crawl did, as recorded in its `crawls` row."""

    crawl_id: int | None
    status: str
    stats: dict = field(default_factory=dict)
    log_file: Path | None = None
    ctrl_c: bool = False  # the user pressed Ctrl-C (or sent SIGTERM), perhaps only as the crawl was ending

    @property
    def reached_nothing(self) -> bool:
        """Whether the crawl ended without a single answer from the site, every fetch having failed."""
        return self.status == "finished" and not self.stats.get("pages") and bool(self.stats.get("failures"))

    @property
    def health_alarms(self) -> list[str]:
        """The extraction health alarms the crawl raised (zwcrawl/health.py), one per edition and field."""
        return list(self.stats.get("health/alarms") or [])

    @property
    def exit_code(self) -> int:
        """0: ran to its end (pages the site failed are recorded); 4: extraction health dropped (before 3);
        3: some pages zwcrawl could not read; 130: interrupted; 1: anything else, or the site answered
        nothing at all."""
        if self.ctrl_c:
            return 130  # even when it came as the crawl was closing: the user asked this run to stop
        if self.reached_nothing:
            return 1  # the site could not be reached at all: a scheduler should hear of it
        if self.status == "finished" and self.health_alarms:
            return 4  # the site's pages changed under the extractor: fix it, then `zwcrawl rebuild`
        if self.status == "finished" and self.stats.get("parse_errors"):
            return 3  # a fault of zwcrawl's, not the site's: their captures wait in WARC for `rebuild`
        return {"finished": 0, "interrupted": 130}.get(self.status, 1)


def crawl_settings(
    archive_dir: Path,
    sites: Sites,
    editions: tuple[str, ...],
    overrides: list[str],
    *,
    progress: bool,
    log_file: Path,
) -> Settings:
    """zwcrawl's Scrapy settings for one crawl, with the user's `-s NAME=VALUE` on top."""
    settings = Settings()
    settings.setmodule("zwcrawl.settings", priority="project")
    settings.set("ZW_ARCHIVE", str(archive_dir), priority="project")
    settings.set("ZW_SITES", dict(sites.bases), priority="project")
    settings.set("ZW_PROGRESS", progress, priority="project")
    settings.set("LOG_FILE", str(log_file), priority="project")
    settings.set("LOG_LEVEL", "INFO", priority="project")
    if all(
        edition in sites.bases and is_loopback(urlsplit(sites.bases[edition]).hostname or "")
        for edition in editions
    ):
        # A copy on this machine is crawled at full speed: the delays and the one request at a time per host
        # protect the live site (a copy serves both editions from one host, 127.0.0.1, so it would take
        # one request at a time in all); Scrapy's own limit per host applies instead.
        settings.set("DOWNLOAD_DELAY", 0, priority="project")
        settings.set("AUTOTHROTTLE_ENABLED", False, priority="project")
        settings.set(
            "CONCURRENT_REQUESTS_PER_DOMAIN",
            default_settings.CONCURRENT_REQUESTS_PER_DOMAIN,
            priority="project",
        )
        settings.set("ZW_EXTRACT_WORKER", True, priority="project")  # extraction on the second core
    for name, value in parse_overrides(overrides).items():
        settings.set(name, value, priority="cmdline")
    return settings


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """Read `-s NAME=VALUE` options; ValueError with a one-line reason when one is malformed."""
    parsed = {}
    for override in overrides:
        name, sep, value = override.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"-s {override!r}: expected NAME=VALUE")
        parsed[name.strip()] = value
    return parsed


def run_crawl(
    archive_dir: Path,
    *,
    editions: tuple[str, ...],
    sites: Sites,
    ids: range | None = None,
    refresh: bool = False,
    refresh_due: bool = False,
    full: bool = False,
    overrides: list[str] | None = None,
    progress: bool = False,
    schedule: str | None = None,
) -> CrawlResult:
    """Crawl the editions into the archive; raises CrawlError when the crawl cannot start."""
    try:
        (archive_dir / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrawlError(f"cannot create the archive {archive_dir}: {exc.strerror or exc}") from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_file = archive_dir / "logs" / f"crawl-{stamp}.log"
    settings = crawl_settings(
        archive_dir, sites, editions, overrides or [], progress=progress, log_file=log_file
    )
    log_full = _LogFull()
    with watching_log_files(log_full):
        process = CrawlerProcess(settings)
        crawler = log_full.crawler = process.create_crawler(ZamanSpider)
        raise_if_interrupted()  # a Ctrl-C while Scrapy was loading: no crawl row, exit 130
        process.crawl(
            crawler, editions=",".join(editions), ids=ids, refresh=refresh, full=full, refresh_due=refresh_due
        )
        _stop_if_interrupted_at_start(process)
        process.start()
    restore_interrupts()  # the reactor has returned, and with it Twisted's handlers
    archive = Archive.of(crawler)
    if archive is not None and archive.is_open:
        # A second Ctrl-C stops the reactor before the spider closes: close the WARC file and the row.
        archive.close("interrupted")
    if archive is not None and archive.open_error:
        raise CrawlError(archive.open_error)  # the archive is busy, damaged or out of reach
    if archive is not None and archive.stop_error:
        raise CrawlError(archive.stop_error)  # the disk filled: the next crawl resumes once there is room
    if log_full.filename is not None:
        raise CrawlError(disk_full_message("a log line", log_full.filename))  # before the archive existed
    crawl_id = archive.crawl_id if archive is not None else None
    if crawl_id is None:
        raise_if_interrupted()  # stopped by the user before the crawl row was written
        raise CrawlError(f"the crawl did not start (the log says why: {log_file})")
    if schedule is not None:
        _name_schedule(archive_dir, crawl_id, schedule)
    result = _result(archive_dir, crawl_id, log_file)
    result.ctrl_c = interrupted()
    return result


class _LogFull:
    """Told of a log line the full disk refused: the archive stops the crawl (remembered if not built yet)."""

    def __init__(self) -> None:
        self.crawler: Crawler | None = None
        self.filename: str | None = None

    def __call__(self, filename: str) -> None:
        try:
            archive = Archive.of(self.crawler) if self.crawler is not None else None
        except RuntimeError:  # its extensions are not built yet
            archive = None
        if archive is not None:
            archive.disk_full("a log line", filename)
        elif self.filename is None:
            self.filename = filename


def _name_schedule(archive_dir: Path, crawl_id: int, schedule: str) -> None:
    """Name on the crawl's row the schedule that started it (`zwcrawl schedule run` passes --schedule)."""
    with Store(archive_dir / DB_NAME) as store:
        store.name_schedule(crawl_id, schedule)


def _stop_if_interrupted_at_start(process: CrawlerProcess) -> None:
    """Interrupts noted after the last check but before Scrapy's handlers: hand them on to Scrapy."""
    from twisted.internet import reactor

    # callLater(0): run after Scrapy's own "after startup" trigger has installed its signal handlers.
    reactor.callWhenRunning(reactor.callLater, 0, hand_over_interrupts)


def _result(archive_dir: Path, crawl_id: int, log_file: Path) -> CrawlResult:
    with Store(archive_dir / DB_NAME, read_only=True) as store:
        row = store.crawl(crawl_id)
    if row is None:
        return CrawlResult(crawl_id, "failed", {}, log_file)
    return CrawlResult(crawl_id, row["status"], row["stats"], log_file)
