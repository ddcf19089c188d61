"""FeedPage: a section RSS feed, its items with canonical article URLs and repaired enclosures."""

from __future__ import annotations

import re
from html import unescape
from typing import TYPE_CHECKING

from lxml import etree

from zwcrawl.extract.dates import parse_feed_date
from zwcrawl.extract.fields import field_or
from zwcrawl.extract.markup import from_url, markup_text, page_url
from zwcrawl.extract.text import clean_text
from zwcrawl.site import article_url, canonical_article_url, classify, repair_url

if TYPE_CHECKING:
    from parsel import Selector

_GUID_ID = re.compile(r"^(en|ar)-(\d+)$")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_TAGS = re.compile(r"<[^>]+>")


class FeedPage:
    """An RSS feed (`/news/rss/{id}/`): `to_item()` gives its items."""

    def __init__(self, url: str, xml: bytes | str | None):
        site_url = page_url(url, "feed")
        self.url = site_url.canonical
        self._site = site_url
        text = markup_text(xml)
        # lxml refuses str input that still declares an encoding; the text is decoded already.
        self._text = _XML_DECLARATION.sub("", text, count=1) if text is not None else None
        self._channel: Selector | None = None
        self._items = self._parse()

    def _parse(self) -> list:
        if self._text is None:
            return []
        # Imported here: the package's other pages read lxml trees, and the extraction worker, which never
        # reads a feed, is spared parsel's imports (w3lib, urllib.request, ssl: 7 MB).
        from parsel import Selector

        for kind in ("xml", "html"):
            # The XML parser recovers from most damage; a feed broken past that is read as tag soup.
            try:
                sel = Selector(text=self._text, type=kind)
            except (etree.LxmlError, ValueError):
                continue
            if kind == "xml":
                sel.remove_namespaces()
            items = sel.root.xpath("//*[local-name()='item' or local-name()='entry']")
            if items:
                self._channel = sel
                return items
        return []

    edition = from_url("edition", "'en' or 'ar'.")
    feed_id = from_url("feed_id", "The feed's id, from the URL.")

    @field_or(None)
    def title(self) -> str | None:
        """The channel title."""
        if self._channel is None:
            return None
        return (
            clean_text(
                " ".join(self._channel.xpath("//channel/title//text() | /feed/title//text()").getall())
            )
            or None
        )

    @field_or(list)
    def items(self) -> list[dict]:
        """The feed's articles: url, article_id, title, published (UTC), description, enclosure."""
        found = []
        for item in self._items:
            url = self._item_url(item)
            if url is None:
                continue
            found.append(
                {
                    "url": url,
                    "article_id": classify(url).article_id,
                    "title": self._text_of(item, "title"),
                    "published": parse_feed_date(
                        self._text_of(item, "pubDate", "pubdate", "published", "updated", "date")
                    ),
                    "description": self._text_of(item, "description", "summary"),
                    "enclosure": self._enclosure(item),
                }
            )
        return found

    def _item_url(self, item) -> str | None:
        candidates = [link.get("href") or "" for link in _own(item, "link")]
        candidates += [_text(e) for e in _own(item, "link", "guid", "id")]
        # Read as tag soup, <link> is an empty element and its URL becomes the text after it.
        candidates += [link.tail or "" for link in _own(item, "link")]
        for value in candidates:
            url = (
                canonical_article_url(repair_url(clean_text(value), base=self.url)) if value.strip() else None
            )
            if url:
                return url
        for guid in _own(item, "guid"):
            m = _GUID_ID.match(_text(guid))
            # Through the site model, which refuses an id the archive could not store.
            if m and (url := canonical_article_url(article_url(m.group(1), int(m.group(2))))):
                return url
        return None

    @staticmethod
    def _text_of(item, *names: str) -> str | None:
        for name in names:
            for element in _own(item, name):
                value = _text(element)
                if value:
                    # Descriptions often carry escaped HTML: keep its text.
                    return (
                        clean_text(unescape(_TAGS.sub(" ", value))) if "<" in value or "&" in value else value
                    )
        return None

    def _enclosure(self, item) -> str | None:
        for element in _own(item, "enclosure", "content", "thumbnail", "image"):
            value = element.get("url") or (_text(element) if element.tag.lower() == "image" else "")
            if not value and element.tag.lower() == "image":
                value = " ".join(
                    _text(e) for e in element if isinstance(e.tag, str) and e.tag.lower() == "url"
                )
            value = clean_text(value)
            if value and (url := repair_url(value, base=self.url)):
                return url
        return None

    def to_item(self) -> dict:
        """The feed's fields."""
        return {"edition": self.edition, "feed_id": self.feed_id, "title": self.title, "items": self.items}


def _text(element) -> str:
    return clean_text("".join(element.itertext()))


def _own(item, *names: str) -> list:
    """An item's elements of these names (in that order), even where a broken feed nested them deeper."""
    found = []
    for name in names:
        for element in item.iter():
            if element is item or not isinstance(element.tag, str) or element.tag.lower() != name.lower():
                continue
            # Skip what belongs to an item nested inside this one (a feed whose tags were never closed).
            owner = next(
                (a for a in element.iterancestors() if str(a.tag).lower() in ("item", "entry")), None
            )
            if owner is item:
                found.append(element)
    return found
