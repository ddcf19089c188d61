"""The item pipeline: a thin adapter from the spider's items to the archive session."""

from __future__ import annotations

from zwcrawl.session import CrawlSession


class ArchivePipeline:
    """Store each article (and its metadata record) or each missing id."""

    def __init__(self, session: CrawlSession):
        self.session = session

    @classmethod
    def from_crawler(cls, crawler) -> ArchivePipeline:
        return cls(CrawlSession.of(crawler))

    def process_item(self, item: dict) -> dict:
        if item["kind"] == "article":
            self.session.save_article(item)
        elif item["kind"] == "missing":
            self.session.save_missing(item)
        return item
