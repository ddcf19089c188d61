"""The item pipeline: persists the spider's typed items through the archive's store, and counts them."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from zwcrawl.archive import Archive
from zwcrawl.items import ArticleFetched, ArticleRedirected, FetchFailed, IdMissing, SectionWalked
from zwcrawl.site import classify

logger = logging.getLogger(__name__)

Item = ArticleFetched | SectionWalked | IdMissing | ArticleRedirected | FetchFailed


class ArchivePipeline:
    """Store each article (beside a metadata record of it), missing id, section walk or failure."""

    def __init__(self, archive: Archive):
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        archive = Archive.of(crawler)
        if archive is None:
            raise NotConfigured("the zwcrawl.archive.Archive extension is off")
        return cls(archive)

    def process_item(self, item: Item) -> Item:
        try:
            self._persist(item)
        except Exception as exc:
            if isinstance(item, FetchFailed):
                raise  # the failure report itself cannot be written: nothing left to record it in
            # A page the store could not take (an id too large for SQLite, say) is reported, never lost:
            # its response is in the WARC for `rebuild` once the code is fixed.
            logger.exception("could not store %s", _url(item))
            self._persist(_parse_error(item, exc))
        return item

    def _persist(self, item: Item) -> None:
        archive, store = self.archive, self.archive.store
        if isinstance(item, ArticleFetched):
            self._save_article(item)
        elif isinstance(item, IdMissing):
            archive.count("missing")
            store.record_missing(
                item.edition, item.article_id, item.url, item.status, item.reason, archive.crawl_id,
                item.observed_at,
            )  # fmt: skip
        elif isinstance(item, ArticleRedirected):
            archive.count("redirected")
            store.record_redirect(
                item.edition, item.article_id, item.url, item.status, item.target_url, archive.crawl_id,
                item.observed_at,
            )  # fmt: skip
        elif isinstance(item, SectionWalked):
            store.mark_section(item.edition, item.section_id, item.name, item.walked_to_end, item.at)
        elif isinstance(item, FetchFailed):
            archive.record_failure(
                item.url, item.reason, item.attempts, item.status, capture_id=item.capture_id,
                parse_error=item.parse_error,
            )  # fmt: skip
        else:
            raise TypeError(f"not a zwcrawl item: {type(item).__name__}")

    def _save_article(self, item: ArticleFetched) -> None:
        """The metadata record first (the fields as read), then the article, or its id as missing."""
        archive, article = self.archive, item.article
        if item.capture is not None:
            archive.write_metadata(item.fetched_url, item.capture.record_id, article.to_dict())
        if not article.is_article:
            site_url = classify(article.url)
            missing = IdMissing(
                site_url.edition, site_url.article_id, article.url, item.status, "soft 404", item.observed_at
            )
            self._persist(missing)
            return
        outcome = archive.store.save_article(
            article,
            crawl_id=archive.crawl_id,
            capture_id=item.capture.capture_id if item.capture else None,
            observed_at=item.observed_at,
        )
        archive.count(f"articles/{outcome}")  # counted once stored, never before


def _url(item: Item) -> str:
    return item.fetched_url if isinstance(item, ArticleFetched) else getattr(item, "url", "?")


def _parse_error(item: Item, exc: Exception) -> FetchFailed:
    """The failure row for an item the store refused."""
    capture = item.capture if isinstance(item, ArticleFetched) else None
    return FetchFailed(
        _url(item),
        f"parse error: {type(exc).__name__}",
        status=item.status if isinstance(item, ArticleFetched | IdMissing) else None,
        capture_id=capture.capture_id if capture else None,
        parse_error=True,
    )
