"""Fuzzing the page objects and parsers (issue 14): any bytes give a value in bounded time, noise no change.

Hypothesis draws the saved pages with damage done to them (bytes, NULs, links no parser can split, tags left
open, deep nesting, furniture classes on the elements around the article, huge attributes, cuts), pages
built from the layout's own pieces, random bytes, date strings and URLs. The profile (tests/conftest.py)
bounds the examples and their time; `HYPOTHESIS_PROFILE=long pytest tests/test_fuzz.py` hunts longer.
"""

from __future__ import annotations

import functools
import json
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

from hypothesis import example, given
from hypothesis import strategies as st

from zwcrawl.extract import ArticlePage, FeedPage, ListingPage, decode_html, page_links
from zwcrawl.extract.article import FIELDS
from zwcrawl.extract.attribution import read_attribution
from zwcrawl.extract.dates import date_only, parse_day, parse_feed_date, parse_published, text_before_date
from zwcrawl.extract.fields import field_errors
from zwcrawl.extract.markup import lines, paragraphs, parse_html
from zwcrawl.site import canonical_article_url, classify, repair_url

FIXTURES = Path(__file__).parent / "fixtures"
ZWSITE = FIXTURES / "zwsite"
HOSTS = {"en": "en.zamanalwsl.net", "ar": "www.zamanalwsl.net"}
ORIGINS = {
    "en.zamanalwsl.net": "https://en.zamanalwsl.net",
    "www.zamanalwsl.net": "https://www.zamanalwsl.net",
}
MAX_ID = 2**63 - 1
# Each example's budget, in CPU seconds: a saved page takes milliseconds, the worst damage well under one.
# CPU time, not the clock, so a page that runs away fails and a busy machine does not.
BUDGET = 5.0
UTC_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _articles() -> list[tuple[str, bytes, dict]]:
    """(name, page, expected extraction) of every saved article page."""
    found = []
    for expected in sorted(ZWSITE.glob("expected/*/*.json")):
        page = ZWSITE / HOSTS[expected.parent.name] / "news/article" / f"{expected.stem}.html"
        found.append(
            (f"{expected.parent.name}/{expected.stem}", page.read_bytes(), json.loads(expected.read_text()))
        )
    for expected in sorted((FIXTURES / "pages").glob("*.json")):
        found.append(
            (expected.stem, expected.with_suffix(".html").read_bytes(), json.loads(expected.read_text()))
        )
    return found


def _saved(pattern: str, kind: str) -> list[tuple[str, bytes]]:
    """(URL, page) of the mirror's listing or feed pages."""
    found = []
    for path in sorted(ZWSITE.glob(pattern)):
        host, rest = path.relative_to(ZWSITE).parts[0], path.relative_to(ZWSITE).with_suffix("").parts[1:]
        url = f"{ORIGINS[host]}/{'/'.join(rest)}" + ("/" if kind == "feed" else "")
        assert classify(url).kind == kind, url
        found.append((url, path.read_bytes()))
    return found


ARTICLES = _articles()
# The whole pages, the ones the noise test compares: not the cut-short or binary ones.
WHOLE_ARTICLES = [a for a in ARTICLES if b"</body>" in a[1]]
LISTINGS = _saved("*/news/articles/*/*.html", "listing")
FEEDS = _saved("*/news/rss/*.xml", "feed")

# -- what goes into a page ----------------------------------------------------------------------------------

