"""The Zaman al-Wasl spider: decides what to fetch next; it carries no selectors of its own."""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError

from zwcrawl.archive import Archive, utc_now
from zwcrawl.extract import FeedPage, page_links
from zwcrawl.health import Reading
from zwcrawl.id_set import IdSet
from zwcrawl.items import ArticleFetched, ArticleRedirected, FetchFailed, IdMissing, SectionWalked
from zwcrawl.middlewares import RefusedRequest
from zwcrawl.page_reader import PageReader
from zwcrawl.page_reading import decoded, read_article, read_listing
from zwcrawl.refresh_policy import RefreshPolicy
from zwcrawl.site import EDITIONS, ORIGINS, Sites, SiteUrl, article_url, classify, feed_url, listing_url

logger = logging.getLogger(__name__)

# Feeds known to exist; more are found through <link rel="alternate"> on the home page.
KNOWN_FEEDS = {"en": (52,), "ar": (94,)}

# Articles before listings, so a crawl cut short has archived what it found.
_PRIORITY = {"article": 20, "feed": 10, "home": 10, "listing": 0}

# How often a page cut short (no </body> or </html>) is fetched again; then an article is taken as it is.
CUT_SHORT_REFETCHES = 2


def parse_ids(text: str) -> range:
    """Read an id range `FROM-TO` (inclusive); ValueError with a one-line reason otherwise."""
    low, sep, high = text.partition("-")
    if not (sep and low.strip().isdigit() and high.strip().isdigit()) or int(low) > int(high):
        raise ValueError(f"{text!r}: expected FROM-TO with FROM <= TO, e.g. 34400-34520")
    return range(int(low), int(high) + 1)


def _fetched_at(meta: dict) -> str:
    """When the page was fetched: its capture's WARC-Date, which a rebuild finds in the WARC files too."""
    capture = meta.get("zw_capture")
    return (capture.fetched_at if capture is not None else None) or utc_now()


def _flag(value) -> bool:
    return value in (True, 1) or str(value).lower() in ("1", "true", "yes", "on")


