"""Middlewares: the scope guard, back-off retries, WARC capture of every exchange, and parse errors."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple, Self
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet.task import deferLater

from zwcrawl.archive import Archive
from zwcrawl.items import FetchFailed
from zwcrawl.robots import is_robots_request
from zwcrawl.site import FETCHABLE_KINDS, Sites, SiteUrl, classify
from zwcrawl.warc import Exchange
from zwcrawl.wire import reason_phrase

logger = logging.getLogger(__name__)


class RefusedRequest(IgnoreRequest):
    """A request the scope guard stopped: policy, not a failure of the site."""


class _CrawlerComponent:
    """A component Scrapy builds from the crawler (from_crawler), which it keeps."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> Self:
        return cls(crawler)


class ScopeGuardMiddleware(_CrawlerComponent):
    """Refuse every request that is not a GET of a crawlable page of a crawled edition on its own origin."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.archive = Archive.of(crawler)
        # The spider's copies of the site (its `sites` argument), else the ZW_SITES setting.
        self.sites = getattr(crawler.spider, "sites", None) or Sites(
            dict(crawler.settings.getdict("ZW_SITES"))
        )

    def process_request(self, request):
        where = self._where(request.url)
        moved = self.onto_copy(request, where)
        if moved is not None:
            return moved
        reason = self.refusal(request, where)
        if reason:
            self.crawler.stats.inc_value("zwcrawl/refused")  # policy (scope), not a fault of the site
            logger.warning("refused %s: %s", request.url, reason)
            raise RefusedRequest(f"zwcrawl refused {request.url}: {reason}")
        return None

    def _where(self, url: str) -> _Where:
        """A URL read once for both checks: its real-origin URL, what it is there, and the URL to fetch."""
        sites = self.sites
        real = sites.to_real(url)
        site_url = classify(real) if real else None
        return _Where(real, site_url, sites.to_fetch(real, site_url) if site_url is not None else None)

    def onto_copy(self, request, where: _Where):
        """The same request sent to the copy, when it names the real origin of an edition a copy serves."""
        if where.site_url is None or where.site_url.edition not in self.sites.bases:
            return None
        # A redirect's Location may name the real origin; following it there would leave the copy.
        return request.replace(url=where.fetch) if _origin(where.fetch) != _origin(request.url) else None

    def refusal(self, request, where: _Where) -> str | None:
        """Why a request must not go out, or None when it may."""
        if request.method not in ("GET", "HEAD") or request.body:
            return "only plain GET requests are sent (never a form submission)"
        if is_robots_request(request) and request.meta.get("redirect_urls"):
            # RFC 9309 2.3.1.2: a robots.txt's redirects are followed, to other hosts too (five at most).
            return None
        site_url = where.site_url
        if where.real is None or site_url is None:
            return "outside the editions' hosts"
        if site_url.kind not in FETCHABLE_KINDS:
            return f"a {site_url.kind} link is never fetched"
        editions = getattr(self.crawler.spider, "editions", None)
        if editions is not None and site_url.edition not in editions:
            return f"edition {site_url.edition} is not being crawled"
        fetch_origin = _origin(where.fetch)
        if _origin(request.url) != fetch_origin:
            return f"edition {site_url.edition} is fetched from {fetch_origin}"
        return None


class _Where(NamedTuple):
    real: str | None  # the URL on the real origin; None outside the editions' hosts
    site_url: SiteUrl | None  # what the real URL is on the site
    fetch: str | None  # the URL to request for it (a copy's, where one stands in)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class BackoffRetryMiddleware(_CrawlerComponent):
    """Retry "blocked or busy" answers and network faults after a growing pause, honouring Retry-After."""

    def __init__(self, crawler):
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED", True):
            raise NotConfigured
        self.crawler = crawler
        self.codes = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        self.exceptions = tuple(
            load_object(e) if isinstance(e, str) else e for e in settings.getlist("RETRY_EXCEPTIONS")
        )
        self.base = settings.getfloat("ZW_BACKOFF_BASE")
        self.longest = settings.getfloat("ZW_BACKOFF_MAX")

    async def process_response(self, request, response):
        if request.meta.get("dont_retry") or response.status not in self.codes:
            return response
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response  # retries spent: HttpError reaches the spider, which records the failure
        await self._pause(self.delay(request, response.headers.get(b"Retry-After")))
        return retry

    async def process_exception(self, request, exception):
        if request.meta.get("dont_retry") or not isinstance(exception, self.exceptions):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await self._pause(self.delay(request, None))
        return retry

    def _retry(self, request, reason):
        retry = get_retry_request(request, spider=self.crawler.spider, reason=reason)
        if retry is not None:
            retry.meta["zw_last_failure"] = str(reason)
        return retry

    def delay(self, request, retry_after: bytes | None) -> float:
        """Seconds to wait before the next try: the server's Retry-After, else exponential back-off."""
        attempt = request.meta.get("retry_times", 0)
        wait = self.base * (2**attempt)
        asked = _retry_after_seconds(retry_after)
        if asked is not None:
            wait = asked
        return max(0.0, min(wait, self.longest))

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            # Imported here: importing the reactor at module level would install the wrong one.
            from twisted.internet import reactor

            await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


