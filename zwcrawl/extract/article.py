"""ArticlePage: the fields of one article page, read from structured data, the layouts, then landmarks."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from urllib.parse import unquote

from zwcrawl.article import Article, Comment, Image
from zwcrawl.extract.attribution import Attribution, is_credit_line, read_attribution, with_declared
from zwcrawl.extract.dates import date_only, parse_published, text_before_date
from zwcrawl.extract.decode import decode_html, ends_whole
from zwcrawl.extract.fields import field_or, read_or
from zwcrawl.extract.links import links_in
from zwcrawl.extract.markup import (
    Chrome,
    PageIndex,
    classes,
    from_url,
    is_chrome,
    lines,
    paragraphs,
    parse_page,
    printed_text_after,
    printed_text_before,
    text_of,
)
from zwcrawl.extract.structured import Declared, read_declared
from zwcrawl.extract.text import clean_text, is_site_name, strip_site_name, western_digits
from zwcrawl.site import canonical_article_url, classify, repair_url

FIELDS = Article.names()  # the archive's field order, named once in zwcrawl.article

# Where a field's value can come from, in the order they are tried (see ArticlePage.strategies).
STRATEGIES = ("structured", "layout", "legacy", "landmark")
# The fields a strategy finds (identity and is_article are not found, they are known or decided).
FOUND_FIELDS = FIELDS[FIELDS.index("headline") :]
_ATTRIBUTION_FIELDS = ("source", "authors", "translators", "dateline", "with_agencies")

# Page furniture around an article: never its headline, text, section link or images.
_FURNITURE = (
    r"menu|(?:^|[-_])nav|(?:^|[-_])side(?:bar)?(?:$|[-_])|most-?read|latest"
    r"|pager|paginat|related|social|share|banner|advert|^ads?$|widget|logo|search|news-?list|news-?item"
    r"|not-?found|error|^e?404$"
)
# The site's own frame; inside the article a footer or header is the article's own (its source line).
_SITE_FRAME = r"footer|^(?:site-)?header$|^top$"
_CHROME = re.compile(rf"{_FURNITURE}|{_SITE_FRAME}", re.I)
_CHROME_IN_ARTICLE = re.compile(_FURNITURE, re.I)
_COMMENTS = re.compile(r"comment", re.I)
_COMMENT_ITEM = re.compile(
    r"^comment(?:[-_]?(?:item|box|row|entry|block))?$|^(?:user-?)?comment[-_]?\d+$", re.I
)
_TOTAL_COMMENTS = re.compile(
    r"(?:total\s+comments|comments|مجموع\s+التعليقات|عدد\s+التعليقات|التعليقات)\s*(?:\(\s*|:\s*)([0-9٠-٩۰-۹]+)",
    re.I,
)
# What closes the comments: the form's title and note ("Comments About This Article", "Please fill ...").
_FORM_LANDMARK = re.compile(
    r"comments about this article|please fill the fields|code confirming"
    r"|التعليقات على هذا|يرجى تعبئة|رمز التأكيد",
    re.I,
)
# A comment's stamp prints the time of day; a sentence stop ends text, never a stamp ("9:30 p.m." aside).
_CLOCK = re.compile(r"\d{1,2}[:٫]\d{2}")
_SENTENCE_STOP = re.compile(r"[.!?؟…]")
_AM_PM_END = re.compile(r"[ap]\.m\.\s*$", re.I)
# Numbers as the site prints them, in Western, Arabic-Indic or Persian digits.
_DIGITS = re.compile(r"[0-9٠-٩۰-۹]")
_COUNTER = re.compile(r"^\(?\s*([0-9٠-٩۰-۹]+)\s*\)?$")
# The number beside a vote link: "(55)", "55", "(7) |" where the two links share a line.
_VOTE_COUNT = re.compile(r"^[(\[]?\s*([0-9٠-٩۰-۹]+)\s*[)\]]?(?:\s*[|/·•,-])?$")
_KINDS = (
    ("opinion", re.compile(r"^\s*(?:opinion|op-ed|رأي|راي|مقال رأي)\s*[-–—:|]|[-–—:|]\s*opinion\s*$", re.I)),
    ("perspective", re.compile(r"^\s*(?:perspective|وجهة نظر)\s*[-–—:|]|[-–—:|]\s*perspective\s*$", re.I)),
)
# The site's not-found page, which it serves with status 200.
_NOT_FOUND = re.compile(
    r"could not be found|can ?not be found|was not found|page not found|does not exist|no longer available"
    r"|لم يتم العثور|غير موجود|غير متوفر|لا يوجد خبر|الصفحة المطلوبة",
    re.I,
)
_OTHER_BODY_CLASSES = (
    "article-body", "articleBody", "post-content", "entry-content", "story-body", "news-body",
    "NewsText", "news_text", "news-content",
)  # fmt: skip
# Children whose text counts towards a block's share of the page's prose.
_TEXT_CHILDREN = frozenset(["p", "br", "b", "strong", "i", "em", "a", "span", "font", "u"])


# classify is pure and the same absolute URLs (menus, images) recur from page to page.
_classify_cached = functools.lru_cache(maxsize=4096)(classify)
_LIKE_CASE = str.maketrans("LIKE", "like")
# What every link to a listing holds once %-decoded as site.classify decodes it: a cheap test first, since a
# page's links are mostly articles, and joining each to the page URL costs more than the rest of its test.
# The path's "articles" is the link's own: the page URL it is joined to (/news/article/N) holds none.
_MAY_NAME_LISTING = re.compile("articles", re.I)
_URL_DROPS = dict.fromkeys(map(ord, "\t\r\n"))  # urllib drops these anywhere in a URL before splitting it


def _classify(url: str | None):
    """site.classify, remembered for URLs of a sensible length (a long one is read, never kept)."""
    return _classify_cached(url) if url is None or len(url) <= 500 else classify(url)


def _first(elements):
    return elements[0] if elements else None


def _empty(value) -> bool:
    """Whether a strategy's reading found nothing (0 likes is a reading; False, None and [] are not)."""
    return value is None or value is False or (isinstance(value, str | list | tuple) and not value)


