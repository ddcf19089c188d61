"""ArticlePage: the fields of one article page, each read from metadata, layout classes, then landmarks."""

from __future__ import annotations

import re

from zwcrawl.article import Article, Comment, Image
from zwcrawl.extract.attribution import Attribution, read_attribution
from zwcrawl.extract.dates import date_only, parse_published, text_before_date
from zwcrawl.extract.decode import decode_html, ends_whole
from zwcrawl.extract.fields import field_or
from zwcrawl.extract.links import links_in
from zwcrawl.extract.markup import (
    Chrome,
    ClassIndex,
    classes,
    from_url,
    is_chrome,
    lines,
    paragraphs,
    parse_html,
    text_of,
)
from zwcrawl.extract.text import clean_text, strip_site_name, western_digits
from zwcrawl.site import canonical_article_url, classify, repair_url

FIELDS = Article.names()  # the archive's field order, named once in zwcrawl.article

# Page furniture around an article: never its headline, text, section link or images.
_CHROME = re.compile(
    r"menu|(?:^|[-_])nav|(?:^|[-_])side(?:bar)?(?:$|[-_])|footer|^(?:site-)?header$|^top$|most-?read|latest"
    r"|pager|paginat|related|social|share|banner|advert|^ads?$|widget|logo|search|news-?list|news-?item"
    r"|not-?found|error|^e?404$",
    re.I,
)
_COMMENTS = re.compile(r"comment", re.I)
_COMMENT_ITEM = re.compile(
    r"^comment(?:[-_]?(?:item|box|row|entry|block))?$|^(?:user-?)?comment[-_]?\d+$", re.I
)
_NOT_FOUND = re.compile(
    r"could not be found|can ?not be found|was not found|page not found|does not exist|no longer available"
    r"|لم يتم العثور|غير موجود|غير متوفر|لا يوجد خبر|الصفحة المطلوبة",
    re.I,
)
_COUNTER = re.compile(r"^\(?\s*([0-9٠-٩۰-۹]+)\s*\)?$")
# The number beside a vote link: "(55)", "55", "(7) |" where the two links share a line.
_VOTE_COUNT = re.compile(r"^[(\[]?\s*([0-9٠-٩۰-۹]+)\s*[)\]]?(?:\s*[|/·•,-])?$")
_TOTAL_COMMENTS = re.compile(
    r"(?:total\s+comments|comments|مجموع\s+التعليقات|عدد\s+التعليقات|التعليقات)\s*(?:\(\s*|:\s*)([0-9٠-٩۰-۹]+)",
    re.I,
)
_KINDS = (
    ("opinion", re.compile(r"^\s*(?:opinion|op-ed|رأي|راي|مقال رأي)\s*[-–—:|]|[-–—:|]\s*opinion\s*$", re.I)),
    ("perspective", re.compile(r"^\s*(?:perspective|وجهة نظر)\s*[-–—:|]|[-–—:|]\s*perspective\s*$", re.I)),
)
_OTHER_BODY_CLASSES = "//*[{}]".format(
    " or ".join(
        f'contains(@class, "{name}")'
        for name in (
            "article-body", "articleBody", "post-content", "entry-content", "story-body", "news-body",
            "NewsText", "news_text", "news-content",
        )
    )
)  # fmt: skip
# Children whose text counts towards a block's share of the page's prose.
_TEXT_CHILDREN = frozenset(["p", "br", "b", "strong", "i", "em", "a", "span", "font", "u"])
# What closes the comments: the form's title and note ("Comments About This Article", "Please fill ...").
_FORM_LANDMARK = re.compile(
    r"comments about this article|please fill the fields|code confirming"
    r"|التعليقات على هذا|يرجى تعبئة|رمز التأكيد",
    re.I,
)
_DIGITS = re.compile(r"[0-9٠-٩۰-۹]")
# Text a browser prints: what scripts and style sheets hold is not (an XPath predicate on text nodes).
_PRINTED = "not(ancestor::script or ancestor::style or ancestor::noscript)"
# A comment's stamp prints the time of day; a sentence stop ends text, never a stamp ("9:30 p.m." aside).
_CLOCK = re.compile(r"\d{1,2}[:٫]\d{2}")
_SENTENCE_STOP = re.compile(r"[.!?؟…]")
_AM_PM_END = re.compile(r"[ap]\.m\.\s*$", re.I)


