"""robots.txt as RFC 9309 reads it: redirects followed, and a robots.txt that cannot be had disallows all."""

from __future__ import annotations

import logging

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from zwcrawl.archive import Archive

logger = logging.getLogger(__name__)

# What a host's robots.txt is taken to say when the host cannot serve it.
DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


def is_robots_request(request) -> bool:
    """Whether a request fetches a host's robots.txt, or follows a redirect that one answered with."""
    first = (request.meta.get("redirect_urls") or [request.url])[0]
    return bool(request.meta.get("dont_obey_robotstxt")) and first.split("?")[0].endswith("/robots.txt")


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, but a robots.txt that cannot be read means "disallow everything".

    Scrapy allows everything when robots.txt answers 5xx, cannot be fetched, or redirects somewhere it cannot
    follow; RFC 9309 2.3.1.4 says an unreachable robots.txt means complete disallow, and "always obey
    robots.txt" agrees. Redirects are followed by Scrapy's RedirectMiddleware (REDIRECT_MAX_TIMES, five), to
    other hosts too: the scope guard lets a robots.txt's redirects through (RFC 9309 2.3.1.2).
    """

    def __init__(self, crawler):
        super().__init__(crawler)
        self._origins: dict[str, str] = {}  # netloc -> the robots.txt URL asked for
        self._attempts: dict[str, int] = {}  # netloc -> how often it was tried, when it failed

    async def robot_parser(self, request):
        url = urlparse_cached(request)
        self._origins.setdefault(url.netloc, f"{url.scheme}://{url.netloc}/robots.txt")
        return await super().robot_parser(request)

    async def _parse_robots(self, response, netloc, request) -> None:
        if response.status >= 500:
            attempts = response.request.meta.get("retry_times", 0) + 1 if response.request else 1
            self._report(netloc, f"robots.txt answered HTTP {response.status}", attempts, response.status)
            response = response.replace(body=DISALLOW_ALL)
        await super()._parse_robots(response, netloc, request)

    def process_exception(self, request, exception):
        # Reached once the retries are spent: remember how often robots.txt was tried, for the report.
        if is_robots_request(request):
            self._attempts[urlparse_cached(request).netloc] = request.meta.get("retry_times", 0) + 1
        return None

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):
            why = f"robots.txt could not be followed ({exc})"
        else:
            why = f"robots.txt unreachable ({type(exc).__name__}: {exc})"
        self._report(netloc, why, self._attempts.get(netloc, 1), None)
        self._stats.inc_value("robotstxt/disallowed_unreadable")
        parser = build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL)
        waiting = self._parsers[netloc]
        self._parsers[netloc] = parser
        waiting.callback(parser)

    def _report(self, netloc: str, why: str, attempts: int, status: int | None) -> None:
        """Report a robots.txt that could not be read; its host is then treated as disallowed."""
        url = self._origins.get(netloc, f"//{netloc}/robots.txt")
        reason = f"{why}: host treated as disallowed"
        archive = Archive.of(self.crawler)
        if archive is not None and archive.is_open:
            archive.record_failure(url, reason, attempts, status)
        else:
            logger.warning("failed after %d attempt(s): %s (%s)", attempts, url, reason)
