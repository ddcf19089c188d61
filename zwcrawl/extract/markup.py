"""Parsing a page once with lxml (as parsel would), and reading printed text out of its elements."""

from __future__ import annotations

import functools
import re

from lxml import etree
from lxml import html as lxml_html

from zwcrawl.extract.decode import decode_html
from zwcrawl.extract.text import clean_text
from zwcrawl.site import SiteUrl, classify, repair_url

# Elements that end a paragraph; everything else is inline and flattens into the paragraph around it.
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "pre",
        "hr",
        "dl",
        "dt",
        "dd",
        "center",
        "address",
        "main",
        "aside",
        "nav",
        "form",
        "fieldset",
        "details",
        "summary",
    ]
)
# Elements whose text is never printed body text.
_SKIP_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "video",
        "audio",
        "source",
        "img",
        "picture",
        "svg",
        "canvas",
        "map",
        "figcaption",
        "button",
        "input",
        "select",
        "option",
        "textarea",
        "label",
        "head",
        "title",
        "meta",
        "link",
        "base",
    ]
)
# Class/id tokens of things inside an article that are not its text: embedded posts, captions, share
# links, counters, comment blocks, adverts.
_NOT_TEXT = re.compile(
    r"caption|tweet|instagram|tiktok|fb-post|fb-video|embed|share|social|vote|counter|comment|related|advert"
    r"|^ads?$|^ad-|banner|^tags?$|read-?more|news-image|news-votes|news-source|news-info|news-date|print",
    re.I,
)
# Elements that hold what is beside the text, never the text: a "Read also" box, a pull quote, a menu.
_BESIDE_TEXT = frozenset(["aside", "nav"])
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# A link to one post on a social network: inside a <blockquote>, the fallback markup of an embedded post.
_SOCIAL_POST = re.compile(
    r"^(?:https?:)?//(?:www\.|mobile\.|m\.)?(?:"
    r"(?:twitter|x)\.com/\w+/status/|instagram\.com/(?:p|reel)/|facebook\.com/.+/(?:posts|videos)/"
    r"|tiktok\.com/@[^/]+/video/|youtube\.com/watch|youtu\.be/)",
    re.I,
)


def markup_text(html: bytes | str | None) -> str | None:
    """Decoded page text that lxml accepts (control characters and NULs dropped); None if it is no page."""
    found = _markup(html)
    return found[0] if found is not None else None


def _markup(html: bytes | str | None) -> tuple[str, bytes | None] | None:
    """markup_text's text, with its UTF-8 bytes (surrogates passed) where it needed no change, else None."""
    text = decode_html(html) if isinstance(html, bytes | bytearray | memoryview) else (html or "")
    if looks_binary(text):
        return None
    # lxml refuses text with NULs and other control characters; a stray one in a script is no reason to lose
    # the page, and browsers skip them too.
    encoded = text.encode("utf-8", "surrogatepass")
    if any(byte in encoded for byte in _CONTROL_BYTES):
        return _CONTROL.sub("", text), None
    return text, encoded


# The characters of _CONTROL as UTF-8 bytes: each is its own single byte, which no other character uses, so
# each is sought in the encoded text (memchr: a sixth of a regex over the text, and cheaper than translate).
_CONTROL_BYTES = tuple(bytes([b]) for b in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])


def parse_html(html: bytes | str | None) -> lxml_html.HtmlElement | None:
    """Parse a page into lxml.html's tree (the root parsel's Selector(text=..., type="html") holds); None for
    input that is not an HTML page (empty, binary, unparseable)."""
    return _parsed(html, lambda text, _encoded: _html_root(text, None, lxml_html.HTMLParser))


def parse_page(html: bytes | str | None) -> etree._Element | None:
    """parse_html's tree of plain lxml elements, for a page object that reads thousands of them.

    lxml.html's element classes (get_element_by_id, text_content ...) are looked up in Python for every
    element the code touches: a fifth of the time of reading a live-size page, for methods it never calls.
    """
    return _parsed(html, lambda text, encoded: _html_root(text, encoded, etree.HTMLParser))