def _first(elements):
    return elements[0] if elements else None


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
        self._sel = parse_html(text)
        self._root = self._sel.root if self._sel is not None else None
        self._classes = ClassIndex(self._root)
        self._chrome = Chrome(self._root, _CHROME)
        # The comment form is a region too; an ASP.NET page wraps everything in one <form>, which is not.
        self._comment_regions = Chrome(self._root, _COMMENTS, tags=frozenset(["form"]))

    # -- identity ------------------------------------------------------------------------------

    article_id = from_url("article_id", "The article's number in its edition.")
    edition = from_url("edition", "'en' or 'ar'.")

    @property
    def whole(self) -> bool:
        """Whether the page reached its </body> or </html>: a page cut short in transit does not."""
        return self._closed

    def links(self, base_url: str) -> list[str]:
        """Every link of the page, made absolute against the URL it was fetched as (see page_links)."""
        return links_in(self._sel, base_url)

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

    def _outside_chrome(self, element, content: frozenset | None = None) -> bool:
        # Furniture is a region beside the article, never an element around it (see Chrome); `content` is
        # what is known of the article so far, all of it unless a step that finds it asks.
        return self._chrome.outside(element, self._content if content is None else content)

    def _in_comments(self, element, content: frozenset | None = None) -> bool:
        return not self._comment_regions.outside(element, self._content if content is None else content)

    def _absolute(self, href: str | None) -> str | None:
        return repair_url(href, base=self.url)

    @field_or(frozenset)
    def _body_markers(self) -> frozenset:
        """The layouts' text containers and every element around them: never furniture, whatever classes."""
        marked = [
            *self._classes.find("news-text"),
            *self._classes.find("NewsBody", "td"),
            *self._xpath('//*[@itemprop="articleBody"]'),
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

    @field_or(None)
    def _headline_element(self):
        candidates = (
            lambda: self._classes.find("news-title", "h1"),
            lambda: self._classes.find("NewsTitle", "td"),
            lambda: self._xpath('//*[@itemprop="headline"]'),
            lambda: self._xpath("//h1"),
            lambda: [e for e in self._classes.containing("title") if e.tag in ("h2", "div", "td")],
        )
        markers = self._body_markers
        for found in candidates:
            for element in found():
                if (
                    text_of(element)
                    and self._outside_chrome(element, markers)
                    and not self._in_comments(element, markers)
                ):
                    return element
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
    def _structural_body(self):
        """The body container of the current or the legacy layout, if it holds any text."""
        candidates = (
            lambda: self._classes.find("news-text"),
            lambda: self._classes.find("NewsBody", "td"),
            lambda: self._xpath('//*[@itemprop="articleBody"]'),
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
        # Body classes other sites and older templates use, before guessing from the text itself.
        around_headline = self._headline_content
        for element in self._xpath(_OTHER_BODY_CLASSES):
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
        printed = _printed_lengths(self._root)
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
                        score += printed[child] + len(clean_text(child.tail))
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
        headline = self._headline_element
        return paragraphs(element, skip=lambda el: el is headline or el.tag == "h1")

    @field_or(list)
    def _paragraphs(self) -> list[str]:
        body = self._body_element
        return self._paragraphs_of(body) if body is not None else []

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
        element = self._headline_element
        text = " ".join(paragraphs(element)) if element is not None else ""
        if not text:
            text = strip_site_name(self._meta("og:title", "twitter:title") or "")
        if not text:
            text = strip_site_name("".join(self._xpath("//title//text()")))
        return text or None

    @field_or(None)
    def kind(self) -> str | None:
        """'opinion' or 'perspective' from the headline's marker, else None."""
        for kind, pattern in _KINDS:
            if self.headline and pattern.search(self.headline):
                return kind
        return None

    @field_or(None)
    def _section_link(self):
        def links_in(elements):
            return [a for e in elements for a in e.iter("a") if self._listing_href(a) is not None]

        # The info line names one section; a breadcrumb runs from Home to the narrowest, so take its last.
        for links, last in (
            (links_in(self._classes.find("news-section", "a")), False),
            (links_in(self._classes.find("news-info")), False),
            (links_in(self._classes.find("path", "td")), True),
            (links_in(self._classes.containing("breadcrumb")), True),
        ):
            if links:
                return links[-1] if last else links[0]
        return self._nearest_section_link()

    def _listing_href(self, anchor):
        href = anchor.get("href")
        site_url = classify(self._absolute(href)) if href else None
        return site_url if site_url is not None and site_url.kind == "listing" else None

    def _nearest_section_link(self):
        """The section link closest to the headline (or the text), menus and sidebars left out."""
        anchor = self._headline_element if self._headline_element is not None else self._body_element
        if anchor is None:
            return None
        order = {element: i for i, element in enumerate(self._root.iter())}
        target = order.get(anchor, 0)
        links = [
            a for a in self._xpath("//a[@href]")
            if self._listing_href(a) is not None and self._outside_chrome(a) and not self._in_comments(a)
        ]  # fmt: skip
        return min(links, key=lambda a: abs(order.get(a, 0) - target), default=None)

    @field_or(None)
    def section_id(self) -> int | None:
        """The id of the section the page links in its info line or breadcrumb."""
        link = self._section_link
        return self._listing_href(link).section_id if link is not None else None

    @field_or(None)
    def section(self) -> str | None:
        """The name of that section, as the link prints it."""
        link = self._section_link
        if link is None:
            return None
        return text_of(link) or clean_text(link.get("title")) or None

    @field_or(None)
    def published(self) -> str | None:
        """The date line (Damascus local time) in UTC ISO-8601."""
        for element in [*self._classes.find("news-date"), *self._classes.find("NewsDate", "td")]:
            if not self._in_comments(element) and (found := parse_published(text_of(element))):
                return found
        for value in self._xpath(
            '//*[@itemprop="datePublished"]/@content | //*[@itemprop="datePublished"]/@datetime'
            ' | //meta[@property="article:published_time" or @name="pubdate" or @name="publishdate"]/@content'
        ):
            if found := parse_published(value):
                return found
        return self._date_landmark()

    def _date_landmark(self) -> str | None:
        """A date printed near the headline: a date-classed element, a <time>, or the info line."""
        candidates = [
            e for e in [*self._xpath("//time"), *self._classes.containing("date")]
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
        for text in reversed(
            body.xpath(f"preceding::text()[normalize-space()][{_PRINTED}][position() <= 12]")
            if body is not None
            else []
        ):
            if _DIGITS.search(text) and ":" in text and (found := parse_published(text)):
                return found
        return None

    @field_or(None)
    def body(self) -> str | None:
        """The article text: paragraphs joined by a blank line."""
        return "\n\n".join(self._paragraphs) or None

    @field_or(Attribution)
    def _attribution(self) -> Attribution:
        return read_attribution(self._paragraphs, self.byline)

    @field_or(None)
    def source(self) -> str | None:
        """The outlet named in the lead attribution, else the byline."""
        return self._attribution.source

    @field_or(list)
    def authors(self) -> list[str]:
        """Authors named in the attribution lines."""
        return list(self._attribution.authors)

    @field_or(list)
    def translators(self) -> list[str]:
        """Translators named in the attribution lines."""
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
        for element in [*self._classes.find("news-source"), *self._classes.find("NewsWriter", "td")]:
            if text := " ".join(paragraphs(element)):
                return text
        return self._byline_landmark()

    def _byline_landmark(self) -> str | None:
        """The first short line after the body, if it is not a counter, a share link or the comments."""
        body = self._body_element
        if body is None:
            return None
        nodes = body.xpath(f"following::text()[normalize-space()][{_PRINTED}][1]")
        if not nodes:
            return None
        text = clean_text(nodes[0])
        parent = nodes[0].getparent()
        if (
            len(text) > 80
            or _COUNTER.match(text)
            or _TOTAL_COMMENTS.search(text)
            or parent is None
            or parent.tag == "a"
            or not self._outside_chrome(parent)
            or self._in_comments(parent)
            or is_chrome(parent, re.compile(r"vote|like|count|date|tag", re.I))
            or parse_published(text)
        ):
            return None
        return text

    @field_or(dict)
    def _vote_links(self) -> dict[str, object]:
        found: dict[str, object] = {}
        for anchor in self._xpath(
            '//a[contains(translate(@href, "LIKE", "like"), "like") or contains(@href, "%")]'
        ):
            site_url = classify(self._absolute(anchor.get("href")))
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
        for side in ("following", "preceding"):
            query = f"{side}::text()[normalize-space()][{_PRINTED}][1]"
            sides.append(
                {vote: self._count_in(a.xpath(query)) for vote, a in links.items() if counts[vote] is None}
            )
        best = max(sides, key=lambda found: sum(value is not None for value in found.values()))
        counts.update(best)
        return counts

    def _counter(self, vote: str) -> int | None:
        return self._counters.get(vote)

    @field_or(None)
    def likes(self) -> int | None:
        """The number beside the like link; None without a vote widget."""
        return self._counter("like")

    @field_or(None)
    def dislikes(self) -> int | None:
        """The number beside the dislike link; None without a vote widget."""
        return self._counter("dislike")

    @field_or(None)
    def _comments_region(self):
        # A page-wide wrapper classed "comments" (or one around the headline) holds the article, not comments.
        around_headline = self._headline_content
        for found in (
            lambda: self._classes.find("comments"),
            lambda: self._classes.find("NewsComments", "td"),
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
        region = self._comments_region
        if region is None:
            return None  # The article's own text may say "comments: 300".
        for text in (lambda: text_of(region), lambda: self._page_text):
            m = _TOTAL_COMMENTS.search(text())
            if m:
                return int(western_digits(m.group(1)))
        return len(self.comments)

    @field_or(list)
    def comments(self) -> list[dict]:
        """Readers' comments in page order: author, posted (UTC), text."""
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
        scope = self._article_scope
        found: list[dict] = []
        seen: set[str] = set()
        body = self._body_element
        for img in scope.iter("img") if scope is not None else ():
            if self._in_comments(img) or not self._outside_chrome(img):
                continue
            src = self._image_src(img)
            if not src:
                continue
            site_url = classify(src)
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
        if not found:
            og = self._meta("og:image")
            site_url = classify(self._absolute(og)) if og else None
            if site_url is not None and site_url.kind == "image":
                found.append({"url": site_url.canonical, "caption": None})
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
        for caption in img.xpath(
            'following::*[contains(translate(@class, "CAPTION", "caption"), "caption")][1]'
        ):
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

    def to_item(self) -> Article:
        """Every field as one Article; a page that is not an article carries only url and is_article."""
        if not self.is_article:
            not_found = bool(_NOT_FOUND.search(self._page_text))
            return Article(url=self.url, is_article=False, not_found=not_found)
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


def _printed_lengths(root) -> dict:
    """The length of every element's text, its descendants' included, in one pass from the leaves up.

    Joining each element's text anew would cost the square of the depth: inline tags left unclosed a
    thousand times over nest a thousand deep.
    """
    lengths: dict = {}
    stack = [(root, False)]
    while stack:
        element, children_done = stack.pop()
        if not children_done:
            stack.append((element, True))
            stack.extend((child, False) for child in element if isinstance(child.tag, str))
            continue
        total = len(clean_text(element.text))
        for child in element:
            total += lengths.get(child, 0) + len(clean_text(child.tail))
        lengths[element] = total
    return lengths


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
