"""ListingPage: one page of a section listing, its articles and the link to the next (older) page."""

from __future__ import annotations

import re

from zwcrawl.extract.dates import parse_day
from zwcrawl.extract.fields import field_or
from zwcrawl.extract.markup import Chrome, classes, from_url, page_url, parse_html, text_of
from zwcrawl.extract.text import clean_text, strip_site_name
from zwcrawl.site import canonical_article_url, classify, repair_url

# Navigation around a listing, whose article links are not the listing's own.
_CHROME = re.compile(
    r"menu|(?:^|[-_])nav(?!-?item)|(?:^|[-_])side(?:bar)?(?:$|[-_])|footer|^(?:site-)?header$|^top$|most-?read"
    r"|related|social|share|banner|advert|widget|logo|search",
    re.I,
)
_NEXT_TEXT = re.compile(r"^(?:next|older|more|التالي|التالية|الصفحة التالية|المزيد|»|›|>>?)$", re.I)
_ITEM_TAGS = frozenset(("li", "div", "tr", "article", "section", "td", "dl"))


class ListingPage:
    """A section listing page (`/news/articles/{section}/{page}`): `to_item()` gives its entries."""

    def __init__(self, url: str, html: bytes | str | None):
        site_url = page_url(url, "listing")
        self.url = site_url.canonical
        self._site = site_url
        self._root = parse_html(html)
        self._chrome = Chrome(self._root, _CHROME)

    def _xpath(self, query: str):
        return self._root.xpath(query) if self._root is not None else []

    def _outside_chrome(self, element) -> bool:
        parent = element.getparent()
        return parent is None or self._chrome.outside(parent, self._content)

    @field_or(frozenset)
    def _content(self) -> frozenset:
        """The listing's links to its later pages and every element around them: never furniture.

        A menu or a sidebar links to sections, never to page 2 of this one, so a furniture-looking class on a
        wrapper around the pager ("menu-closed", "has-sidebar") does not hide the list. On a last page,
        with no such link, Chrome takes the element holding most of the page's text for the content.
        """
        marks = [anchor for anchor, _ in self._later_pages]
        return frozenset(node for element in marks for node in (element, *element.iterancestors()))

    @field_or(list)
    def _later_pages(self) -> list:
        """(anchor, its SiteUrl) of every link to a later page of this section, in page order."""
        found = []
        for anchor in self._xpath("//a[@href]"):
            site_url = classify(repair_url(anchor.get("href"), base=self.url))
            if (
                site_url is not None
                and site_url.kind == "listing"
                and site_url.section_id == self.section_id
                and (site_url.page or 1) > self.page
            ):
                found.append((anchor, site_url))
        return found

    edition = from_url("edition", "'en' or 'ar'.")
    section_id = from_url("section_id", "The section's id, from the URL.")

    @property
    def page(self) -> int:
        """The page number (1 is the newest)."""
        return self._site.page or 1

    @field_or(None)
    def section(self) -> str | None:
        """The section's name: the page heading, the <title>, or the menu link to the section."""
        for element in self._xpath('//h1[contains(@class, "section")] | //h1'):
            if self._outside_chrome(element) and (text := text_of(element)):
                return text
        title = strip_site_name("".join(self._xpath("//title//text()")))
        if title:
            return title
        for anchor in self._xpath("//a[@href]"):
            site_url = classify(repair_url(anchor.get("href"), base=self.url))
            same = (
                site_url is not None and site_url.kind == "listing" and site_url.section_id == self.section_id
            )
            if same and (text := text_of(anchor)):
                return text
        return None

    @field_or(list)
    def articles(self) -> list[dict]:
        """The listed articles in page order: url, article_id, title, date (YYYY-MM-DD), teaser."""
        entries: dict[str, dict] = {}
        for anchor in self._xpath("//a[@href]"):
            url = canonical_article_url(repair_url(anchor.get("href"), base=self.url))
            if url is None or not self._outside_chrome(anchor):
                continue
            title = text_of(anchor) or clean_text(anchor.get("title"))
            entry = entries.get(url)
            if entry is None:
                entry = entries[url] = dict.fromkeys(("url", "article_id", "title", "date", "teaser"))
                entry.update(url=url, article_id=classify(url).article_id)
                item = self._item_of(anchor, url)
                if item is not None:
                    entry["date"], entry["teaser"] = self._date(item), self._teaser(item, anchor)
            if title and not entry["title"]:
                entry["title"] = title
        return list(entries.values())

    def _item_of(self, anchor, url: str):
        """The block holding one entry: the nearest ancestor that links no other article."""
        item = None
        for ancestor in anchor.iterancestors():
            if ancestor.tag not in _ITEM_TAGS:
                continue
            others = {
                canonical_article_url(repair_url(a.get("href"), base=self.url))
                for a in ancestor.iter("a")
                if a.get("href")
            }
            others.discard(None)
            if others - {url}:
                break
            item = ancestor
            if re.search(r"item|entry|post|story|news", classes(ancestor), re.I):
                break
        return item

    @staticmethod
    def _date(item) -> str | None:
        for element in item.xpath('.//*[contains(@class, "date") or contains(@class, "Date")] | .//time'):
            found = parse_day(element.get("datetime") or text_of(element))
            if found:
                return found
        for text in item.xpath(".//text()"):
            found = parse_day(text) if re.search(r"\d{4}|[٠-٩]{4}", text) and len(text) < 80 else None
            if found:
                return found
        return None

    @staticmethod
    def _teaser(item, anchor) -> str | None:
        for element in item.xpath(
            './/*[contains(@class, "teaser") or contains(@class, "summary") or contains(@class, "desc")'
            ' or contains(@class, "intro") or contains(@class, "excerpt")] | .//p'
        ):
            if anchor not in element.iter() and (text := text_of(element)):
                return text
        return None

    @field_or(None)
    def next_url(self) -> str | None:
        """The canonical URL of the next (older) page of this section, or None on the last page."""
        pages: dict[int, str] = {}
        flagged: list[int] = []
        for anchor, site_url in self._later_pages:
            page = site_url.page or 1
            pages.setdefault(page, site_url.canonical)
            rel = (anchor.get("rel") or "").lower()
            if "next" in rel or "next" in classes(anchor).lower() or _NEXT_TEXT.match(text_of(anchor)):
                flagged.append(page)
        if self.page + 1 in pages:
            return pages[self.page + 1]
        if flagged:
            return pages[min(flagged)]
        return None

    @property
    def is_empty(self) -> bool:
        """Whether the page lists no article (past the last page of a section)."""
        return not self.articles

    def to_item(self) -> dict:
        """The listing's fields."""
        return {
            "edition": self.edition,
            "section_id": self.section_id,
            "section": self.section,
            "page": self.page,
            "articles": self.articles,
            "next_url": self.next_url,
            "is_empty": self.is_empty,
        }