URL_PIECES = st.sampled_from(
    [
        "http://", "https://", "//", "HTTP://", "en.zamanalwsl.net", "www.zamanalwsl.net", "zamanalwsl.net",
        "www.zamanalwsl.netuploads/", "[photo]", "[::1]", "[::1", "]", "127.0.0.1", ":8001", ":99999",
        ":port",
        "/news/article/", "/news/articles/", "/news/rss/", "34489", "3/2", "99999999999999999999",
        "9223372036854775808", "/like", "/dislike", "/%6Cike", "/uploads/", "/CustomImage/get/1/1/a.jpg",
        "100%25%20done.jpg", "%", "%zz", "?w=1&h=2", "#top", "..", "/", "//", "\\", " ", "\t", "javascript:",
        "mailto:", "data:", "@", "٣٤٤", "\x00", "é", "ش",
    ]
)  # fmt: skip
URLS = st.one_of(st.lists(URL_PIECES, max_size=8).map("".join), st.text(max_size=30))
DATE_PIECES = st.sampled_from(
    [
        "2018-04-19", "19/04/2018", "1/1/0001", "0001-01-01", "31/12/9999", "9999-12-31", "20:14", "12:00:00",
        "AM", "p.m.", "GMT+3", "GMT-12", "GMT+99", "UTC+03:00", "+0300", "-05:00", "Z", "T", "Thursday",
        "April", "نيسان", "كانون الأول", "الخميس", "مساءً", "١٩", "٢٠١٨", "۲۰:۱۴", ",", "-", "/", "(", ")",
        "on", "at", "00", "99", "2200", "1899", "   ",
    ]
)  # fmt: skip
DATES = st.one_of(st.lists(DATE_PIECES, max_size=10).map(" ".join), st.text(max_size=40))
CLASSES = st.sampled_from(
    [
        "news-text", "news-title", "news-info", "news-date", "news-source", "news-section", "news-votes",
        "news-image", "caption", "comments", "comments-total", "comment", "comment-name", "comment-date",
        "comment-text", "NewsBody", "NewsTitle", "NewsComments", "NewsDate", "breadcrumb", "path", "title",
        "date", "like-count", "menu", "menu-closed", "nav-open", "has-sidebar", "sidebar", "col-side",
        "footer", "header", "most-read", "news-list", "news-item", "pager", "next", "share", "ltr",
    ]
)  # fmt: skip
FURNITURE = st.sampled_from(
    ["menu-closed", "nav-open", "has-sidebar", "sidebar-left", "footer-fixed", "comments-open"]
)
PHRASES = st.sampled_from(
    [
        "Total Comments (3)", "comments: 300", "مجموع التعليقات (2)", "(Zaman Al Wasl)- ", "By Hadi Sulaiman",
        "(Translation by Omar Haddad)", "(With Agencies)", "زمان الوصل - خاص", "BEIRUT (AP) — ",
        "Comments About This Article", "Please fill the fields below.", "Page not found", "Syria",
        "Regime forces began bombarding the camp.", "اشتباكات عنيفة في ريف حلب الشمالي", "(55)", "١٢",
    ]
)  # fmt: skip
TEXT = st.one_of(PHRASES, DATES, st.text(max_size=30))
TAGS = st.sampled_from(
    ["div", "p", "span", "a", "h1", "h2", "td", "tr", "table", "font", "b", "section", "article", "form",
     "time", "blockquote", "figure", "figcaption", "ul", "li", "em", "main", "aside", "nav", "script"]
)  # fmt: skip


@st.composite
def attributes(draw) -> str:
    """Attributes the extractors read: class, id, href, src, itemprop, datetime, content, rel."""
    found = []
    for name in draw(
        st.lists(st.sampled_from(["class", "id", "href", "src", "itemprop", "datetime", "rel"]), max_size=3)
    ):
        value = {
            "class": lambda: " ".join(draw(st.lists(CLASSES, min_size=1, max_size=3))),
            "id": lambda: draw(st.sampled_from(["comments", "menu", "main", "top"])),
            "href": lambda: draw(URLS),
            "src": lambda: draw(URLS),
            "itemprop": lambda: draw(st.sampled_from(["headline", "articleBody", "datePublished"])),
            "datetime": lambda: draw(DATES),
            "rel": lambda: draw(st.sampled_from(["next", "canonical", "nofollow"])),
        }[name]()
        found.append(f'{name}="{value.replace(chr(34), "&quot;")}"')
    return "".join(" " + a for a in found)