class ZamanSpider(scrapy.Spider):
    """Home page, feeds and section listings (newest first), id ranges, and refreshes of known articles."""

    name = "zaman"

    def __init__(
        self, editions="en,ar", ids=None, refresh=False, full=False, sites=None, refresh_due=False, **kwargs
    ):
        super().__init__(**kwargs)
        chosen = [e.strip() for e in editions.split(",")] if isinstance(editions, str) else list(editions)
        unknown = [e for e in chosen if e not in EDITIONS]
        if unknown or not chosen:
            raise ValueError(f"unknown edition {', '.join(unknown) or '(none)'}: choose from en, ar")
        self.editions = tuple(dict.fromkeys(chosen))
        # A range from the command line (read once by its --ids type), or `-a ids=FROM-TO` text from Scrapy's.
        self.ids = ids if isinstance(ids, range) else parse_ids(ids) if ids else None
        if self.ids is not None and len(self.editions) != 1:
            raise ValueError("--ids enumerates one edition's ids: give exactly one --edition")
        self.refresh = _flag(refresh)
        self.refresh_due = _flag(refresh_due) and not self.refresh  # --refresh already takes every article
        self.full = _flag(full)
        self.site_specs = [s for s in (sites.split(",") if isinstance(sites, str) else sites or []) if s]
        # What the crawl remembers of every article: a bit each (IdSet), so its memory stays flat as the site
        # grows. Article requests skip Scrapy's duplicate filter (130 bytes a request): this is theirs.
        self.scheduled: defaultdict[str, IdSet] = defaultdict(IdSet)
        self.walks: dict[tuple[str, int], IdSet] = {}
        self.redirected: dict[tuple[str, int], str] = {}  # article -> where it redirected, in this crawl
        # Feeds asked for: every article page links its edition's feed, and a request yielded only for
        # Scrapy's duplicate filter to drop costs about as much as one that goes out.
        self.feeds: set[str] = set()
        # Pages read in-process, unless from_crawler's settings start a worker.
        self.reader = PageReader(enabled=False)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Copies of the site to fetch from: the spider's `sites` argument, else the ZW_SITES setting.
        spider.sites = (
            Sites.parse(spider.site_specs)
            if spider.site_specs
            else Sites(dict(crawler.settings.getdict("ZW_SITES")))
        )
        settings = crawler.settings
        spider.reader = PageReader(
            settings.getbool("ZW_EXTRACT_WORKER"), settings.getint("ZW_EXTRACT_WORKER_AFTER")
        )
        crawler.signals.connect(spider.reader.close, signal=signals.spider_closed)
        return spider

    @property
    def archive(self) -> Archive:
        """The crawl's archive extension: what it holds decides what is fetched."""
        return Archive.of(self.crawler)

    def options(self) -> dict:
        """The crawl's options as recorded in its row."""
        return {
            "editions": list(self.editions),
            "sites": self.sites.bases,
            "ids": f"{self.ids.start}-{self.ids.stop - 1}" if self.ids else None,
            "refresh": self.refresh,
            "refresh_due": self.refresh_due,
            "full": self.full,
        }

    async def start(self):
        # The archive opened on spider_opened (a crawl it refused never gets here): what it held before this
        # crawl decides what is skipped and where a walk may stop early.
        known = self.archive.known(self.editions)
        self.archived, self.walked_before = known.archived, known.walked
        for edition in self.editions:
            if self.ids is None:
                home = self.sites.to_fetch(ORIGINS[edition] + "/")
                yield self._request("home", home, self.parse_home)
                for feed_id in KNOWN_FEEDS[edition]:
                    yield self._feed(feed_url(edition, feed_id))
        for edition in self.editions:
            skip = known.missing[edition] if self.ids is not None and not self.refresh else set()
            ids = (i for i in self.ids if i not in skip) if self.ids is not None else ()
            again = sorted(self.archived[edition], reverse=True) if self.refresh else ()
            if self.refresh_due:
                policy = RefreshPolicy.from_settings(self.crawler.settings)
                again = self.archive.due(edition, policy, datetime.now(UTC))
            for article_id, refreshing in itertools.chain(
                ((i, False) for i in ids), ((i, True) for i in again)
            ):
                request = self._article(edition, article_id, refreshing)
                if request:
                    await self._room()
                    yield request

    async def _room(self) -> None:
        """Wait until the engine can take another request, so a range of millions of ids is never queued."""
        engine = self.crawler.engine
        while engine is not None and engine.needs_backout() and engine.running:
            await self.crawler.signals.wait_for(signals.scheduler_empty)

    # -- requests --------------------------------------------------------------------------------

    def _request(self, kind: str, url: str, callback, dont_filter: bool = False, **meta) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.failed,
            priority=_PRIORITY[kind],
            meta={"zw_kind": kind, **meta},
            dont_filter=dont_filter,
        )

    def _article(self, edition: str, article_id: int, refreshing: bool = False) -> scrapy.Request | None:
        """A request for an article, once per crawl whatever spelling linked to it."""
        scheduled = self.scheduled[edition]
        if article_id in scheduled:
            return None
        if article_id in self.archived[edition] and not (self.refresh or refreshing):
            return None
        scheduled.add(article_id)
        canonical = article_url(edition, article_id)
        return self._request(
            "article",
            self.sites.to_fetch(canonical),
            self.parse_article,
            dont_filter=True,  # scheduled once already, by the id
            zw_edition=edition,
            zw_article_id=article_id,
            zw_canonical=canonical,
            zw_refresh=article_id in self.archived[edition],  # asked conditionally where it can be
        )

    def _listing(self, edition: str, section_id: int, page: int) -> scrapy.Request:
        url = self.sites.to_fetch(listing_url(edition, section_id, page))
        return self._request(
            "listing", url, self.parse_listing, zw_edition=edition, zw_section=section_id, zw_page=page
        )

    def _feed(self, canonical: str) -> scrapy.Request:
        self.feeds.add(canonical)
        return self._request("feed", self.sites.to_fetch(canonical), self.parse_feed)

    def _follow(self, links: list[str]):
        """Requests for the articles, first listing pages and feeds among a page's links."""
        return self._follow_site(site_url for site_url in map(classify, links) if site_url is not None)

    def _follow_site(self, site_urls: Iterable[SiteUrl]):
        """Requests for the articles, first listing pages and feeds among a page's links on the site."""
        for site_url in site_urls:
            if site_url.edition not in self.editions:
                continue
            if site_url.kind == "article":
                request = self._article(site_url.edition, site_url.article_id)
                if request:
                    yield request
            elif site_url.kind == "listing" and site_url.page == 1:
                key = (site_url.edition, site_url.section_id)
                if key not in self.walks:
                    self.walks[key] = IdSet()
                    yield self._listing(site_url.edition, site_url.section_id, 1)
            elif site_url.kind == "feed" and site_url.canonical not in self.feeds:
                yield self._feed(site_url.canonical)

    def _real(self, response) -> str:
        return self.sites.to_real(response.url) or response.url

    def _html(self, response) -> str:
        return decoded(_content_type(response), response.body)

    # -- callbacks -------------------------------------------------------------------------------

    def parse_home(self, response):
        yield from self._follow(page_links(self._html(response), self._real(response)))

    def parse_feed(self, response):
        feed = FeedPage(self._real(response), response.body).to_item()
        for entry in feed["items"]:
            site_url = classify(entry["url"]) if entry.get("url") else None
            if site_url and site_url.kind == "article" and site_url.edition in self.editions:
                request = self._article(site_url.edition, site_url.article_id)
                if request:
                    yield request

    async def parse_listing(self, response):
        edition, section_id, page = (response.meta[k] for k in ("zw_edition", "zw_section", "zw_page"))
        whole, listing = await self.reader.read(
            read_listing, self._real(response), _content_type(response), response.body
        )
        if not whole:
            # A listing cut short could look like the section's end; fetch it again or report it.
            again = self._fetch_again(response)
            if again:
                yield again
            else:
                yield self._cut_short(response)
            return
        ids = [entry["article_id"] for entry in listing["articles"] if entry.get("article_id")]
        for article_id in ids:
            request = self._article(edition, article_id)
            if request:
                yield request
        seen = self.walks.setdefault((edition, section_id), IdSet())
        repeats = bool(ids) and all(i in seen for i in ids)
        seen.update(ids)
        name = listing.get("section")
        if listing["is_empty"] or not ids or repeats or not listing.get("next_url"):
            # The end of the section: an empty page, a "Next" that only repeats, or no "Next" at all.
            yield SectionWalked(edition, section_id, name, walked_to_end=True, at=utc_now())
            return
        if not self.full and section_id in self.walked_before[edition] and ids[-1] in self.archived[edition]:
            # An earlier crawl walked this section to its end, and listings run newest first: a page whose
            # LAST article was archived before holds where the new ones end (its first may be an old article
            # pinned at the top, so only the last says so). Repeats from a listing that shifted down while
            # the walk ran were new on the page before, so they never end a walk here.
            yield SectionWalked(edition, section_id, name, walked_to_end=False, at=utc_now())
            return
        limit = self.crawler.settings.getint("ZW_MAX_LISTING_PAGES")
        if page >= limit:
            logger.warning(
                "section %s/%s: stopped at page %s (ZW_MAX_LISTING_PAGES)", edition, section_id, page
            )
            return
        yield self._listing(edition, section_id, page + 1)

    async def parse_article(self, response):
        canonical = response.meta["zw_canonical"]
        if response.status == 304:
            # Not Modified: the page is the one the revisit refers to, read back from the WARC files.
            kept = self.archive.unchanged_page(response.meta.get("zw_capture"))
            if kept is None:
                yield FetchFailed(response.url, "HTTP 304 with no archived page it refers to", status=304)
                return
            content_type, body = kept
        else:
            content_type, body = _content_type(response), response.body
        edition, article_id = response.meta["zw_edition"], response.meta["zw_article_id"]
        # Parsed once (on the worker process while one runs), for its fields, health reading and links.
        read = await self.reader.read(
            read_article, canonical, self._real(response), edition, article_id, content_type, body,
            self.ids is None,
        )  # fmt: skip
        article = read.article
        if not read.whole:
            # Cut short where no Content-Length could tell: never take it for a soft 404 unseen.
            again = self._fetch_again(response)
            if again:
                yield again
                return
            if not article.is_article:
                yield self._cut_short(response)
                return
        reading = read.reading  # every article page but the site's not-found page counts towards health
        if not article.is_article and not article.not_found:
            # Neither an article nor the site's "not found" page (drift): never recorded as missing, so a
            # later crawl asks again, and `rebuild` reads the capture once zwcrawl can.
            yield _unreadable(
                response, "parse error: not an article page, nor the site's not-found page", reading
            )
            return
        yield ArticleFetched(
            article,
            fetched_url=response.url,
            status=response.status,
            observed_at=_fetched_at(response.meta),
            capture=response.meta.get("zw_capture"),
            reading=reading,
        )
        if article.is_article and self.ids is None:
            for request in self._follow_site(read.links):
                yield request

    def _fetch_again(self, response) -> scrapy.Request | None:
        """The request again, for a page cut short; None once it has had its tries."""
        tries = response.meta.get("zw_cut_short", 0) + 1
        if tries > CUT_SHORT_REFETCHES:
            return None
        logger.warning("page ends before </body> and </html>, fetching it again: %s", response.url)
        meta = {k: v for k, v in response.meta.items() if k.startswith("zw_") and k != "zw_capture"}
        # In full: a 304 would now confirm the capture cut short, whose validators are the latest.
        meta["zw_refresh"] = False
        request = response.request
        headers = {
            k: v for k, v in request.headers.items() if k not in (b"If-None-Match", b"If-Modified-Since")
        }
        return request.replace(dont_filter=True, meta={**meta, "zw_cut_short": tries}, headers=headers)

    def _cut_short(self, response) -> FetchFailed:
        tries = response.meta.get("zw_cut_short", 0) + 1
        return FetchFailed(response.url, "page cut short: no </body> or </html>", tries, response.status)

    def _redirected(self, request, status: int):
        """An article id answered with a redirect elsewhere: recorded, and an article target fetched under its
        own id. Articles redirecting to each other in a circle are a redirect loop: a failure of the site."""
        key = (request.meta["zw_edition"], request.meta["zw_article_id"])
        target = request.meta["zw_redirect_to"]
        self.redirected[key] = target
        hops, seen, site_url = [request.meta["zw_canonical"], target], {key}, classify(target)
        while site_url is not None and site_url.kind == "article":
            step = (site_url.edition, site_url.article_id)
            if step in seen:
                yield FetchFailed(request.url, "redirect loop: " + " -> ".join(hops), len(hops) - 1, status)
                return
            seen.add(step)
            onward = self.redirected.get(step)
            if onward is None:
                break
            hops.append(onward)
            site_url = classify(onward)
        yield ArticleRedirected(*key, request.meta["zw_canonical"], status, target, _fetched_at(request.meta))
        first = classify(target)
        if first is not None and first.kind == "article" and first.edition in self.editions:
            again = self._article(first.edition, first.article_id)
            if again:
                yield again

    def failed(self, failure):
        """Errback: a 404 article is missing, a 404 listing ends its section, the rest is a failure."""
        request = failure.request
        kind = request.meta.get("zw_kind")
        if failure.check(RefusedRequest):
            return  # the scope guard counted it: policy, not a fault of the site
        if failure.check(IgnoreRequest) and "robots.txt" in failure.getErrorMessage():
            self.crawler.stats.inc_value("zwcrawl/refused")  # robots.txt: policy too
            return
        status = failure.value.response.status if failure.check(HttpError) else None
        if request.meta.get("zw_redirect_to") and kind == "article":
            yield from self._redirected(request, status)
            return
        if status in (404, 410) and kind == "article":
            yield IdMissing(
                request.meta["zw_edition"], request.meta["zw_article_id"], request.meta["zw_canonical"],
                status, "not found", _fetched_at(request.meta),
            )  # fmt: skip
            return
        if status in (404, 410) and kind == "listing":
            yield SectionWalked(
                request.meta["zw_edition"], request.meta["zw_section"], None, walked_to_end=True, at=utc_now()
            )
            return
        reason = f"HTTP {status}" if status else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        yield FetchFailed(request.url, reason, request.meta.get("retry_times", 0) + 1, status)


def _content_type(response) -> str:
    return response.headers.get(b"Content-Type", b"").decode("latin-1")


def _unreadable(response, reason: str, reading: Reading | None = None) -> FetchFailed:
    """A fetched page zwcrawl could not read: a failure naming its capture, for `rebuild`."""
    capture = response.meta.get("zw_capture")
    return FetchFailed(
        response.url,
        reason,
        status=response.status,
        capture_id=capture.capture_id if capture else None,
        parse_error=True,
        reading=reading,
    )