def _fold(text: str | None) -> str:
    """Text for comparing two readings: letters and digits only, lower case."""
    return "".join(ch for ch in clean_text(text).lower() if ch.isalnum())


def _kind_of(headline: str | None) -> str | None:
    for kind, pattern in _KINDS:
        if headline and pattern.search(headline):
            return kind
    return None


def _same_text(declared: list[str], printed: list[str]) -> bool:
    """Whether a printed text is the declared one: it holds the declared beginning, and not much more."""
    # A declared body may be the text without its paragraphs, or only its first lines ("...").
    whole = _fold(" ".join(declared))
    start = _fold(" ".join(declared).rstrip(".… "))[:300]
    cut = " ".join(declared).rstrip().endswith(("...", "…")) or len(whole) < 300
    found = _fold(" ".join(printed))
    return bool(start) and start in found and (cut or len(found) <= 1.3 * len(whole) + 200)


def _same_headline(declared: str, printed: str) -> bool:
    """Whether a printed headline is the declared one, with at most a marker ("Opinion- ") around it."""
    declared, printed = _fold(declared), _fold(printed)
    return bool(declared) and declared in printed and len(printed) <= len(declared) + 30


# When a declared value and a printed one say the same, the printed form is kept (see ArticlePage._found).
_PRINTED_FORM: dict[str, Callable[[object, object], bool]] = {
    # schema.org has one type for commentary (OpinionNewsArticle); the site's marker tells its two kinds.
    "kind": lambda declared, printed: declared == "opinion" and printed == "perspective",
    "headline": _same_headline,
    "body": _same_text,
    "section": lambda declared, printed: (
        _fold(declared[1]) == _fold(printed[1]) or (declared[0] is not None and declared[0] == printed[0])
    ),
    "images": lambda declared, printed: {i["url"] for i in declared} <= {i["url"] for i in printed},
}


