"""The item pipeline: persists the spider's typed items through the archive's store, and counts them."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from zwcrawl.archive import STATS_PREFIX, Archive
from zwcrawl.diskfull import DiskFull
from zwcrawl.health import CORE_FIELDS, Health, Reading, Thresholds, summary_lines
from zwcrawl.items import ArticleFetched, ArticleRedirected, FetchFailed, IdMissing, SectionWalked
from zwcrawl.site import classify

logger = logging.getLogger(__name__)

Item = ArticleFetched | SectionWalked | IdMissing | ArticleRedirected | FetchFailed

HEALTH_ALARMS = "health/alarms"  # the crawl figure listing the alarm lines


class ArchivePipeline:
    """Store each article (beside a metadata record of it), missing id, section walk or failure;
    measure extraction health on the way and judge it when the spider closes."""

    def __init__(self, archive: Archive, thresholds: Thresholds):
        self.archive = archive
        self.health = Health(archive.count, thresholds)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        archive = Archive.of(crawler)
        if archive is None:
            raise NotConfigured("the zwcrawl.archive.Archive extension is off")
        return cls(archive, Thresholds.from_settings(crawler.settings))

    def close_spider(self, spider=None) -> None:
        """Judge the crawl's extraction health against the archive's history (the archive is still open)."""
        archive = self.archive
        if not archive.is_open or archive.crawl_id is None:
            return
        try:
            spider = spider or self.archive.crawler.spider  # Scrapy 2.13+ calls close_spider() bare
            self._judge(tuple(getattr(spider, "editions", ())))
        except Exception:  # noqa: BLE001 - a judgement that fails must not lose the crawl's row
            logger.exception("could not judge extraction health")

    def _judge(self, editions: tuple[str, ...]) -> None:
        archive, store, stats = self.archive, self.archive.store, self.archive.crawler.stats
        started = store.crawl(archive.crawl_id)["started_at"]
        held = {edition: store.coverage(edition, CORE_FIELDS, before=started) for edition in editions}
        for edition, coverage in held.items():
            if coverage.get("body_chars"):
                stats.set_value(
                    f"{STATS_PREFIX}health/{edition}/usual_body_chars", int(coverage["body_chars"])
                )
        figures = archive.figures()
        alarms = self.health.judge(figures, editions, held, store.earlier_crawls(archive.crawl_id))
        for line in summary_lines(archive.figures(), editions):
            logger.info("%s", line)
        for line in alarms:
            logger.warning("%s", line)
        if alarms:
            stats.set_value(STATS_PREFIX + HEALTH_ALARMS, alarms)

    async def process_item(self, item: Item) -> Item:
        if not self.archive.is_open:
            raise DropItem("the archive is closed (the disk is full)")
        try:
            # On the archive's writer thread, after the page's capture: the reactor goes on meanwhile.
            writes_metadata = isinstance(item, ArticleFetched) and item.capture is not None
            await self.archive.in_turn(self._store, item, record="metadata" if writes_metadata else None)
        except DiskFull:
            raise DropItem(self.archive.stop_error) from None  # nothing more is written: the crawl stops
        return item

    def _store(self, item: Item) -> None:
        try:
            with self.archive.writing("the database", self.archive.db_path):
                self._persist(item)
        except DiskFull:
            raise
        except Exception as exc:
            if isinstance(item, FetchFailed):
                raise  # the failure report itself cannot be written: nothing left to record it in
            # A page the store could not take (an id too large for SQLite, say) is reported, never lost:
            # its response is in the WARC for `rebuild` once the code is fixed.
            logger.exception("could not store %s", _url(item))
            self._persist(_parse_error(item, exc))

    def _persist(self, item: Item) -> None:
        archive, store = self.archive, self.archive.store
        if isinstance(item, ArticleFetched):
            self._save_article(item)
        elif isinstance(item, IdMissing):
            # "removed" for an article the archive holds (the site removed it), else "missing".
            outcome = store.record_absent(
                item.edition, item.article_id, item.url, item.status, item.reason, archive.crawl_id,
                item.observed_at,
            )  # fmt: skip
            archive.count(outcome)
        elif isinstance(item, ArticleRedirected):
            archive.count("redirected")
            store.record_redirect(
                item.edition, item.article_id, item.url, item.status, item.target_url, archive.crawl_id,
                item.observed_at,
            )  # fmt: skip
        elif isinstance(item, SectionWalked):
            store.mark_section(item.edition, item.section_id, item.name, item.walked_to_end, item.at)
        elif isinstance(item, FetchFailed):
            self._measure(item.reading)
            archive.record_failure(
                item.url, item.reason, item.attempts, item.status, capture_id=item.capture_id,
                parse_error=item.parse_error,
            )  # fmt: skip
        else:
            raise TypeError(f"not a zwcrawl item: {type(item).__name__}")

    def _save_article(self, item: ArticleFetched) -> None:
        """The metadata record first (the fields as read), then the article, or its id as missing."""
        archive, article = self.archive, item.article
        self._measure(item.reading)
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

    def _measure(self, reading: Reading | None) -> None:
        """Count an article page towards extraction health, against its row as the archive held it."""
        if reading is not None:
            self.health.observe(reading, self.archive.store.article(reading.edition, reading.article_id))


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