@st.composite
def elements(draw, depth: int = 0) -> str:
    """An element of the site's vocabulary, its children, and sometimes no closing tag."""
    tag = draw(TAGS)
    children = []
    if depth < 5:
        for _ in range(draw(st.integers(0, 4))):
            children.append(
                draw(
                    st.one_of(
                        TEXT,
                        elements(depth + 1),
                        st.just("<br>"),
                        st.builds(lambda a: f"<img{a}>", attributes()),
                    )
                )
            )
    closing = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", ""]))
    return f"<{tag}{draw(attributes())}>{''.join(children)}{closing}"


@st.composite
def built_pages(draw) -> bytes:
    """A page made of the layout's pieces: metadata, elements, and text, in UTF-8 or windows-1256."""
    head = "".join(
        draw(
            st.lists(
                st.one_of(
                    st.builds(lambda t: f"<title>{t}</title>", TEXT),
                    st.builds(
                        lambda p, v: f'<meta property="{p}" content="{v}">',
                        st.sampled_from(
                            ["og:title", "og:image", "og:url", "og:type", "article:published_time"]
                        ),
                        st.one_of(URLS, DATES, TEXT),
                    ),
                    st.builds(lambda u: f'<link rel="canonical" href="{u}">', URLS),
                    st.builds(lambda u: f'<base href="{u}">', URLS),
                ),
                max_size=4,
            )
        )
    )
    body = "".join(draw(st.lists(elements(), max_size=6)))
    html = f'<html><head>{head}</head><body class="{draw(CLASSES)}">{body}</body></html>'
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "cp1256"]))
    return html.encode(encoding, "replace")


def _insert(draw, html: bytes, snippet: bytes) -> bytes:
    at = draw(st.integers(0, len(html)))
    return html[:at] + snippet + html[at:]


def _classes_on_ancestors(draw, html: bytes, tags: bytes = rb"body|div|table|td") -> bytes:
    furniture = draw(FURNITURE).encode()
    openings = [m.start() for m in re.finditer(rb"<(?:" + tags + rb")\b", html)]
    if not openings:
        return html
    at = draw(st.sampled_from(openings))
    end = html.index(b">", at) if b">" in html[at:] else len(html)
    tag = html[at:end]
    if b"class=" in tag:
        return (
            html[:at] + re.sub(rb'class=(["\']?)', rb"class=\1" + furniture + b" ", tag, count=1) + html[end:]
        )
    return html[:end] + b' class="' + furniture + b'"' + html[end:]


BAD_LINKS = st.sampled_from(
    [
        b'<a href="http://[x]/">x</a>',
        b'<img src="http://[photo]/x.jpg">',
        b'<base href="http://[b]/">',
        b'<meta property="og:image" content="http://[o]/i.jpg">',
        b'<link rel="canonical" href="//[::1">',
        b'<a href="/news/article/99999999999999999999">long</a>',
        b'<a href="/news/articles/3/99999999999999999999">next</a>',
        b'<a href="/news/article/1/%6Cike">+</a>',
    ]
)
UNCLOSED = st.sampled_from([b"<font>line<br>", b"<b><i>", b"<p>", b"<table><tr><td>", b"<a href='/'>"])


def _some_bytes(draw) -> bytes:
    return draw(st.one_of(st.binary(max_size=64), st.integers(1, 3).map(lambda n: b"\x00" * n)))


def _a_link(draw) -> bytes:
    url = draw(URLS)
    return draw(st.sampled_from([f'<a href="{url}">x</a>', f'<img src="{url}">'])).encode() + draw(BAD_LINKS)


def _unclosed_tags(draw) -> bytes:
    return draw(UNCLOSED) * draw(st.integers(1, 1500))


def _deep_nesting(draw) -> bytes:
    depth = draw(st.integers(1, 2500))
    return b"<div>" * depth + b"deep" + b"</div>" * draw(st.integers(0, depth))