class ArticlePage:
    """One article page: a property per field, `to_item()` for all of them."""

    def __init__(self, url: str, html: bytes | str | None):
        canonical = canonical_article_url(url)
        if canonical is None:
            raise ValueError(f"not a Zaman al-Wasl article URL: {url}")
        self.url = canonical
        self._site = classify(canonical)
        text = decode_html(html) if isinstance(html, bytes | bytearray | memoryview) else (html or "")
        # A page cut short (no closing tags) may hold half an article: only trusted if its text is closed.
        self._closed = ends_whole(text)
        self._root = parse_page(text)
        self._index = PageIndex(self._root)
        self._chrome = Chrome(self._root, _CHROME)
        # Inside the article a footer or header is the article's own (its source line), not the site's.
        self._chrome_in_article = Chrome(self._root, _CHROME_IN_ARTICLE)
        # The comment form is a region too; an ASP.NET page wraps everything in one <form>, which is not.
        self._comment_regions = Chrome(self._root, _COMMENTS, tags=frozenset(["form"]))
        self._read: dict[tuple[str, str], object] = {}
        self._reader_table: dict[str, dict[str, Callable[[], object]]] = {}
        self._headlines: dict[str, object] = {}
        self._paragraphs_in: dict[object, list[str]] = {}
        self._chosen: dict[str, tuple[str | None, object]] = {}
        self._site_urls: dict[str | None, object] = {}
        self._absolutes: dict[str, str | None] = {}

    # -- identity ------------------------------------------------------------------------------

    article_id = from_url("article_id", "The article's number in its edition.")
    edition = from_url("edition", "'en' or 'ar'.")

    @property
    def whole(self) -> bool:
        """Whether the page reached its </body> or </html>: a page cut short in transit does not."""
        return self._closed

    def links(self, base_url: str) -> list[str]:
        """Every link of the page, made absolute against the URL it was fetched as (see page_links)."""
        return links_in(self._root, base_url)

    # -- helpers -------------------------------------------------------------------------------

    def _xpath(self, query: str):
        return self._root.xpath(query) if self._root is not None else []

    def _meta(self, *names: str) -> str | None:
        for name in names:
            for value in self._xpath(f'//meta[@property="{name}" or @name="{name}"]/@content'):
                value = clean_text(value)
                if value:
                    return value
        return None

    def _outside_chrome(
        self, element, content: frozenset | None = None, chrome: Chrome | None = None
    ) -> bool:
        # Furniture is a region beside the article, never an element around it (see Chrome); `content` is
        # what is known of the article so far, all of it unless a step that finds it asks.
        chrome = self._chrome if chrome is None else chrome
        return chrome.outside(element, self._content if content is None else content)

    def _chrome_around(self, element) -> Chrome:
        """Inside the article, a footer or header is the article's own (its source line), not the site's."""
        scope = self._article_scope
        inside = scope is not None and any(a is scope for a in element.iterancestors())
        return self._chrome_in_article if inside else self._chrome

    def _in_comments(self, element, content: frozenset | None = None) -> bool:
        return not self._comment_regions.outside(element, self._content if content is None else content)

    def _absolute(self, href: str | None) -> str | None:
        if not isinstance(href, str):  # A declared value may be anything: repair_url says None.
            return repair_url(href, base=self.url)
        if href not in self._absolutes:
            self._absolutes[href] = repair_url(href, base=self.url)
        return self._absolutes[href]

    @field_or(frozenset)
    def _body_markers(self) -> frozenset:
        """The layouts' text containers and every element around them: never furniture, whatever classes."""
        marked = [
            *self._index.find("news-text"),
            *self._index.find("NewsBody", "td"),
            *self._article_body_prop,
        ]
        return frozenset(node for element in marked for node in (element, *element.iterancestors()))

    @field_or(frozenset)
    def _headline_content(self) -> frozenset:
        """The headline and every element around it, with the text containers: where the text is sought."""
        headline = self._headline_element
        around = (headline, *headline.iterancestors()) if headline is not None else ()
        return self._body_markers.union(around)

    @field_or(frozenset)
    def _content(self) -> frozenset:
        """The headline, the text, and every element around either: the article, never furniture."""
        body = self._body_element
        return self._headline_content.union((body, *body.iterancestors()) if body is not None else ())

    # -- structure -----------------------------------------------------------------------------

    @field_or(lambda: (None, None))
    def _headline_found(self) -> tuple[str | None, object]:
        """The printed headline element and the strategy that found it."""
        for strategy in STRATEGIES[1:]:
            if (element := self._headline_in(strategy)) is not None:
                return strategy, element
        return None, None

    def _headline_in(self, strategy: str):
        """The headline element one strategy finds: the layout's class, the legacy cell, else landmarks."""
        if strategy not in self._headlines:
            self._headlines[strategy] = self._find_headline(strategy)
        return self._headlines[strategy]

    def _find_headline(self, strategy: str):
        candidates = {
            "layout": (lambda: self._index.find("news-title", "h1"),),
            "legacy": (lambda: self._index.find("NewsTitle", "td"),),
            "landmark": (
                lambda: self._xpath('//*[@itemprop="headline"]'),
                lambda: self._xpath("//h1"),
                lambda: [e for e in self._index.containing("title") if e.tag in ("h2", "div", "td")],
            ),
        }[strategy]
        markers = self._body_markers
        for found in candidates:
            for element in found():
                if (
                    text_of(element)
                    and self._outside_chrome(element, markers)
                    and not self._in_comments(element, markers)
                ):
                    return element
        if strategy != "landmark":
            return None
        # No marked headline: the element that prints the title the page's metadata gives.
        title = strip_site_name(self._meta("og:title", "twitter:title") or "") or strip_site_name(
            "".join(self._xpath("//title//text()"))
        )
        if title and self._root is not None:
            for element in self._root.xpath("//body//*[normalize-space(.) = $title]", title=title):
                if self._outside_chrome(element, markers) and not self._in_comments(element, markers):
                    return element
        return None

    @field_or(None)
    def _headline_element(self):
        return self._headline_found[1]

    @field_or(None)
    def _structural_body(self):
        """The body container of the current or the legacy layout, if it holds any text."""
        candidates = (
            lambda: self._index.find("news-text"),
            lambda: self._index.find("NewsBody", "td"),
            lambda: self._article_body_prop,
        )
        for found in candidates:
            for element in found():
                if self._paragraphs_of(element):
                    return element
        return None

    @field_or(None)
    def _body_element(self):
        if self._structural_body is not None:
            return self._structural_body
        return self._landmark_body

    @field_or(None)
    def _landmark_body(self):
        """The body found without the site's classes: body classes other sites use, else the densest text."""
        around_headline = self._headline_content
        # Any class attribute holding one of the names, as written (the index's tokens are lower case).
        candidates = self._index.containing(*(name.lower() for name in _OTHER_BODY_CLASSES))
        for element in (e for e in candidates if any(n in e.get("class") for n in _OTHER_BODY_CLASSES)):
            if (
                self._outside_chrome(element, around_headline)
                and not self._in_comments(element, around_headline)
                and self._paragraphs_of(element)
            ):
                return element
        return self._densest_block()

    def _densest_block(self):
        """The element holding the most paragraph text (the body of a page whose classes are unknown)."""
        if self._root is None:
            return None
        best, best_score = None, 80
        headline = self._headline_element
        above_headline = set(headline.iterancestors()) if headline is not None else set()
        around_headline = self._headline_content
        # The comments block and the elements around it hold the readers' text, not the article's. Known by
        # where the block is, not by words: an article may well say "comments: 300".
        region = self._comments_region
        around_comments = {region, *region.iterancestors()} if region is not None else set()
        seen_headline = headline is None
        printed: dict = {}  # Text lengths, computed for the elements the walk reaches (see _printed_length).
        stack = [self._root]
        while stack:
            element = stack.pop()
            if not isinstance(element.tag, str) or element.tag in ("script", "style", "head"):
                continue
            if element is headline:
                seen_headline = True
                continue
            if self._chrome.is_region(element, around_headline) or self._comment_regions.is_region(
                element, around_headline
            ):
                continue
            if element.tag in ("div", "td", "section", "article", "main", "span", "font"):
                score = len(clean_text(element.text))
                for child in element:
                    if not isinstance(child.tag, str):
                        score += len(clean_text(child.tail))
                    elif child.tag in _TEXT_CHILDREN:
                        score += _printed_length(child, printed) + len(clean_text(child.tail))
                # Only text after the headline, or around it, can be the article's; never the comments.
                if (
                    score > best_score
                    and (seen_headline or element in above_headline)
                    and element not in around_comments
                ):
                    best, best_score = element, score
            stack.extend(reversed(list(element)))
        return best

    def _paragraphs_of(self, element) -> list[str]:
        if element not in self._paragraphs_in:
            headline = self._headline_element
            self._paragraphs_in[element] = paragraphs(
                element, skip=lambda el: el is headline or el.tag == "h1"
            )
        return self._paragraphs_in[element]

    @field_or(None)
    def _article_scope(self):
        """The smallest element holding both headline and body: where the article's own images are."""
        headline, body = self._headline_element, self._body_element
        if body is None:
            return None
        if headline is None:
            return body
        ancestors = set()
        node = headline
        while node is not None:
            ancestors.add(node)
            node = node.getparent()
        node = body
        while node is not None and node not in ancestors:
            node = node.getparent()
        if node is None or node.tag in ("html", "body"):
            return body.getparent() if body.getparent() is not None else body
        return node

    @field_or("")
    def _page_text(self) -> str:
        return text_of(self._root) if self._root is not None else ""

    # -- strategies ----------------------------------------------------------------------------

    @field_or(Declared)
    def _declared(self) -> Declared:
        return read_declared(self._root, self.article_id, self._index)

    @field_or("landmark")
    def _page_layout(self) -> str:
        """The page's layout: credited with what site-wide landmarks (votes, comments, images) find."""
        if self._index.find("news-text") or self._index.find("news-title", "h1"):
            return "layout"
        if self._index.find("NewsBody", "td") or self._index.find("NewsTitle", "td"):
            return "legacy"
        return "landmark"

    def _readers(self, name: str) -> dict[str, Callable[[], object]]:
        """How each strategy reads one field, in the order they are tried."""
        if name not in self._reader_table:
            self._reader_table[name] = self._make_readers(name)
        return self._reader_table[name]

    def _make_readers(self, name: str) -> dict[str, Callable[[], object]]:
        declared, printed = self._declared, STRATEGIES[1:]
        if name == "headline":
            return {
                "structured": lambda: strip_site_name(declared.headline or "") or None,
                **{s: (lambda s=s: self._printed_headline(s)) for s in printed},
            }
        if name == "kind":
            return {
                "structured": lambda: _kind_of(self._reading("headline", "structured")) or declared.kind,
                **{s: (lambda s=s: _kind_of(self._reading("headline", s))) for s in printed},
            }
        if name == "section":
            return {
                "structured": self._declared_section,
                **{s: (lambda s=s: self._printed_section(s)) for s in printed},
            }
        if name == "published":
            return {
                "structured": lambda: declared.published,
                "layout": lambda: self._printed_date(self._index.find("news-date")),
                "legacy": lambda: self._printed_date(self._index.find("NewsDate", "td")),
                "landmark": self._date_landmark,
            }
        if name == "body":
            return {
                "structured": lambda: declared.body,
                **{s: (lambda s=s: self._printed_body(s)) for s in printed},
            }
        if name == "byline":
            return {
                "structured": lambda: declared.byline,
                **{s: (lambda s=s: self._printed_byline(s)) for s in printed},
            }
        # Site-wide landmarks (vote links, the comments block, the images around the text) are credited to
        # the layout the page is in.
        page = {
            "likes": lambda: self._counters.get("like"),
            "dislikes": lambda: self._counters.get("dislike"),
            "comments_count": self._printed_comments_count,
            "comments": lambda: self._printed_comments,
            "images": lambda: self._printed_images,
        }[name]
        structured = self._declared_images if name == "images" else lambda: getattr(declared, name)
        return {"structured": structured, self._page_layout: page}

    def _reading(self, name: str, strategy: str):
        """What one strategy reads for a field (None if it has no way to read it), computed once.

        A strategy that raises (a parser bug, a page no one foresaw) has read nothing: the next one is tried.
        """
        key = (name, strategy)
        if key not in self._read:
            read = self._readers(name).get(strategy)
            self._read[key] = read_or(self, name, read, None, by=strategy) if read is not None else None
        return self._read[key]

    def _found(self, name: str) -> tuple[str | None, object]:
        """(strategy, value) of a field: the first strategy, in order, that reads anything.

        A declared value the page also prints, in a fuller form, is kept as printed: the same headline
        with its "Opinion- " marker, the same text in its paragraphs, the same section with its link's
        id, the same images with their captions. Where the two disagree, the declaration wins.
        """
        if name in self._chosen:
            return self._chosen[name]
        if name == "kind":
            self._chosen[name] = self._kind_found()
            return self._chosen[name]
        found: tuple[str | None, object] = (None, None)
        for strategy in self._readers(name):
            value = self._reading(name, strategy)
            if _empty(value):
                continue
            if found[0] is None:
                found = (strategy, value)
                if strategy != "structured" or name not in _PRINTED_FORM:
                    break
            else:
                if value != found[1] and _PRINTED_FORM[name](found[1], value):
                    found = (strategy, value)
                break
        self._chosen[name] = found
        return found

    def _kind_found(self) -> tuple[str | None, str | None]:
        """A declared kind (OpinionNewsArticle), else the marker of the headline kept, and who found it."""
        strategy, headline = self._found("headline")
        marker, declared = _kind_of(headline), self._declared.kind
        if declared and not (marker and _PRINTED_FORM["kind"](declared, marker)):
            return "structured", declared
        return (strategy, marker) if marker else (None, None)

    @field_or(dict)
    def strategies(self) -> dict[str, str | None]:
        """Per field, the strategy that found it ("structured", "layout", "legacy", "landmark"), or None."""
        return {name: self._strategy(name) for name in FOUND_FIELDS}

    def _strategy(self, name: str) -> str | None:
        if name in ("section_id", "section"):
            strategy, value = self._found("section")
            return strategy if value and value[0 if name == "section_id" else 1] is not None else None
        if name in _ATTRIBUTION_FIELDS:
            return self._attribution_strategy(name)
        return self._found(name)[0]

    def _attribution_strategy(self, name: str) -> str | None:
        attribution = self._attribution
        if _empty(getattr(attribution, name)):
            return None
        if name in attribution.declared:
            return "structured"
        if name == "source" and attribution.source_from == "byline":
            return self._found("byline")[0]
        return self._found("body")[0]

    def explain(self) -> dict[str, dict]:
        """Per field: the value kept, the strategy that found it, and what each strategy read."""
        out = {}
        for name in FOUND_FIELDS:
            readings: dict[str, object] = dict.fromkeys(STRATEGIES)
            if name in ("section_id", "section"):
                for strategy in self._readers("section"):
                    found = self._reading("section", strategy)
                    readings[strategy] = found[0 if name == "section_id" else 1] if found else None
            elif name in _ATTRIBUTION_FIELDS:
                declared = self._declared
                # What the declaration alone gives: its text, its byline and its names.
                alone = read_attribution(declared.body, declared.byline)
                alone = with_declared(alone, declared.authors, declared.translators)
                readings["structured"] = getattr(alone, name)
                for strategy in STRATEGIES[1:]:
                    if body := self._reading("body", strategy):
                        printed = read_attribution([*self._header_credits(), *body], self.byline)
                        readings[strategy] = getattr(printed, name)
            else:
                for strategy in self._readers(name):
                    readings[strategy] = self._reading(name, strategy)
            if name == "body":
                readings = {s: "\n\n".join(v) if v else None for s, v in readings.items()}
            out[name] = {"strategy": self._strategy(name), "value": getattr(self, name), "readings": readings}
        return out

    @field_or(False)
    def is_not_found(self) -> bool:
        """Whether the page is positively the site's not-found page (a soft 404), not merely no article."""
        if self._root is None or self.is_article:
            return False
        if self._declared.not_found:  # An app shell's data says so ("page": "/404", "statusCode": 404).
            return True
        # The site's message ("could not be found") on a page with no article text to speak of.
        if len(self.body or "") < 400 and _NOT_FOUND.search(self._page_text):
            return True
        # The article template printed with nothing in it: title and text containers there, all empty.
        titles = [*self._index.find("news-title"), *self._index.find("NewsTitle", "td")]
        texts = [*self._index.find("news-text"), *self._index.find("NewsBody", "td")]
        if titles and texts and not any(text_of(e) for e in [*titles, *texts]):
            return True
        # The home page served at the article's address: the bare site name for a title, no headline,
        # no text, and a list of other articles.
        title = "".join(self._xpath("//head/title//text()"))
        links = {
            site_url.article_id
            for anchor in self._anchors
            if (site_url := self._site_url(self._index.hrefs[anchor])) is not None
            and site_url.kind == "article"
        }
        return (
            is_site_name(title)
            and self._headline_element is None
            and not self.body
            and len(links - {self.article_id}) >= 3
        )

    # -- fields --------------------------------------------------------------------------------

    @field_or(False)
    def is_article(self) -> bool:
        """False for anything but a whole article page: a soft 404, an empty, binary or truncated body."""
        if self._root is None or not self.headline or not self.body:
            return False
        if not self._closed and not self._end_landmark():
            return False
        # A soft 404's message ("could not be found") is short; an article may use the words in passing.
        if self._structural_body is None and len(self.body) < 400 and _NOT_FOUND.search(self._page_text):
            return False
        return bool(
            self._structural_body is not None
            or self._declared.is_article
            or self._vote_links
            or (self._meta("og:type") or "").lower() == "article"
            or self._names_this_article()
            or (self.published is not None and self.byline is not None)
        )

    def _end_landmark(self) -> bool:
        """Whether anything the site prints after the text (source line, votes, comments) reached us."""
        return bool(self.byline or self._vote_links or self._comments_region is not None)

    def _names_this_article(self) -> bool:
        for href in self._xpath('//link[@rel="canonical"]/@href | //meta[@property="og:url"]/@content'):
            if canonical_article_url(self._absolute(href)) == self.url:
                return True
        return False

    @field_or(None)
    def headline(self) -> str | None:
        """The headline as printed, title markers included."""
        return self._found("headline")[1]

    def _printed_headline(self, strategy: str) -> str | None:
        element = self._headline_in(strategy)
        if element is not None:
            return " ".join(paragraphs(element)) or None
        if strategy == "landmark":
            return strip_site_name("".join(self._xpath("//title//text()"))) or None
        return None

    @field_or(None)
    def kind(self) -> str | None:
        """'opinion' or 'perspective': declared (OpinionNewsArticle), else the headline's marker."""
        return self._found("kind")[1]

    @field_or(None)
    def _section_link(self):
        """The printed section link: the current layout's, the legacy layout's, else a landmark."""
        return next((link for s in STRATEGIES[1:] if (link := self._section_link_in(s)) is not None), None)

    def _section_link_in(self, strategy: str):
        def links_in(elements):
            return [a for e in elements for a in e.iter("a") if self._listing_href(a) is not None]

        # The info line names one section; a breadcrumb runs from Home to the narrowest, so take its last.
        if strategy == "layout":
            links = links_in(self._index.find("news-section", "a")) or links_in(self._index.find("news-info"))
            return links[0] if links else None
        if strategy == "legacy":
            links = links_in(self._index.find("path", "td"))
            return links[-1] if links else None
        links = links_in(self._index.containing("breadcrumb"))
        return links[-1] if links else self._nearest_section_link()

    def _printed_section(self, strategy: str) -> tuple[int | None, str | None] | None:
        link = self._section_link_in(strategy)
        if link is None:
            return None
        return self._listing_href(link).section_id, text_of(link) or clean_text(link.get("title")) or None

    def _declared_section(self) -> tuple[int | None, str | None] | None:
        """The declared section; its id from its URL, else from the page's link of the same name."""
        declared = self._declared
        section_id = declared.section_id
        if section_id is None and declared.section_url:
            site_url = classify(self._absolute(declared.section_url) or "")
            section_id = site_url.section_id if site_url is not None and site_url.kind == "listing" else None
        if section_id is None and declared.section:
            for anchor in self._anchors:
                if _fold(text_of(anchor)) == _fold(declared.section) and (
                    found := self._listing_href(anchor)
                ):
                    section_id = found.section_id
                    break
        if section_id is None and not declared.section:
            return None
        return section_id, declared.section

    def _listing_href(self, anchor):
        href = self._index.hrefs.get(anchor)  # Every <a> of the page with an href is there.
        if not href or not _MAY_NAME_LISTING.search(unquote(unquote(href.translate(_URL_DROPS)))):
            return None  # No "articles" in it, however decoded: no /news/articles/ link (see site.py).
        site_url = self._site_url(href)
        return site_url if site_url is not None and site_url.kind == "listing" else None

    def _site_url(self, href: str | None):
        """What a link of the page names on the site (see site.classify), read once per distinct href."""
        if href not in self._site_urls:
            self._site_urls[href] = _classify(self._absolute(href))
        return self._site_urls[href]

    @field_or(list)
    def _article_body_prop(self) -> list:
        """The elements marked itemprop="articleBody" (microdata's text), in page order."""
        return [element for element in self._index.with_itemprop if element.get("itemprop") == "articleBody"]

    @field_or(list)
    def _anchors(self) -> list:
        """Every <a href> of the page, in page order."""
        return self._index.anchors

    def _nearest_section_link(self):
        """The section link closest to the headline (or the text), menus and sidebars left out."""
        anchor = self._headline_element if self._headline_element is not None else self._body_element
        if anchor is None:
            return None
        order = self._page_order
        target = order.get(anchor, 0)
        # Nearest first, the earlier of two as near (a stable sort of links in page order), each link tested
        # only until one is a section link outside the furniture: most are never read.
        nearest_first = sorted(self._anchors, key=lambda a: abs(order.get(a, 0) - target))
        return next(
            (
                a for a in nearest_first
                if self._listing_href(a) is not None and self._outside_chrome(a) and not self._in_comments(a)
            ),
            None,
        )  # fmt: skip

    @field_or(None)
    def section_id(self) -> int | None:
        """The id of the section the page declares or links in its info line or breadcrumb."""
        found = self._found("section")[1]
        return found[0] if found else None

    @field_or(None)
    def section(self) -> str | None:
        """The name of that section, as declared or as the link prints it."""
        found = self._found("section")[1]
        return found[1] if found else None

    @field_or(None)
    def published(self) -> str | None:
        """The publication time in UTC ISO-8601 (a printed date line is Damascus local time)."""
        return self._found("published")[1]

    def _printed_date(self, elements) -> str | None:
        for element in elements:
            if not self._in_comments(element) and (found := parse_published(text_of(element))):
                return found
        return None

    def _date_landmark(self) -> str | None:
        """A date printed near the headline: a date-classed element, a <time>, or the info line."""
        candidates = [
            e for e in [*self._xpath("//time"), *self._index.containing("date")]
            if self._outside_chrome(e) and not self._in_comments(e)
        ]  # fmt: skip
        link = self._section_link
        if link is not None and link.getparent() is not None:
            candidates.append(link.getparent())
        for element in candidates:
            found = parse_published(element.get("datetime") or text_of(element))
            if found:
                return found
        # The last resort: a line with a date and a time printed just before the text.
        body = self._body_element
        for text, _owner in itertools.islice(printed_text_before(body), 12) if body is not None else ():
            if _DIGITS.search(text) and ":" in text and (found := parse_published(text)):
                return found
        return None

    @field_or(None)
    def body(self) -> str | None:
        """The article text: paragraphs joined by a blank line."""
        return "\n\n".join(self._paragraphs) or None

    @field_or(list)
    def _paragraphs(self) -> list[str]:
        return self._found("body")[1] or []

    def _printed_body(self, strategy: str) -> list[str]:
        if strategy == "layout":
            element = _first([e for e in self._index.find("news-text") if self._paragraphs_of(e)])
        elif strategy == "legacy":
            element = _first([e for e in self._index.find("NewsBody", "td") if self._paragraphs_of(e)])
        else:
            element = self._landmark_body
        return self._paragraphs_of(element) if element is not None else []

    @field_or(Attribution)
    def _attribution(self) -> Attribution:
        # Read from the text the same way whichever strategy found it; declared names only fill gaps.
        return with_declared(
            read_attribution([*self._header_credits(), *self._paragraphs], self.byline),
            self._declared.authors,
            self._declared.translators,
        )

    def _header_credits(self) -> list[str]:
        """Credit lines printed between the headline and the text ("By A and B" under a new title)."""
        headline, body = self._headline_element, self._body_element
        scope = self._article_scope
        if headline is None or body is None or scope is None:
            return []
        found: list[str] = []
        started = False
        for element in scope.iter():
            if element is headline:
                started = True
            elif element is body or len(found) == 2:
                break
            elif (
                started
                and isinstance(element.tag, str)
                and element.tag.lower() in ("p", "div", "span", "address", "a", "li", "small")
                and headline not in element.iterancestors()
                and (text := text_of(element))
                and is_credit_line(text)
                and text not in found
            ):
                found.append(text)
        return found

    @field_or(None)
    def source(self) -> str | None:
        """The outlet named in the lead attribution, else the byline."""
        return self._attribution.source

    @field_or(list)
    def authors(self) -> list[str]:
        """Authors named in the attribution lines (declared authors when the text names none)."""
        return list(self._attribution.authors)

    @field_or(list)
    def translators(self) -> list[str]:
        """Translators named in the attribution lines (declared ones when the text names none)."""
        return list(self._attribution.translators)

    @field_or(None)
    def dateline(self) -> str | None:
        """The place before a wire lead ("BEIRUT")."""
        return self._attribution.dateline

    @field_or(False)
    def with_agencies(self) -> bool:
        """Whether the text closes with "(With Agencies)" / "(وكالات)"."""
        return self._attribution.with_agencies

    @field_or(None)
    def byline(self) -> str | None:
        """The source line printed under the body."""
        return self._found("byline")[1]

    def _printed_byline(self, strategy: str) -> str | None:
        if strategy == "landmark":
            return self._byline_landmark()
        elements = (
            self._index.find("news-source") if strategy == "layout" else self._index.find("NewsWriter", "td")
        )
        return next((text for e in elements if (text := " ".join(paragraphs(e)))), None)

    def _byline_landmark(self) -> str | None:
        """The first short line after the body, if it is not a counter, a share link or the comments."""
        body = self._body_element
        if body is None:
            return None
        first = next(printed_text_after(body), None)
        if first is None:
            return None
        text, parent = clean_text(first[0]), first[1]
        if (
            len(text) > 80
            or _COUNTER.match(text)
            or _TOTAL_COMMENTS.search(text)
            or parent is None
            or parent.tag == "a"
            or not self._outside_chrome(parent, chrome=self._chrome_around(parent))
            or self._in_comments(parent)
            or is_chrome(parent, re.compile(r"vote|like|count|date|tag", re.I))
            or parse_published(text)
        ):
            return None
        return text

    @field_or(dict)
    def _vote_links(self) -> dict[str, object]:
        found: dict[str, object] = {}
        for anchor, href in self._index.hrefs.items():  # Every <a href>, in page order.
            # What the XPath contains(translate(@href, "LIKE", "like"), "like") or contains(@href, "%") said.
            # Every such link holds a k, a K or a %: a test cheaper than translate, which most links fail.
            if "%" not in href and (
                "k" not in href and "K" not in href or "like" not in href.translate(_LIKE_CASE)
            ):
                continue
            site_url = self._site_url(href)
            if site_url is None or site_url.kind != "vote":
                continue
            vote = "dislike" if site_url.path.rstrip("/").lower().endswith("dislike") else "like"
            # A vote link for this article beats one for another (a sidebar could carry its own).
            if vote not in found or (site_url.article_id == self.article_id != found[vote][1]):
                found[vote] = (anchor, site_url.article_id)
        return {vote: anchor for vote, (anchor, _) in found.items()}

    @staticmethod
    def _count_in(texts) -> int | None:
        for text in texts:
            m = _VOTE_COUNT.match(clean_text(text))
            if m:
                return int(western_digits(m.group(1)))
        return None

    @field_or(dict)
    def _counters(self) -> dict[str, int | None]:
        """Both vote counters, read on the same side of their links: after them ("(55)"), else before.

        The side is the one where every link has its number: read after the links, "(55) like (61) dislike"
        would give the like link the dislike's number.
        """
        links = self._vote_links
        counts: dict[str, int | None] = {vote: self._count_in([text_of(a)]) for vote, a in links.items()}
        sides = []
        for printed_text in (printed_text_after, printed_text_before):
            sides.append(
                {
                    vote: self._count_in(text for text, _owner in itertools.islice(printed_text(a), 1))
                    for vote, a in links.items()
                    if counts[vote] is None
                }
            )
            if None not in sides[0].values():
                break  # Every number read after its link: the side before could only tie, and ties go after.
        best = max(sides, key=lambda found: sum(value is not None for value in found.values()))
        counts.update(best)
        return counts

    @field_or(None)
    def likes(self) -> int | None:
        """The number beside the like link; None without a vote widget."""
        return self._found("likes")[1]

    @field_or(None)
    def dislikes(self) -> int | None:
        """The number beside the dislike link; None without a vote widget."""
        return self._found("dislikes")[1]

    @field_or(None)
    def _comments_region(self):
        # A page-wide wrapper classed "comments" (or one around the headline) holds the article, not comments.
        around_headline = self._headline_content
        for found in (
            lambda: self._index.find("comments"),
            lambda: self._index.find("NewsComments", "td"),
            lambda: self._xpath('//*[@id="comments"]'),
        ):
            element = _first([e for e in found() if self._comment_regions.is_region(e, around_headline)])
            if element is not None:
                return element
        # A landmark: the element printing "Total Comments (N)".
        for node in self._xpath(
            '//text()[contains(., "Total Comments") or contains(., "مجموع التعليقات")'
            ' or contains(., "عدد التعليقات")]'
        ):
            parent = node.getparent()
            if parent is not None:
                return parent.getparent() if parent.getparent() is not None else parent
        return None

    @field_or(None)
    def comments_count(self) -> int | None:
        """The N of "Total Comments (N)"; None when the page has no comments block."""
        return self._found("comments_count")[1]

    def _printed_comments_count(self) -> int | None:
        region = self._comments_region
        if region is None:
            return None  # The article's own text may say "comments: 300".
        for text in (lambda: text_of(region), lambda: self._page_text):
            m = _TOTAL_COMMENTS.search(text())
            if m:
                return int(western_digits(m.group(1)))
        return len(self._printed_comments)

    @field_or(list)
    def comments(self) -> list[dict]:
        """Readers' comments in page order: author, posted (UTC), text."""
        return self._found("comments")[1] or []

    @field_or(list)
    def _printed_comments(self) -> list[dict]:
        region = self._comments_region
        if region is None:
            return []
        items = [
            e
            for e in region.iter()
            if isinstance(e.tag, str) and e is not region and is_chrome(e, _COMMENT_ITEM)
        ]
        found = [c for c in (self._comment(item) for item in items) if c is not None]
        if found:
            return found
        # No markup per comment: read the printed lines, if the page says there are comments to read.
        total = _TOTAL_COMMENTS.search(text_of(region))
        return _comments_from_lines(lines(region)) if total and int(western_digits(total.group(1))) else []

    def _comment(self, item) -> dict | None:
        def part(pattern: str):
            for element in item.iter():
                if (
                    isinstance(element.tag, str)
                    and element is not item
                    and re.search(pattern, classes(element), re.I)
                ):
                    return element
            return None

        name, date, text = (
            part(r"name|author|writer|user"),
            part(r"date|time"),
            part(r"text|body|content|message"),
        )
        body = "\n\n".join(paragraphs(text)) if text is not None else ""
        if not body:
            skip = {e for e in (name, date) if e is not None}
            body = "\n\n".join(paragraphs(item, skip=lambda el: el in skip))
        if not body:
            return None
        posted = parse_published(date.get("datetime") or text_of(date)) if date is not None else None
        return {
            "author": (text_of(name) or None) if name is not None else None,
            "posted": posted,
            "text": body,
        }

    @field_or(list)
    def images(self) -> list[dict]:
        """The article's own images: absolute URL on the real origin, and caption."""
        return self._found("images")[1] or []

    def _declared_images(self) -> list[dict]:
        """The declared images on the real origin, captioned as printed where the page prints them.

        The social card (og:image) counts only where the page prints no image of its own.
        """
        printed = {image["url"]: image["caption"] for image in self._printed_images}
        declared = self._declared.images or ([] if printed else self._declared.share_images)
        found: list[dict] = []
        for image in declared:
            url = self._absolute(image["url"]) or ""
            site_url = classify(url)
            if site_url is not None and site_url.kind != "image":
                continue  # The site's logo or a page, never the article's photo.
            url = site_url.canonical if site_url is not None else url
            if url.startswith(("http://", "https://")) and url not in (i["url"] for i in found):
                found.append({"url": url, "caption": image["caption"] or printed.get(url)})
        return found

    @field_or(list)
    def _printed_images(self) -> list[dict]:
        scope = self._article_scope
        found: list[dict] = []
        seen: set[str] = set()
        body = self._body_element
        for img in scope.iter("img", "amp-img") if scope is not None else ():
            if self._in_comments(img) or not self._outside_chrome(img):
                continue
            src = self._image_src(img)
            if not src:
                continue
            site_url = _classify(src)
            if site_url is not None:
                if site_url.kind != "image":
                    continue  # Site furniture: /images/like.png, /captcha/...
                src = site_url.canonical
            elif not (
                body is not None and any(a is body for a in img.iterancestors())
            ) and not self._in_figure(img):
                continue
            if src not in seen:
                seen.add(src)
                found.append({"url": src, "caption": self._caption(img)})
        return found

    def _image_src(self, img) -> str | None:
        src = img.get("src") or ""
        lazy = img.get("data-src") or img.get("data-original") or img.get("data-lazy-src")
        if lazy and (
            not src or src.startswith("data:") or re.search(r"blank|loading|placeholder|spacer", src, re.I)
        ):
            src = lazy
        src = src.strip()
        if not src or src.startswith("data:"):
            return None
        absolute = self._absolute(src)
        # Only what a browser would fetch: `<img src=A:>` or `javascript:` is no image.
        return absolute if absolute and absolute.lower().startswith(("http://", "https://")) else None

    @staticmethod
    def _in_figure(img) -> bool:
        return any(
            a.tag == "figure" or re.search(r"image|photo|figure|picture|media", classes(a), re.I)
            for a in img.iterancestors()
        )

    def _caption(self, img) -> str | None:
        for ancestor in img.iterancestors():
            if ancestor.tag == "figure":
                caption = _first(ancestor.xpath(".//figcaption"))
                if caption is not None and text_of(caption):
                    return text_of(caption)
            for caption in ancestor.xpath('./*[contains(@class, "caption") or contains(@class, "Caption")]'):
                if text_of(caption):
                    return text_of(caption)
            if ancestor.tag in ("figure", "td", "p") or len(ancestor) > 3:
                break
        # A caption printed after the image in a block of its own: the next row of the legacy layout's
        # table, or the paragraph right after an image inside the text.
        body, scope = self._body_element, self._article_scope
        for caption in self._caption_after(img):
            inside = set(caption.iterancestors())
            outside_body = body is None or (body not in inside and body is not caption)
            right_after = any(
                node.getnext() is caption for node in (img, *img.iterancestors()) if node is not body
            )
            if scope in inside and (outside_body or right_after):
                return text_of(caption) or None
        # Unmarked: a short line right beside the image in the image's own box (not in the text itself).
        beside = img.getnext()
        if (
            beside is not None
            and img.getparent() is not body
            and beside.tag in ("div", "span", "p", "em", "small")
        ):
            text = text_of(beside)
            if 0 < len(text) <= 200:
                return text
        return None

    def _caption_after(self, img) -> list:
        """The first element after an image classed "...caption..." (XPath's following::*[...][1]).

        From the class index in page order, not an XPath over the rest of the page for every image.
        """
        order = self._page_order
        position = order[img]
        for caption in self._index.containing("caption"):
            if order[caption] > position and not any(a is img for a in caption.iterancestors()):
                return [caption]
        return []

    @field_or(dict)
    def _page_order(self) -> dict:
        """Every node's position in page order, computed once for the steps that compare positions."""
        return {node: i for i, node in enumerate(self._root.iter())} if self._root is not None else {}

    def to_item(self) -> Article:
        """Every field as one Article; a page that is not an article carries only url and is_article."""
        if not self.is_article:
            return Article(url=self.url, is_article=False, not_found=self.is_not_found)
        values = {name: getattr(self, name) for name in FIELDS}
        values["comments"] = [Comment(**comment) for comment in values["comments"]]
        values["images"] = [Image(**image) for image in values["images"]]
        return Article(**{**values, "is_article": True})