def _html_root(text: str, encoded: bytes | None, parser_cls):
    """parsel's create_root_node(text, parser_cls): the same tree, without importing parsel (and w3lib,
    urllib.request, ssl, email ...) into the extraction worker, which reads lxml trees only.

    parsel strips the text, drops its NULs and encodes it to UTF-8 (strictly: a lone surrogate raises). Text
    without control characters has no NUL; where what strip takes is ASCII whitespace (a page's closing
    newline), its bytes stripped are parsel's, unless a lone surrogate (passed as \\xed...) is in it.
    """
    body = encoded.strip() if encoded is not None else b""
    if encoded is None or b"\xed" in encoded or len(text) - len(text.strip()) != len(encoded) - len(body):
        body = text.strip().replace("\x00", "").encode("utf-8")
    parser = parser_cls(recover=True, encoding="utf-8", huge_tree=True)
    root = etree.fromstring(body or b"<html/>", parser=parser)
    return root if root is not None else etree.fromstring(b"<html/>", parser=parser)


def _parsed(html: bytes | str | None, parse) -> etree._Element | None:
    """parse(text, its UTF-8 bytes or None) of the page's markup; None where there is none or lxml fails."""
    found = _markup(html)
    if found is None:
        return None
    try:
        return parse(*found)
    except (etree.LxmlError, ValueError):
        return None


class PageIndex:
    """A page's elements by class token (lower case) in page order, its links, scripts, meta tags and
    microdata: found once, in one walk and two cheap XPath passes, for every step that looks them up.

    libxml2 evaluates an XPath predicate such as [@class] or [@itemprop] for every element at about the cost
    of making its Python object, so the elements are made once, in one walk that reads each one's class.
    Every element stays alive while the index does: later walks find its Python object made.
    """

    def __init__(self, root):
        self.anchors: list = []  # Every <a href> (descendant-or-self::a[@href]).
        self.hrefs: dict = {}  # The href of each, in page order: lxml's get costs more than a dict's.
        self.with_itemprop: list = []  # Every element with an itemprop attribute.
        self.with_itemtype: list = []  # Every element with an itemtype attribute (microdata's items).
        self.scripts: list = []  # Every <script>, as root.iter("script") gives them.
        self.metas: list = []  # Every <meta>.
        self._elements: list = []  # Every element with a class attribute.
        self._all: list = []  # Every element: kept alive (see above).
        # Grouped by class attribute first: a page repeats a few ("box-item", "menu-item") hundreds of times,
        # and each is lower-cased and split once.
        strings: dict[str, list] = {}
        if root is not None:
            self._walk(root, strings)
        self._by: dict[str, list[list]] = {}
        for value, elements in strings.items():
            for token in value.lower().split():
                self._by.setdefault(token, []).append(elements)
        self._order: dict | None = None  # Positions, for tokens of several class attributes (see _in_order).
        self._merged: dict[str, list] = {}
        self._containing: dict[tuple[str, ...], list] = {}

    def _walk(self, root, strings: dict[str, list]) -> None:
        # lxml's attribute and tag reads cost more than the walk itself, so each element is asked its class
        # alone; the tags wanted come from lxml's own tag filter, the rare attributes from XPath's attribute
        # axis (no predicate to evaluate per element: a tenth of reading two attributes of each).
        self._all = list(root.iter(_ELEMENTS))
        classed = self._elements
        for element in self._all:
            value = element.get("class")
            if value is not None:
                classed.append(element)
                group = strings.get(value)
                if group is None:
                    strings[value] = [element]
                else:
                    group.append(element)
        for element in root.iter("a", "script", "meta"):
            tag = element.tag
            if tag == "a":
                href = element.get("href")
                if href is not None:
                    self.anchors.append(element)
                    self.hrefs[element] = href
            elif tag == "script":
                self.scripts.append(element)
            else:
                self.metas.append(element)
        self.with_itemprop = [value.getparent() for value in _ITEMPROPS(root)]
        self.with_itemtype = [value.getparent() for value in _ITEMTYPES(root)]

    def find(self, token: str, tag: str | None = None) -> list:
        """Elements carrying a class token (any case), optionally of one tag."""
        token = token.lower()
        groups = self._by.get(token, [])
        if len(groups) == 1:
            found = groups[0]
        else:
            if token not in self._merged:
                self._merged[token] = self._in_order(e for elements in groups for e in elements)
            found = self._merged[token]
        return [e for e in found if e.tag == tag] if tag else list(found)

    def containing(self, *parts: str) -> list:
        """Elements, in page order, with a class token containing a part ("date": "news-item-date")."""
        if parts not in self._containing:
            found = {
                e
                for token, groups in self._by.items()
                if any(p in token for p in parts)
                for elements in groups
                for e in elements
            }
            self._containing[parts] = self._in_order(found)
        return list(self._containing[parts])

    def _in_order(self, elements) -> list:
        """Elements in page order (a stable sort: an element twice, as in class="a a", stays twice)."""
        if self._order is None:
            self._order = {element: i for i, element in enumerate(self._elements)}
        return sorted(elements, key=self._order.__getitem__)


