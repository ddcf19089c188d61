"""A bare Scrapy walk of a site copy: the pages zwcrawl crawls, followed by their links, nothing kept.

    scrapy runspider benchmarks/walk_spider.py -a sites=en=http://127.0.0.1:8001,ar=http://127.0.0.1:8002

The yardstick of benchmarks/bench_walk.py: what Scrapy alone costs per page. It starts where zwcrawl starts
(each edition's home page and RSS feed, robots.txt obeyed), follows the same links (articles, section
listings and their pages) and does nothing with a page beyond finding them. A link names the real origin in
any of the site's spellings (`https://en.zamanalwsl.net/news/article/40005/`, `//host/...`, relative), so
it is read by its path and fetched from the copy, as zwcrawl does; Scrapy's duplicate filter keeps each
page to one fetch. Scrapy's own settings apply (robots.txt obeyed, no delay); the benchmark passes the same
`-s` settings here as to zwcrawl.
"""

from __future__ import annotations

import re

import scrapy

# The feed each edition's walk starts from, as zwcrawl's spider (KNOWN_FEEDS).
FEEDS = {"en": 52, "ar": 94}
_ARTICLE = re.compile(r"/news/article/(\d+)/?$")
_LISTING = re.compile(r"/news/articles/(\d+)(?:/(\d+))?/?$")
_FEED_LINK = re.compile(r"<link>[^<]*?(/news/article/\d+)/?</link>")


class WalkSpider(scrapy.Spider):
    """Home pages and feeds, then every article and listing page linked from them."""

    name = "walk"
    custom_settings = {"LOG_LEVEL": "INFO", "ROBOTSTXT_OBEY": True, "TELNETCONSOLE_ENABLED": False}

    def __init__(self, sites: str = "", **kwargs):
        super().__init__(**kwargs)
        self.bases = dict(spec.split("=", 1) for spec in sites.split(",") if spec)

    async def start(self):
        for edition, base in self.bases.items():
            yield scrapy.Request(f"{base}/", cb_kwargs={"base": base})
            yield scrapy.Request(
                f"{base}/news/rss/{FEEDS[edition]}/", self.parse_feed, cb_kwargs={"base": base}
            )

    def parse(self, response, base: str):
        for href in response.css("a::attr(href)").getall():
            path = href.split("//", 1)[1].split("/", 1)[-1] if "//" in href else href
            path = "/" + path.lstrip("/")
            article = _ARTICLE.search(path)
            if article:
                yield scrapy.Request(f"{base}/news/article/{article.group(1)}", cb_kwargs={"base": base})
                continue
            listing = _LISTING.search(path)
            if listing:
                page = listing.group(2) or "1"
                url = f"{base}/news/articles/{listing.group(1)}/{page}"
                yield scrapy.Request(url, cb_kwargs={"base": base})

    def parse_feed(self, response, base: str):
        for path in _FEED_LINK.findall(response.text):
            yield scrapy.Request(base + path, cb_kwargs={"base": base})
