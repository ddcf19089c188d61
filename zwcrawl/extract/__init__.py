"""Page objects: article, listing and feed pages read with parsel (never scrapy), plus page decoding."""

from __future__ import annotations

from zwcrawl.extract.article import ArticlePage, extract_article
from zwcrawl.extract.decode import decode_html, ends_whole
from zwcrawl.extract.feed import FeedPage
from zwcrawl.extract.links import page_links
from zwcrawl.extract.listing import ListingPage

__all__ = [
    "ArticlePage",
    "FeedPage",
    "ListingPage",
    "decode_html",
    "ends_whole",
    "extract_article",
    "page_links",
]