# root.iter's filter for elements alone: no comments or processing instructions (XPath's *).
_ELEMENTS = etree.Element
# The elements with the attribute, as each attribute's parent, in page order: what *[@itemprop] finds.
_ITEMPROPS = etree.XPath("descendant-or-self::*/@itemprop")
_ITEMTYPES = etree.XPath("descendant-or-self::*/@itemtype")


def looks_binary(text: str) -> bool:
    """Whether decoded bytes are something other than text (an image, an archive, an empty body)."""
    head = text[:4096]
    if not head.strip():
        return True
    # A share of control characters (NULs included) and undecodable bytes, not any one of them: a single NUL
    # in an inline script does not make an article an image.
    bad = len(_CONTROL.findall(head)) + head.count("\ufffd")
    return bad > len(head) // 20


def classes(element) -> str:
    """An element's class and id attributes, as one string to test."""
    get = element.get
    return f"{get('class') or ''} {get('id') or ''}".strip()


def is_embedded_post(element) -> bool:
    """A <blockquote> that quotes a social-media post (a tweet that lost its class): not article text."""
    return element.tag.lower() == "blockquote" and any(
        _SOCIAL_POST.match(href.strip()) for href in element.xpath(".//a/@href")
    )


def is_chrome(element, pattern: re.Pattern[str]) -> bool:
    """Whether an element's class or id tokens match a pattern."""
    names = classes(element)
    if len(names) > 200:  # Not cached: a page of long, different class attributes would fill memory.
        return any(pattern.search(token) for token in names.split())
    return bool(names) and _a_token_matches(pattern, names)


@functools.lru_cache(maxsize=4096)
def _a_token_matches(pattern: re.Pattern[str], names: str) -> bool:
    # Cached: the elements of a page share a few class strings ("box-item", "menu-item") thousands of times.
    return any(pattern.search(token) for token in names.split())