def _huge_attribute(draw) -> bytes:
    size = draw(st.integers(1, 300_000))
    return draw(
        st.sampled_from(
            [b'<div class="x" data-x="' + b"a" * size + b'">', b'<a href="/' + b"/" * size + b'">x</a>']
        )
    )


def _classed_text(draw) -> bytes:
    text = draw(TEXT).encode(draw(st.sampled_from(["utf-8", "cp1256", "utf-16"])), "replace")
    return b'<span class="' + draw(CLASSES).encode() + b'">' + text + b"</span>"


def _cut(draw, html: bytes) -> bytes:
    at = draw(st.integers(0, len(html)))
    return html[:at] + html[at + draw(st.sampled_from([len(html), 1, 100, 2000])) :]


MUTATIONS = [
    *(
        lambda draw, html, make=make: _insert(draw, html, make(draw))
        for make in (_some_bytes, _a_link, _unclosed_tags, _deep_nesting, _huge_attribute, _classed_text)
    ),
    _classes_on_ancestors,
    _cut,
]


@st.composite
def damaged(draw, pages: list) -> tuple:
    """A saved page (its first items kept: URL and so on) with one to four kinds of damage done to it."""
    saved = draw(st.sampled_from(pages))
    html = saved[-2] if isinstance(saved[-1], dict) else saved[-1]
    for _ in range(draw(st.integers(1, 4))):
        html = draw(st.sampled_from(MUTATIONS))(draw, html)
    return saved, html


# -- properties ---------------------------------------------------------------------------------------------


