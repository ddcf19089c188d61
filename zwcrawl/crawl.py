"""Run one crawl into an archive: settings, lock, Scrapy process, and the outcome read back."""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from zwcrawl.interrupts import hand_over_interrupts, raise_if_interrupted, restore_interrupts
from zwcrawl.lock import ArchiveLock
from zwcrawl.site import Sites
from zwcrawl.spiders.zaman import ZamanSpider
from zwcrawl.store import DB_NAME


class CrawlError(Exception):
    """The crawl could not run; the message is one line for the user."""


@dataclass
class CrawlResult:
    """What a crawl did, as recorded in its `crawls` row."""

    crawl_id: int | None
    status: str
    stats: dict = field(default_factory=dict)
    log_file: Path | None = None

    @property
    def reached_nothing(self) -> bool:
        """Whether the crawl ended without a single answer from the site, every fetch having failed."""
        return self.status == "finished" and not self.stats.get("pages") and bool(self.stats.get("failures"))

    @property
    def exit_code(self) -> int:
        """0 when the crawl ran to its end (failed pages are recorded), 130 when interrupted, else 1."""
        if self.reached_nothing:
            return 1  # the site could not be reached at all: a scheduler should hear of it
        return {"finished": 0, "interrupted": 130}.get(self.status, 1)


def _is_loopback(base: str) -> bool:
    host = urlsplit(base).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    if all(edition in sites.bases and _is_loopback(sites.bases[edition]) for edition in editions):
        # A copy on this machine is crawled at full speed: the delays protect the live site.
        settings.set("DOWNLOAD_DELAY", 0, priority="project")
        settings.set("AUTOTHROTTLE_ENABLED", False, priority="project")
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
    ids: str | None = None,
    refresh: bool = False,
    full: bool = False,
    overrides: list[str] | None = None,
    progress: bool = False,
) -> CrawlResult:
    """Crawl the editions into the archive; raises CrawlError when the crawl cannot start."""
    try:
        (archive_dir / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrawlError(f"cannot create the archive {archive_dir}: {exc.strerror or exc}") from None
    lock = ArchiveLock(archive_dir).acquire()  # ArchiveBusy says who holds it
    try:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        log_file = archive_dir / "logs" / f"crawl-{stamp}.log"
        settings = crawl_settings(
            archive_dir, sites, editions, overrides or [], progress=progress, log_file=log_file
        )
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(ZamanSpider)
        raise_if_interrupted()  # a Ctrl-C while Scrapy was loading: no crawl row, exit 130
        process.crawl(crawler, editions=",".join(editions), ids=ids, refresh=refresh, full=full)
        _stop_if_interrupted_at_start(process)
        process.start()
        restore_interrupts()  # the reactor has returned, and with it Twisted's handlers
        _close_after_forced_stop(crawler)
        error = crawler.stats.get_value("zwcrawl/open_error")
        if error:
            raise CrawlError(f"cannot open the archive: {error}")
        session = getattr(crawler, "zw_session", None)
        crawl_id = session.crawl_id if session else None
        if crawl_id is None:
            raise_if_interrupted()  # stopped by the user before the crawl row was written
            raise CrawlError(f"the crawl did not start (the log says why: {log_file})")
        return _result(archive_dir, crawl_id, log_file)
    finally:
        lock.release()


def _stop_if_interrupted_at_start(process: CrawlerProcess) -> None:
    """Interrupts noted after the last check but before Scrapy's handlers: hand them on to Scrapy."""
    from twisted.internet import reactor

    # callLater(0): run after Scrapy's own "after startup" trigger has installed its signal handlers.
    reactor.callWhenRunning(reactor.callLater, 0, hand_over_interrupts)


def _close_after_forced_stop(crawler) -> None:
    """A second Ctrl-C stops the reactor before the spider closes: close the WARC file and the crawl row."""
    session = getattr(crawler, "zw_session", None)
    if session is not None and session.is_open:
        session.close("interrupted")


def _result(archive_dir: Path, crawl_id: int, log_file: Path) -> CrawlResult:
    with sqlite3.connect(archive_dir / DB_NAME) as conn:
        row = conn.execute("select status, stats from crawls where id = ?", (crawl_id,)).fetchone()
    status, stats = row if row else ("failed", "{}")
    return CrawlResult(crawl_id, status, json.loads(stats or "{}"), log_file)