class Chrome:
    """Page furniture (menus, sidebars, comment forms) known by class or id: a region, never around the page.

    Pages put furniture-looking classes on <body> or on a wrapper around everything ("menu-closed",
    "has-sidebar", "nav-open", an ASP.NET <form> around the page). Such an element is no region: <html> and
    <body> never are, nor an element around the page's content. The caller names the content (an article's
    headline and text, and every element around them); where it knows none yet, the content is where
    most of the page's text is, so an element holding more than half of it is no region either.
    """

    def __init__(self, root, pattern: re.Pattern[str], tags: frozenset[str] = frozenset()):
        self._root = root
        self._pattern = pattern
        self._tags = tags
        self._page_text: int | None = None
        self._looks: dict = {}
        self._wraps_most_text: dict = {}
        self._outside: dict[frozenset, dict] = {}

    def is_region(self, element, content: frozenset | set = frozenset()) -> bool:
        """Whether this element is itself furniture (its ancestors not considered)."""
        if element in content:
            return False
        looks = self._looks.get(element)
        if looks is None:
            looks = self._looks[element] = self._looks_like_region(element)
        return looks and (bool(content) or not self._holds_most_text(element))

    def outside(self, element, content: frozenset | set = frozenset()) -> bool:
        """Whether neither the element nor any ancestor is furniture."""
        # Remembered per content for every element on the way up: the links and images of a page share
        # their ancestors.
        known = self._outside.setdefault(content, {}) if isinstance(content, frozenset) else {}
        below: list = []
        node, outside = element, True
        while node is not None:
            if node in known:
                outside = known[node]
                break
            if self.is_region(node, content):
                outside = known[node] = False
                break
            below.append(node)
            node = node.getparent()
        for node in below:
            known[node] = outside
        return outside

    def _looks_like_region(self, element) -> bool:
        tag = element.tag
        if not isinstance(tag, str) or tag.lower() in ("html", "body"):
            return False
        return tag.lower() in self._tags or is_chrome(element, self._pattern)

    def _holds_most_text(self, element) -> bool:
        found = self._wraps_most_text.get(element)
        if found is None:
            if self._page_text is None:
                self._page_text = len(text_of(self._root)) if self._root is not None else 0
            found = self._wraps_most_text[element] = len(text_of(element)) * 2 > self._page_text
        return found


def text_of(element) -> str:
    """The printed text of an element, whitespace collapsed, scripts and styles left out."""
    return clean_text("".join(_PRINTED_TEXT(element)))


_PRINTED_TEXT = etree.XPath(".//text()[not(ancestor::script or ancestor::style or ancestor::noscript)]")


# Elements whose text a browser does not print (XPath's not(ancestor::script or ...)).
_UNPRINTED = frozenset(["script", "style", "noscript"])
# What XPath's normalize-space() strips: XML whitespace only, never NBSP.
_XML_SPACE = " \t\r\n"


def printed_text_after(element):
    """The printed text nodes after an element's end, in page order, as (text, owner) with owner what
    lxml's getparent() gives (the element a tail follows): following::text()[normalize-space()][not(
    ancestor::script or ancestor::style or ancestor::noscript)], walked lazily so the first costs no pass
    over the rest of the page."""
    node = element
    while node is not None:
        parent = node.getparent()
        unprinted = _unprinted(parent)
        yield from _printed(node.tail, node, unprinted)
        for sibling in node.itersiblings():
            yield from _printed_texts_in(sibling, unprinted)
            yield from _printed(sibling.tail, sibling, unprinted)
        node = parent


def printed_text_before(element):
    """The printed text nodes before an element, nearest first, as (text, owner): XPath's
    preceding::text()[normalize-space()][not(ancestor::script ...)], in reverse page order."""
    node = element
    while node is not None:
        parent = node.getparent()
        unprinted = _unprinted(parent)
        for sibling in node.itersiblings(preceding=True):
            yield from _printed(sibling.tail, sibling, unprinted)
            yield from reversed(list(_printed_texts_in(sibling, unprinted)))
        if parent is not None and isinstance(parent.tag, str):
            yield from _printed(parent.text, parent, unprinted)
        node = parent


def _unprinted(element) -> bool:
    """Whether an element or one around it is a script, style or noscript."""
    while element is not None:
        if element.tag in _UNPRINTED:
            return True
        element = element.getparent()
    return False


def _printed(text: str | None, owner, unprinted: bool):
    if text and not unprinted and text.strip(_XML_SPACE):
        yield text, owner


