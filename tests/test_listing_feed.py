"""Listing pages, RSS feeds and page links, read from the mirror and from hand-made variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from zwcrawl.extract import FeedPage, ListingPage, page_links

ZWSITE = Path(__file__).parent / "fixtures" / "zwsite"
EN, AR = "https://en.zamanalwsl.net", "https://www.zamanalwsl.net"

# path -> (section name, article ids in page order, next page URL)
LISTINGS = {
    "en.zamanalwsl.net/news/articles/3/1": ("Syria", [34489, 34478, 34462], f"{EN}/news/articles/3/2"),
    "en.zamanalwsl.net/news/articles/3/2": ("Syria", [34449, 10605], None),
    "en.zamanalwsl.net/news/articles/30/1": ("Opinion", [34492, 34486, 34466], None),
    "en.zamanalwsl.net/news/articles/89/1": (
        "Middle East",
        [34483, 34475, 34459],
        f"{EN}/news/articles/89/2",
    ),
    "en.zamanalwsl.net/news/articles/89/2": ("Middle East", [34444], None),
    "en.zamanalwsl.net/news/articles/121/1": ("Syrian Refugees", [34471, 34455], None),
    "www.zamanalwsl.net/news/articles/1/1": ("أخبار سوريا", [87652, 87640], f"{AR}/news/articles/1/2"),
    "www.zamanalwsl.net/news/articles/1/2": ("أخبار سوريا", [44954], None),
    "www.zamanalwsl.net/news/articles/2/1": ("مقالات", [87620], None),
    "www.zamanalwsl.net/news/articles/5/1": ("تقارير", [87660, 87631], None),
}


@pytest.mark.parametrize(("path", "want"), list(LISTINGS.items()), ids=list(LISTINGS))
def test_mirror_listings(path, want):
    section, ids, next_url = want
    item = ListingPage(f"https://{path}", (ZWSITE / f"{path}.html").read_bytes()).to_item()
    edition = "en" if path.startswith("en.") else "ar"
    section_id, page = (int(x) for x in path.split("/")[-2:])
    assert (item["edition"], item["section_id"], item["page"], item["section"]) == (
        edition,
        section_id,
        page,
        section,
    )
    assert [a["article_id"] for a in item["articles"]] == ids
    assert item["next_url"] == next_url
    assert item["is_empty"] is False
    for article in item["articles"]:
        assert article["url"] == f"{EN if edition == 'en' else AR}/news/article/{article['article_id']}"
        assert article["title"] and article["teaser"] and len(article["date"]) == 10


def test_listing_entry_fields():
    html = (ZWSITE / "en.zamanalwsl.net/news/articles/89/2.html").read_bytes()
    item = ListingPage("http://en.zamanalwsl.net/news/articles/89/2/", html).to_item()
    assert item["articles"] == [
        {
            "url": f"{EN}/news/article/34444",
            "article_id": 34444,
            "title": "How the war economy reshaped Syria's border towns",
            "date": "2017-12-28",
            "teaser": "(News Week)- In the towns along Syria's northern border, the war has created a new "
            "class of traders who move everything from fuel to antiques across the front lines. Many of them "
            "were farmers or teachers before 2011.",
        }
    ]


def test_listing_past_the_last_page_is_empty():
    html = (ZWSITE / "en.zamanalwsl.net/news/articles/3/2.html").read_text(encoding="utf-8")
    start = html.index('<div class="news-list">')
    page = html[:start] + '<div class="news-list"></div>\n<div class="pager"></div></div></div></body></html>'
    item = ListingPage(f"{EN}/news/articles/3/9", page).to_item()
    assert item["is_empty"] is True and item["articles"] == [] and item["next_url"] is None
    assert item["section"] == "Syria" and item["page"] == 9


def test_listing_with_other_markup_and_host_spellings():
    html = """<html><head><title>Syria - Zaman Al Wasl</title></head><body>
    <ul id="menu"><li><a href="/news/articles/3/1">Syria</a></li>
        <li><a href="/news/article/1">Pinned</a></li></ul>
    <ul class="articles">
      <li><a href="//en.zamanalwsl.net/news/article/500/"><img src="/CustomImage/get/1/1/a.jpg"></a>
          <h2><a href="http://en.zamanalwsl.net/news/article/500">Five hundred</a></h2>
          <em class="date">١٩/٠٤/٢٠١٨</em><div class="summary">Teaser five.</div></li>
      <li><h2><a href="https://en.zamanalwsl.net/news/article/499">Four ninety-nine</a></h2>
          <span>18 April 2018</span></li>
    </ul>
    <a rel="next" href="/news/articles/3/3">&raquo;</a>
    </body></html>"""
    item = ListingPage(f"{EN}/news/articles/3/2", html).to_item()
    assert item["articles"] == [
        {"url": f"{EN}/news/article/500", "article_id": 500, "title": "Five hundred", "date": "2018-04-19",
         "teaser": "Teaser five."},
        {"url": f"{EN}/news/article/499", "article_id": 499, "title": "Four ninety-nine",
         "date": "2018-04-18", "teaser": None},
    ]  # fmt: skip
    assert item["next_url"] == f"{EN}/news/articles/3/3"
    assert item["section"] == "Syria"


@pytest.mark.parametrize(
    "content", [b"", b"\x00\x01binary\xff" * 50, b"<html><body>Service unavailable</body>"]
)
def test_listing_of_nothing(content):
    item = ListingPage(f"{AR}/news/articles/1/4", content).to_item()
    assert item["articles"] == [] and item["is_empty"] is True and item["next_url"] is None


def test_listing_refuses_other_urls():
    with pytest.raises(ValueError, match="listing URL"):
        ListingPage(f"{EN}/news/article/1", b"")


# -- feeds -------------------------------------------------------------------------------------------------


def test_english_feed():
    item = FeedPage(
        f"{EN}/news/rss/52/", (ZWSITE / "en.zamanalwsl.net/news/rss/52.xml").read_bytes()
    ).to_item()
    assert (item["edition"], item["feed_id"], item["title"]) == ("en", 52, "Zaman Al Wasl")
    assert [i["article_id"] for i in item["items"]] == [
        34492, 34489, 34486, 34483, 34478, 34475, 34471, 34466, 34462, 34459,
    ]  # fmt: skip
    assert item["items"][3] == {
        "url": f"{EN}/news/article/34483",
        "article_id": 34483,
        "title": "UN envoy urges restraint as fighting rages south of Damascus",
        "published": "2018-04-18T13:20:00Z",
        "description": "BEIRUT (AP) — The U.N. envoy for Syria on Wednesday urged all sides to spare "
        "civilians in the southern districts of the capital, where fighting has intensified in recent days. "
        "In a statement, the...",
        "enclosure": f"{EN}/uploads/5ad7619f0c1d2e3f40516273.jpg",
    }
    assert (
        item["items"][0]["title"] == "Europe's asylum debate has forgotten the people in the camps: OPINION"
    )
    assert item["items"][0]["enclosure"] is None


def test_arabic_feed():
    item = FeedPage(
        "http://zamanalwsl.net/news/rss/94", (ZWSITE / "www.zamanalwsl.net/news/rss/94.xml").read_bytes()
    )
    got = item.to_item()
    assert (got["edition"], got["feed_id"], got["title"]) == ("ar", 94, "زمان الوصل")
    assert [i["article_id"] for i in got["items"]] == [87660, 87652, 87640, 87631, 87620, 44954]
    assert got["items"][-1]["published"] == "2013-12-18T14:20:00Z"
    assert got["items"][2]["enclosure"] == f"{AR}/uploads/5ad8a1b2c3d4e5f607182930.jpg"


FEED = """<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0"><channel><title>{title}</title>
<item><title>{title} one</title><link>http://www.zamanalwsl.net/news/article/90001/</link>
<description>&lt;p&gt;Lead &amp;amp; more&lt;/p&gt;</description>
<pubDate>Sat, 21 Apr 2018 05:30:00 GMT</pubDate>
<enclosure url="https://www.zamanalwsl.netuploads//x.jpg" length="0" type="image/jpeg" /></item>
<item><title>Two</title><link>https://zamanalwsl.net/news/article/90002</link><pubDate>garbage</pubDate>
<enclosure url="//www.zamanalwsl.net/uploads/y.jpg" /></item>
<item><title>Not an article</title><link>https://www.zamanalwsl.net/news/articles/1/1</link></item>
<item><title>Guid only</title><guid isPermaLink="false">ar-90003</guid></item>
</channel></rss>"""


def test_feed_repairs_enclosures_and_canonicalises_links():
    item = FeedPage(
        f"{AR}/news/rss/94/", FEED.format(encoding="utf-8", title="زمان الوصل").encode()
    ).to_item()
    assert [(i["url"], i["enclosure"]) for i in item["items"]] == [
        (f"{AR}/news/article/90001", f"{AR}/uploads/x.jpg"),
        (f"{AR}/news/article/90002", f"{AR}/uploads/y.jpg"),
        (f"{AR}/news/article/90003", None),
    ]
    first, second = item["items"][0], item["items"][1]
    assert first["description"] == "Lead & more" and first["published"] == "2018-04-21T05:30:00Z"
    assert second["published"] is None and second["description"] is None


def test_feed_in_windows_1256():
    data = FEED.format(encoding="windows-1256", title="زمان الوصل").encode("cp1256")
    item = FeedPage(f"{AR}/news/rss/94/", data).to_item()
    assert item["title"] == "زمان الوصل" and item["items"][0]["title"] == "زمان الوصل one"


@pytest.mark.parametrize(
    "damage",
    [
        lambda x: x.replace(
            "&lt;p&gt;Lead &amp;amp; more&lt;/p&gt;", "Lead & more <b>unclosed"
        ),  # bare &, open tag
        lambda x: x[: x.index("<item><title>Two")],  # cut off after the first item
        lambda x: x.replace('<?xml version="1.0" encoding="utf-8"?>', "\ufeff  <!-- proxy -->"),
        lambda x: x.replace("</channel></rss>", "</channel></rss><html>trailing junk"),
    ],
)
def test_damaged_feed_still_gives_its_items(damage):
    xml = damage(FEED.format(encoding="utf-8", title="T"))
    items = FeedPage(f"{AR}/news/rss/94/", xml.encode()).to_item()["items"]
    assert items and items[0]["url"] == f"{AR}/news/article/90001"
    assert items[0]["enclosure"] == f"{AR}/uploads/x.jpg"


@pytest.mark.parametrize(
    "content", [b"", b"\x89PNG\r\n" + bytes(range(256)), b"<html><body>403 Forbidden</body></html>"]
)
def test_feed_of_nothing(content):
    item = FeedPage(f"{EN}/news/rss/52/", content).to_item()
    assert item == {"edition": "en", "feed_id": 52, "title": None, "items": []}


def test_feed_refuses_other_urls():
    with pytest.raises(ValueError, match="feed URL"):
        FeedPage(f"{EN}/news/articles/3/1", b"")


# -- page links --------------------------------------------------------------------------------------------


def test_page_links_of_an_article():
    html = (ZWSITE / "en.zamanalwsl.net/news/article/34489.html").read_bytes()
    links = page_links(html, f"{EN}/news/article/34489")
    assert links[:3] == [f"{EN}/news/rss/52/", f"{EN}/", f"{EN}/news/articles/3/1"]
    assert f"{EN}/news/article/34489/like" in links  # reported as found; the spider decides not to follow
    assert "http://en.zamanalwsl.net/news/article/34486" in links  # spellings are kept for the spider
    assert f"{EN}/news/article/34492" in links  # protocol-relative made absolute
    assert len(links) == len(set(links))
    assert all(link.startswith(("http://", "https://")) for link in links)


def test_page_links_resolve_against_the_page_and_its_base():
    html = """<html><head><link rel="Alternate" type="application/rss+xml" href="/news/rss/52/">
    <link rel="stylesheet" href="/css/site.css"></head><body>
    <a href="article/2">relative</a><a href="/news/article/3#comments">fragment</a>
    <a href="/news/article/3">again</a>
    <a href="javascript:void(0)">js</a><a href="mailto:x@y.z">mail</a><a href="#top">top</a>
    <a href="https://www.zamanalwsl.netuploads//x.jpg">glued</a><a href="  /news/articles/3/1  ">spaced</a>
    </body></html>"""
    assert page_links(html, "http://127.0.0.1:8001/news/article/1") == [
        "http://127.0.0.1:8001/news/rss/52/",
        "http://127.0.0.1:8001/news/article/article/2",
        "http://127.0.0.1:8001/news/article/3",
        "https://www.zamanalwsl.net/uploads/x.jpg",
        "http://127.0.0.1:8001/news/articles/3/1",
    ]
    based = '<html><head><base href="https://en.zamanalwsl.net/news/"></head><a href="article/7">x</a>'
    assert page_links(based, "http://127.0.0.1:8001/") == [f"{EN}/news/article/7"]


@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 4, "<a href='/x'>".encode("utf-16")])
def test_page_links_of_nothing(content):
    assert isinstance(page_links(content, f"{EN}/"), list)


# -- issue 14: links no parser can split, furniture-looking wrappers, ids the archive cannot store ----------

BAD_LINKS = (
    '<a href="http://[photo]/x.jpg">bad host</a>'
    '<a href="http://en.zamanalwsl.net:port/news/article/8">bad port</a>'
    '<a href="/news/article/99999999999999999999">twenty digits</a>'
)


def test_a_listing_with_unparseable_links_and_furniture_classes_on_its_wrappers():
    """One bad link costs that link only; a wrapper classed like a menu does not hide the section's list."""
    html = (ZWSITE / "en.zamanalwsl.net/news/articles/3/1.html").read_text(encoding="utf-8")
    html = html.replace('<body class="ltr">', '<body class="ltr menu-closed">', 1)
    html = html.replace('<div id="main">', '<div id="main" class="has-sidebar nav-open">', 1)
    html = html.replace('<div class="news-list">', '<div class="news-list">' + BAD_LINKS, 1)
    item = ListingPage(f"{EN}/news/articles/3/1", html).to_item()
    assert [a["article_id"] for a in item["articles"]] == [34489, 34478, 34462]
    assert item["next_url"] == f"{EN}/news/articles/3/2" and item["section"] == "Syria"