def within_budget(test):
    """Fail an example that spends more than BUDGET seconds of CPU time."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        start = time.process_time()
        test(*args, **kwargs)
        spent = time.process_time() - start
        assert spent < BUDGET, f"one example took {spent:.1f} s of CPU time (budget {BUDGET} s)"

    return run


def _read_article(url: str, html: bytes) -> dict:
    """Every field of an article page, each read on its own; no field may need its safety net."""
    page = ArticlePage(url, html)
    fields = {name: getattr(page, name) for name in FIELDS if name != "url"}
    item = page.to_item().to_dict()
    page.links(url)
    assert field_errors(page) == {}
    assert item["url"] == page.url and isinstance(fields["is_article"], bool)
    assert fields["published"] is None or UTC_ISO.match(fields["published"])
    assert all(image["url"].lower().startswith(("http://", "https://")) for image in fields["images"])
    assert all(set(c) == {"author", "posted", "text"} and c["text"] for c in fields["comments"])
    if item["is_article"]:
        assert tuple(item) == FIELDS and item["headline"] and item["body"]
    return item


@given(damaged(ARTICLES))
@example(
    ((None, None, {"url": "https://en.zamanalwsl.net/news/article/34489"}), b"<html>" + b"<font>a<br>" * 3000)
)
@within_budget
def test_a_damaged_article_page_still_gives_every_field(case):
    (_, _, expected), html = case
    _read_article(expected["url"], html)


@example(  # Found by the long profile: an image URL that is no web address.
    b'<html><head></head><body class="news-text"><div>Total Comments (3)<IMG SRC=A:</div></body></html>',
    "https://en.zamanalwsl.net/news/article/1",
)
@given(
    built_pages(),
    st.sampled_from(
        ["https://en.zamanalwsl.net/news/article/1", "https://www.zamanalwsl.net/news/article/2"]
    ),
)
@within_budget
def test_a_page_built_from_the_layouts_pieces_gives_every_field(html, url):
    _read_article(url, html)


@given(st.binary(max_size=4000))
@within_budget
def test_any_bytes_give_every_page_object_a_value(data):
    _read_article("https://en.zamanalwsl.net/news/article/1", data)
    _read_listing("https://en.zamanalwsl.net/news/articles/3/2", data)
    _read_feed("https://www.zamanalwsl.net/news/rss/94/", data)
    assert isinstance(page_links(data, "https://en.zamanalwsl.net/"), list)


def _read_listing(url: str, html: bytes) -> dict:
    page = ListingPage(url, html)
    item = page.to_item()
    assert field_errors(page) == {}
    for article in item["articles"]:
        assert (
            0 <= article["article_id"] <= MAX_ID and canonical_article_url(article["url"]) == article["url"]
        )
        assert article["date"] is None or re.match(r"^\d{4}-\d\d-\d\d$", article["date"])
    assert item["next_url"] is None or classify(item["next_url"]).kind == "listing"
    return item


def _read_feed(url: str, xml: bytes) -> dict:
    page = FeedPage(url, xml)
    item = page.to_item()
    assert field_errors(page) == {}
    for entry in item["items"]:
        assert 0 <= entry["article_id"] <= MAX_ID and canonical_article_url(entry["url"]) == entry["url"]
        assert entry["published"] is None or UTC_ISO.match(entry["published"])
    return item


@given(damaged(LISTINGS))
@within_budget
def test_a_damaged_listing_still_gives_its_entries(case):
    (url, _), html = case
    _read_listing(url, html)


@given(damaged(FEEDS))
@within_budget
def test_a_damaged_feed_still_gives_its_items(case):
    (url, _), xml = case
    _read_feed(url, xml)


@given(st.one_of(damaged(ARTICLES).map(lambda case: case[1]), built_pages()), URLS)
@within_budget
def test_page_links_are_absolute_urls_whatever_the_page_and_base(html, base):
    links = page_links(html, base)
    assert len(links) == len(set(links))
    for link in links:
        assert link.lower().startswith(("http://", "https://"))
        urlsplit(link).port  # noqa: B018 - a link the spider gets can always be split


# -- noise --------------------------------------------------------------------------------------------------

# Markup that prints nothing, anywhere between tags of the body.
SILENT_NOISE = [
    lambda draw: b"<!-- " + draw(st.sampled_from([b"cached 0.1 s", b"<p>old text</p>", b"-", b""])) + b" -->",
    lambda draw: (
        b"<script>var s = '"
        + draw(st.sampled_from([b"<p>not text</p>", b"Total Comments (9)", b"\x00", b"2018-04-19 20:14"]))
        + b"';</script>"
    ),
    lambda draw: b"<style>.x{}</style>",
]
# Furniture with a link, at the top or the foot of the page.
FURNITURE_LINKS = st.sampled_from(
    [
        b'<div class="footer"><a href="https://example.org/">Example</a></div>',
        b'<ul class="menu"><li><a href="/news/articles/3/1">Syria</a></li></ul>',
        b'<div class="social"><a href="https://twitter.com/zamanalwsl"><img src="/images/tw.png"></a></div>',
        b'<div class="nav"><a href="http://[x]/">broken</a></div>',
    ]
)


def _tag_boundaries(html: bytes) -> list[int]:
    """Where markup may go without changing any printed text: before a tag inside <body>, not in a script."""
    start = html.find(b"<body")
    end = html.rfind(b"</body>")
    raw = [
        (m.start(), m.end())
        for m in re.finditer(rb"<(script|style|title|textarea)\b.*?</\1\s*>", html, re.S | re.I)
    ]
    return [
        start + m.start()
        for m in re.finditer(rb"<[a-zA-Z/]", html[start:end])
        if m.start() > 0 and not any(a <= start + m.start() < b for a, b in raw)
    ]  # fmt: skip


@st.composite
def with_noise(draw, html: bytes) -> bytes:
    """A page with harmless noise: comments and scripts, furniture links, furniture classes on a wrapper."""
    for _ in range(draw(st.integers(1, 3))):
        body_start = html.find(b">", html.find(b"<body")) + 1
        body_end = html.rfind(b"</body>")
        kind = draw(st.sampled_from(["silent", "link", "wrapper", "body-class"]))
        if kind == "silent" and (boundaries := _tag_boundaries(html)):
            at = draw(st.sampled_from(boundaries))
            html = html[:at] + draw(st.sampled_from(SILENT_NOISE))(draw) + html[at:]
        elif kind == "link":
            at = draw(st.sampled_from([body_start, body_end]))
            html = html[:at] + draw(FURNITURE_LINKS) + html[at:]
        elif kind == "wrapper":
            wrapper = b'<div class="' + draw(FURNITURE).encode() + b'">'
            html = html[:body_start] + wrapper + html[body_start:body_end] + b"</div>" + html[body_end:]
        else:
            html = _classes_on_ancestors(draw, html, tags=rb"body")
    return html


@given(st.data())
@within_budget
def test_an_article_with_harmless_noise_extracts_exactly_as_before(data):
    name, html, expected = data.draw(st.sampled_from(WHOLE_ARTICLES), label="page")
    noisy = data.draw(with_noise(html), label="noisy")
    assert _read_article(expected["url"], noisy) == expected, name


@given(st.data())
@within_budget
def test_a_listing_with_harmless_noise_lists_exactly_as_before(data):
    url, html = data.draw(st.sampled_from(LISTINGS), label="page")
    noisy = data.draw(with_noise(html), label="noisy")
    assert _read_listing(url, noisy) == ListingPage(url, html).to_item()


# -- the parsers on their own -------------------------------------------------------------------------------


@given(DATES)
@example("1/1/0001 12:00:00 AM")
@example("2018-04-19 20:14 GMT+3")
@within_budget
def test_any_date_string_reads_as_utc_or_none(text):
    published = parse_published(text)
    assert published is None or UTC_ISO.match(published)
    day = parse_day(text)
    assert day is None or re.match(r"^\d{4}-\d\d-\d\d$", day)
    feed = parse_feed_date(text)
    assert feed is None or UTC_ISO.match(feed)
    assert isinstance(text_before_date(text), str)
    assert isinstance(date_only(text), bool)


@given(URLS, st.one_of(st.none(), URLS, st.just("https://en.zamanalwsl.net/news/article/1")))
@example("http://[photo]/x.jpg", "https://en.zamanalwsl.net/")
@within_budget
def test_any_url_repairs_classifies_and_canonicalises_without_raising(href, base):
    repaired = repair_url(href, base)
    if repaired is not None:
        urlsplit(repaired).port  # noqa: B018 - a repaired URL can always be split
    site_url = classify(repaired)
    if site_url is not None:
        for number in (site_url.section_id, site_url.page, site_url.feed_id):
            assert number is None or 0 <= number <= MAX_ID
        if site_url.kind in ("article", "listing", "feed"):
            assert site_url.article_id is None or site_url.article_id <= MAX_ID
            assert classify(site_url.canonical) == classify(site_url.canonical)
            assert classify(site_url.canonical).kind == site_url.kind
    canonical = canonical_article_url(href)
    assert canonical is None or canonical_article_url(canonical) == canonical


@given(
    st.binary(max_size=2000),
    st.sampled_from(
        [None, "utf-8", "windows-1256", "cp1252", "utf-16", "utf-32", "iso-8859-6", "latin1", "x-unknown", ""]
    ),
)
@within_budget
def test_any_bytes_decode_under_any_label(data, label):
    assert isinstance(decode_html(data, label), str)


@given(st.lists(TEXT, max_size=6), st.one_of(st.none(), TEXT))
@within_budget
def test_any_paragraphs_give_an_attribution(paras, byline):
    attribution = read_attribution(paras, byline)
    assert all(isinstance(name, str) and name for name in [*attribution.authors, *attribution.translators])


@given(st.lists(elements(), max_size=5))
@within_budget
def test_any_markup_gives_paragraphs_and_lines(parts):
    root = parse_html(f"<html><body><div id='t'>{''.join(parts)}</div></body></html>")
    target = root.get_element_by_id("t") if root is not None else None
    if target is not None:
        assert all(text.strip() == text and text for text in [*paragraphs(target), *lines(target)])
