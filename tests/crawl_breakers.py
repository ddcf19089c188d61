"""Test-only Scrapy components that make a real crawl's code fail on chosen pages (test_parse_failures).

Loaded into a real `zwcrawl crawl` through `-s` settings, with tests/ on PYTHONPATH; nothing is patched.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def _paths(crawler, name: str) -> set[str]:
    return {p.rstrip("/") for p in crawler.settings.getlist(name)}


class BreakCallbacks:
    """A downloader middleware taking the spider's bookkeeping off chosen responses: their callback raises."""

    def __init__(self, crawler):
        self.paths = _paths(crawler, "TEST_BREAK_CALLBACK_PATHS")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if urlsplit(request.url).path.rstrip("/") in self.paths:
            for key in ("zw_canonical", "zw_page"):  # what parse_article and parse_listing read first
                request.meta.pop(key, None)
        return response


class BreakStore:
    """A pipeline before zwcrawl's giving chosen articles an id SQLite cannot hold: the store raises."""

    def __init__(self, crawler):
        self.paths = _paths(crawler, "TEST_BREAK_STORE_PATHS")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        article = getattr(item, "article", None)
        if article is not None and urlsplit(article.url).path.rstrip("/") in self.paths:
            article.article_id = 10**20
        return item


class CtrlCAtClose:
    """An extension pressing Ctrl-C on its own process as the spider closes: a crawl already done."""

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals

        extension = cls()
        crawler.signals.connect(extension.press_ctrl_c, signal=signals.spider_closed)
        return extension

    def press_ctrl_c(self, spider) -> None:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGINT)
