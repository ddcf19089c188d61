"""Conditional refreshes: an archived article is asked for with the validators of its latest full capture."""

from __future__ import annotations

from scrapy.exceptions import NotConfigured

from zwcrawl.archive import Archive


class ConditionalRefreshMiddleware:
    """Send a refresh's validators (If-None-Match, If-Modified-Since) where the page's last 200 had them.

    The server may then answer 304 Not Modified: that answer is let through to the spider (Scrapy's
    HttpErrorMiddleware would drop it), captured as a server-not-modified revisit of that 200 capture. The
    validators come from the captures table, which `rebuild` fills from the WARC records alone.
    """

    def __init__(self, archive: Archive):
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler) -> ConditionalRefreshMiddleware:
        archive = Archive.of(crawler)
        if archive is None or not crawler.settings.getbool("ZW_CONDITIONAL"):
            raise NotConfigured("conditional refreshes are off")
        return cls(archive)

    def process_request(self, request) -> None:
        if not request.meta.get("zw_refresh") or not self.archive.is_open:
            return
        if b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
            return  # a retry of a conditional request: it asks as the first try did
        found = self.archive.store.validators(request.url)
        if found is None:
            return
        if found["etag"]:
            request.headers["If-None-Match"] = found["etag"]
        if found["last_modified"]:
            request.headers["If-Modified-Since"] = found["last_modified"]
        request.meta["handle_httpstatus_list"] = [*request.meta.get("handle_httpstatus_list", ()), 304]