def extract_article(html: bytes | str, url: str) -> dict:
    """The fields of a saved article page as JSON; ValueError if the URL is not a Zaman al-Wasl article."""
    return ArticlePage(url, html).to_item().to_dict()


def _comments_from_lines(printed: list[str]) -> list[dict]:
    """Comments printed as bare lines (no markup per comment): a line with a date opens each one.

    Between "Total Comments (N)" and the form: "NAME DATE" or "NAME" then "DATE", then the text lines.
    """
    start = next((i + 1 for i, line in enumerate(printed) if _TOTAL_COMMENTS.search(line)), 0)
    end = next(
        (i for i, line in enumerate(printed) if i >= start and _FORM_LANDMARK.search(line)), len(printed)
    )
    printed = printed[start:end]
    dated = [_comment_date(line) for line in printed]
    comments: list[dict] = []
    texts: list[list[str]] = []
    for i, line in enumerate(printed):
        if dated[i] is None:
            # "NAME" on its own line, its date on the next: the name opens the next comment.
            next_is_bare_date = i + 1 < len(printed) and dated[i + 1] and not text_before_date(printed[i + 1])
            if not next_is_bare_date and texts:
                texts[-1].append(line)
            continue
        author = text_before_date(line) or None
        if author is None and i > 0 and dated[i - 1] is None:
            author = printed[i - 1]
        comments.append({"author": author, "posted": dated[i], "text": ""})
        texts.append([])
    for comment, text in zip(comments, texts, strict=True):
        comment["text"] = clean_text(" ".join(text))
    return [c for c in comments if c["text"]]