def test_a_listing_wrapped_in_furniture_classes_on_its_last_page():
    """No link to a later page and no heading: the wrapper holding most of the text is still the page."""
    html = (ZWSITE / "en.zamanalwsl.net/news/articles/3/2.html").read_text(encoding="utf-8")
    html = html.replace('<div id="main">', '<div id="main" class="sidebar-open">', 1)
    html = html.replace("<h1", "<h2", 1).replace("</h1>", "</h2>", 1)
    item = ListingPage(f"{EN}/news/articles/3/2", html).to_item()
    assert [a["article_id"] for a in item["articles"]] == [34449, 10605]


def test_a_feed_with_unparseable_links_nuls_and_ids_too_long_to_store():
    xml = FEED.format(encoding="utf-8", title="T")
    xml = xml.replace(
        "<item>",
        "<item><title>\x00</title><link>http://[x]/news/article/1</link>"
        '<enclosure url="http://[photo]/y.jpg" /></item><item>',
        1,
    )
    xml = xml.replace("ar-90003", "ar-99999999999999999999")
    items = FeedPage(f"{AR}/news/rss/94/", xml.encode()).to_item()["items"]
    assert [(i["url"], i["enclosure"]) for i in items] == [
        (f"{AR}/news/article/90001", f"{AR}/uploads/x.jpg"),
        (f"{AR}/news/article/90002", f"{AR}/uploads/y.jpg"),
    ]  # fmt: skip


def test_page_links_skip_what_cannot_be_a_url():
    html = (
        f'<html><head><base href="http://[base]/"></head><body>{BAD_LINKS}<a href="/ok">ok</a></body></html>'
    )
    assert page_links(html, f"{EN}/news/article/1") == [
        f"{EN}/news/article/99999999999999999999",  # a URL all the same; the site model says it is no article
        f"{EN}/ok",
    ]