def _retry_after_seconds(value: bytes | None) -> float | None:
    # Retry-After is either delta-seconds or an HTTP date (RFC 9110 10.2.3).
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class ArticleRedirectMiddleware(_CrawlerComponent):
    """An article that redirects to another page is not followed there: the spider records the redirect.

    Followed, `/news/article/60005` -> `/news/article/50001/` would store 50001's page under 60005 and fetch
    50001 twice. A redirect to another spelling of the same article (a trailing slash, http -> https) is
    followed as usual. Sits before RedirectMiddleware (600) on the way back, after capture (950).
    """

    def process_response(self, request, response):
        location = response.headers.get(b"Location")
        if request.meta.get("zw_kind") != "article" or not 300 <= response.status < 400 or not location:
            return response
        sites = getattr(self.crawler.spider, "sites", None) or Sites({})
        away = sites.redirect_away(request.url, location.decode("latin-1", "replace"))
        if away is not None:
            request.meta["dont_redirect"] = True  # the errback sees the 3xx and records where it points
            request.meta["zw_redirect_to"] = away
        return response


class CaptureMiddleware:
    """Write every exchange to WARC with the body exactly as it came off the wire."""

    def __init__(self, archive: Archive):
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler) -> CaptureMiddleware:
        archive = Archive.of(crawler)
        if archive is None:
            raise NotConfigured("the zwcrawl.archive.Archive extension is off")
        return cls(archive)

    def process_request(self, request) -> None:
        request.meta["zw_sent_at"] = datetime.now(UTC)

    async def process_response(self, request, response):
        if self.archive.is_open:
            # On the archive's writer thread: the reactor goes on while the record is synced.
            exchange = exchange_of(request, response)
            capture = await self.archive.in_turn(self.archive.capture, exchange, record="page")
            request.meta["zw_capture"] = capture
        return response


def exchange_of(request, response) -> Exchange:
    """The WARC view of a Scrapy exchange; runs before HttpCompression, so the body is still encoded."""
    host = urlsplit(request.url).netloc
    request_headers = [("Host", host)] + _header_pairs(request.headers)
    return Exchange(
        url=request.url,
        method=request.method,
        request_headers=request_headers,
        request_body=request.body or b"",
        status=response.status,
        reason=reason_phrase(response.status),
        response_headers=_header_pairs(response.headers),
        body=response.body,
        fetched_at=request.meta.get("zw_sent_at") or datetime.now(UTC),
        ip_address=str(response.ip_address) if response.ip_address else None,
        protocol=response.protocol or "HTTP/1.1",
    )


def _header_pairs(headers) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


class ParseErrorMiddleware(_CrawlerComponent):
    """A spider callback that raised is a failure row naming the page and its capture, never silence."""

    def process_spider_exception(self, response, exception):
        if isinstance(exception, HttpError):
            return None  # the site's answer, handled by the errbacks
        request = getattr(response, "request", None)
        url = getattr(response, "url", None) or getattr(request, "url", "?")
        logger.error("parse error on %s", url, exc_info=exception)
        capture = getattr(request, "meta", {}).get("zw_capture")
        return [
            FetchFailed(
                url,
                f"parse error: {type(exception).__name__}",
                status=getattr(response, "status", None),
                capture_id=capture.capture_id if capture else None,
                parse_error=True,
            )
        ]