def _printed_texts_in(element, unprinted: bool):
    """(text, owner) of the printed text nodes inside an element (its own tail not), in page order.

    With a stack of its own: inline tags left unclosed a thousand times over nest a thousand deep.
    """
    unprinted = unprinted or element.tag in _UNPRINTED
    if isinstance(element.tag, str):  # A comment's or processing instruction's text is no text node.
        yield from _printed(element.text, element, unprinted)
    stack = [(element, iter(element), unprinted)]
    while stack:
        parent, children, hidden = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if stack:  # The tail of a finished element, printed inside the element around it.
                yield from _printed(parent.tail, parent, stack[-1][2])
            continue
        inside = hidden or child.tag in _UNPRINTED
        if isinstance(child.tag, str):
            yield from _printed(child.text, child, inside)
        stack.append((child, iter(child), inside))


class _Paragraphs:
    """Collects paragraphs: a block element or two <br> in a row ends one, inline markup flattens."""

    def __init__(self, skip=None, breaks: int = 2, filtered: bool = True):
        self.out: list[str] = []
        self.buf: list[str] = []
        self.breaks = 0
        self.skip = skip
        self.breaks_per_paragraph = breaks
        self.filtered = filtered

    def flush(self) -> None:
        text = clean_text("".join(self.buf))
        if text:
            self.out.append(text)
        self.buf = []
        self.breaks = 0

    def add(self, text: str | None) -> None:
        if not text:
            return
        self.buf.append(text)
        if text.strip(" \t\r\n\f\u00a0"):
            self.breaks = 0

    def walk(self, root) -> None:
        """Read an element's text in document order, with a stack of its own: inline tags left unclosed a
        thousand times over nest a thousand deep, past Python's recursion limit."""
        self.add(root.text)
        stack = [iter(root)]
        # For each open element: itself and whether it is a block, to finish it once its children are read.
        open_elements: list = [None]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                finished = open_elements.pop()
                if finished is not None:
                    element, block = finished
                    if block:
                        self.flush()
                    self.add(element.tail)
                continue
            tag = child.tag
            if isinstance(tag, str):
                name = tag.lower()
                if name == "br":
                    self.breaks += 1
                    if self.breaks >= self.breaks_per_paragraph:
                        self.flush()
                    else:
                        self.buf.append(" ")
                elif (
                    name in _SKIP_TAGS
                    or (
                        self.filtered
                        and (name in _BESIDE_TEXT or is_chrome(child, _NOT_TEXT) or is_embedded_post(child))
                    )
                    or (self.skip and self.skip(child))
                ):
                    if name in _BLOCKS:
                        self.flush()
                else:
                    block = name in _BLOCKS
                    if block:
                        self.flush()
                    self.add(child.text)
                    stack.append(iter(child))
                    open_elements.append((child, block))
                    continue  # Its tail comes once its children are read.
            # Comments and processing instructions print nothing, but the text after them does.
            self.add(child.tail)


def paragraphs(element, skip=None) -> list[str]:
    """The paragraphs printed inside an element: <p> and other blocks, or text between blank <br> lines."""
    collector = _Paragraphs(skip)
    collector.walk(element)
    collector.flush()
    return collector.out


def lines(element) -> list[str]:
    """Every printed line inside an element (each <br> and block ends one), nothing left out but scripts."""
    collector = _Paragraphs(breaks=1, filtered=False)
    collector.walk(element)
    collector.flush()
    return collector.out


def page_url(url: str, kind: str) -> SiteUrl:
    """A page's URL read by the site model; ValueError when it is not a Zaman al-Wasl URL of that kind."""
    site_url = classify(repair_url(url))
    if site_url is None or site_url.kind != kind:
        raise ValueError(f"not a Zaman al-Wasl {kind} URL: {url}")
    return site_url


def from_url(part: str, doc: str) -> property:
    """A page object's property read from its URL (edition, article_id, section_id, feed_id)."""
    return property(lambda page: getattr(page._site, part), doc=doc)
