"""page_links: every link of a page, absolute and in page order, for the spider to classify."""

from __future__ import annotations

from urllib.parse import urldefrag

from lxml import etree

from zwcrawl.extract.markup import parse_html
from zwcrawl.site import repair_url

_LINKS = (
    "//a[@href]/@href"
    " | //link[@href][contains(concat(' ', translate(normalize-space(@rel), 'ALTERNATE', 'alternate'), ' '),"
    " ' alternate ')]/@href"
)


def page_links(html: bytes | str, url: str) -> list[str]:
    """Every <a href> and <link rel=alternate href>, made absolute against the page URL, deduplicated."""
    return links_in(parse_html(html), url)


def links_in(root: etree._Element | None, url: str) -> list[str]:
    """page_links of a page already parsed (parse_html's or parse_page's root)."""
    if root is None:
        return []
    declared = root.xpath("//base/@href")
    base = (repair_url(declared[0], base=url) if declared else None) or url
    links: list[str] = []
    seen: set[str] = set()
    for href in root.xpath(_LINKS):
        href = href.strip()
        if not href or href.startswith("#"):
            continue
        joined = repair_url(href, base=base)
        absolute = urldefrag(joined)[0] if joined else ""
        if not absolute.lower().startswith(("http://", "https://")) or absolute in seen:
            continue
        seen.add(absolute)
        links.append(absolute)
    return links
