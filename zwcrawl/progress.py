"""Live progress on a terminal: pages, new and updated articles, errors and the rate."""

from __future__ import annotations

import sys
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from zwcrawl.archive import Archive, crawl_figures


class Progress:
    """Rewrite one status line on stderr every second while the crawl runs."""

    def __init__(self, crawler):
        if not crawler.settings.getbool("ZW_PROGRESS"):
            raise NotConfigured
        self.crawler = crawler
        self.started = time.monotonic()
        self._loop = task.LoopingCall(self.show)
        crawler.signals.connect(self.opened, signals.spider_opened)
        crawler.signals.connect(self.closed, signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler) -> Progress:
        return cls(crawler)

    def opened(self, spider) -> None:
        self._loop.start(1.0, now=False)

    def closed(self, spider, reason) -> None:
        if self._loop.running:
            self._loop.stop()
        self.show()
        sys.stderr.write("\n")

    def show(self) -> None:
        """Draw the status line."""
        archive = Archive.of(self.crawler)  # its figures, counts of writes that hold included
        counts = archive.figures() if archive is not None else crawl_figures(self.crawler.stats)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        pages = counts.get("pages", 0)
        line = (
            f"pages {pages}  articles new {counts.get('articles/new', 0)} "
            f"updated {counts.get('articles/updated', 0)}  missing {counts.get('missing', 0)}  "
            f"errors {counts.get('failures', 0)}  {pages / elapsed:.1f} pages/s"
        )
        sys.stderr.write("\r\033[K" + line)
        sys.stderr.flush()