def _printed_length(element, lengths: dict) -> int:
    """The length of an element's text, its descendants' included, from the leaves up; `lengths` keeps
    every element's, so each is computed once.

    Joining each element's text anew would cost the square of the depth: inline tags left unclosed a
    thousand times over nest a thousand deep.
    """
    stack = [(element, False)]
    while stack:
        node, children_done = stack.pop()
        if node in lengths:
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in node if isinstance(child.tag, str))
            continue
        total = len(clean_text(node.text))
        for child in node:
            total += lengths.get(child, 0) + len(clean_text(child.tail))
        lengths[node] = total
    return lengths[element]


def _comment_date(line: str) -> str | None:
    """The date a comment's opening line prints ("NAME DATE TIME", or the stamp alone), as UTC; else None.

    A line of a comment's text may mention a date too ("they came back on 19/04/2018."): only a line
    holding a short name, then a date with its time of day and nothing else, opens a comment.
    """
    if not _DIGITS.search(line):
        return None
    posted = parse_published(line)
    if posted is None:
        return None
    author = text_before_date(line)
    stamp = line[line.find(author) + len(author) :] if author else line
    if (
        len(author.split()) > 6
        or _SENTENCE_STOP.search(author)
        or not _CLOCK.search(western_digits(stamp))
        or (_SENTENCE_STOP.search(stamp[-1:]) and not _AM_PM_END.search(stamp))
        or not date_only(stamp)
    ):
        return None
    return posted
