"""What the spider hands the pipeline: one typed item per thing a crawl learns."""

from __future__ import annotations

from dataclasses import dataclass

from zwcrawl.article import Article
from zwcrawl.health import Reading


@dataclass(frozen=True)
class CaptureRef:
    """Where a response landed: its captures row and its WARC record."""

    capture_id: int
    record_id: str
    record_type: str
    fetched_at: str | None = None  # the record's WARC-Date: when the page was fetched


@dataclass
class ArticleFetched:
    """An article page fetched and read: an article, or a page the site says holds none (soft 404)."""

    article: Article
    fetched_url: str
    status: int
    observed_at: str
    capture: CaptureRef | None = None
    reading: Reading | None = None  # for extraction health; None for the site's not-found page


@dataclass
class SectionWalked:
    """A walk of a section's listing ended here, at its end or where an earlier walk had already been."""

    edition: str
    section_id: int
    name: str | None
    walked_to_end: bool
    at: str


@dataclass
class IdMissing:
    """The site answered an article id as absent: a 404/410, or its own "not found" page."""

    edition: str
    article_id: int
    url: str
    status: int
    reason: str
    observed_at: str


@dataclass
class ArticleRedirected:
    """The site answered an article id with a redirect to another page: recorded, never stored as it."""

    edition: str
    article_id: int
    url: str
    status: int
    target_url: str
    observed_at: str


@dataclass
class FetchFailed:
    """A page the crawl could not archive or could not read; a parse error keeps its capture for rebuild."""

    url: str
    reason: str
    attempts: int = 1
    status: int | None = None
    capture_id: int | None = None
    parse_error: bool = False
    reading: Reading | None = None  # a page of a layout nothing reads (drift): what extraction found on it
