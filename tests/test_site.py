"""The site model: every spelling of the editions' URLs, their kinds, and the mapping onto a copy."""

from __future__ import annotations

import pytest

from zwcrawl.site import Sites, canonical_article_url, classify, repair_url

ARTICLE_SPELLINGS = [
    ("https://en.zamanalwsl.net/news/article/34489", "https://en.zamanalwsl.net/news/article/34489"),
    ("http://en.zamanalwsl.net/news/article/34489", "https://en.zamanalwsl.net/news/article/34489"),
    ("https://en.zamanalwsl.net/news/article/34489/", "https://en.zamanalwsl.net/news/article/34489"),
    ("//en.zamanalwsl.net/news/article/34492", "https://en.zamanalwsl.net/news/article/34492"),
    ("HTTPS://EN.ZamanAlWsl.net/news/article/7?utm=x", "https://en.zamanalwsl.net/news/article/7"),
    ("https://en.zamanalwsl.net:443/news/article/7", "https://en.zamanalwsl.net/news/article/7"),
    ("http://zamanalwsl.net/news/article/87652", "https://www.zamanalwsl.net/news/article/87652"),
    ("https://www.zamanalwsl.net/news/article/87640/", "https://www.zamanalwsl.net/news/article/87640"),
    (" https://www.zamanalwsl.net/news/article/1 ", "https://www.zamanalwsl.net/news/article/1"),
]


@pytest.mark.parametrize(("spelling", "canonical"), ARTICLE_SPELLINGS)
def test_every_spelling_of_an_article_has_one_canonical_url(spelling, canonical):
    assert canonical_article_url(spelling) == canonical


KINDS = [
    ("https://en.zamanalwsl.net/", "home"),
    ("https://en.zamanalwsl.net", "home"),
    ("https://en.zamanalwsl.net/robots.txt", "robots"),
    ("https://en.zamanalwsl.net/news/articles/89/2", "listing"),
    ("https://en.zamanalwsl.net/news/articles/89", "listing"),
    ("https://en.zamanalwsl.net/news/rss/52/", "feed"),
    ("https://en.zamanalwsl.net/news/rss/52", "feed"),
    ("https://en.zamanalwsl.net/news/article/34489/like", "vote"),
    ("https://en.zamanalwsl.net/news/article/34489/dislike/", "vote"),
    ("https://en.zamanalwsl.net/news/article/34489/LIKE", "vote"),
    ("https://en.zamanalwsl.net/news/article/34489/%6Cike", "vote"),
    ("https://en.zamanalwsl.net/news//article/34489/like", "vote"),
    ("https://en.zamanalwsl.net/news/search?keyword=x", "search"),
    ("https://en.zamanalwsl.net/news/print/34489", "print"),
    ("https://en.zamanalwsl.net/news/comment/34489", "comment"),
    ("https://en.zamanalwsl.net/captcha/get/34489", "captcha"),
    ("https://en.zamanalwsl.net/CustomImage/get/700/500/5ad5f0e1a1b2c3d4e5f60718.jpg", "image"),
    ("https://en.zamanalwsl.net/css/site.css", "other"),
]


@pytest.mark.parametrize(("url", "kind"), KINDS)
def test_url_kinds(url, kind):
    assert classify(url).kind == kind


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/news/article/1",
        "https://en.zamanalwsl.net.evil.example/news/article/1",
        "https://en.zamanalwsl.net:8080/news/article/1",
        "ftp://en.zamanalwsl.net/news/article/1",
        "javascript:alert(1)",
        "mailto:someone@zamanalwsl.net",
        "http://[::1",
    ],
)
def test_other_hosts_schemes_and_garbage_are_not_the_site(url):
    assert classify(url) is None


def test_ids_and_canonical_forms():
    listing = classify("http://en.zamanalwsl.net/news/articles/121/3/")
    assert (listing.edition, listing.section_id, listing.page) == ("en", 121, 3)
    assert listing.canonical == "https://en.zamanalwsl.net/news/articles/121/3"
    assert (
        classify("https://www.zamanalwsl.net/news/rss/94").canonical
        == "https://www.zamanalwsl.net/news/rss/94/"
    )
    vote = classify("https://www.zamanalwsl.net/news/article/87640/dislike")
    assert (vote.edition, vote.article_id) == ("ar", 87640)


@pytest.mark.parametrize(
    ("href", "repaired"),
    [
        ("https://www.zamanalwsl.netuploads//x.jpg", "https://www.zamanalwsl.net/uploads/x.jpg"),
        (
            "http://en.zamanalwsl.netCustomImage/get/1/2/a.jpg",
            "http://en.zamanalwsl.net/CustomImage/get/1/2/a.jpg",
        ),
        ("//en.zamanalwsl.net/news/article/1", "https://en.zamanalwsl.net/news/article/1"),
        ("https://en.zamanalwsl.net/uploads/a.jpg", "https://en.zamanalwsl.net/uploads/a.jpg"),
    ],
)
def test_feed_enclosure_and_protocol_relative_repair(href, repaired):
    assert repair_url(href) == repaired


def test_relative_links_resolve_against_the_page():
    assert repair_url("/news/article/5", "https://en.zamanalwsl.net/news/articles/3/1") == (
        "https://en.zamanalwsl.net/news/article/5"
    )


def test_a_copy_stands_in_for_an_edition():
    sites = Sites.parse(["en=http://127.0.0.1:8001", "ar=http://127.0.0.1:8002/"])
    assert (
        sites.to_fetch("https://en.zamanalwsl.net/news/article/1") == "http://127.0.0.1:8001/news/article/1"
    )
    assert sites.to_fetch("http://zamanalwsl.net/news/rss/94/") == "http://127.0.0.1:8002/news/rss/94/"
    assert (
        sites.to_real("http://127.0.0.1:8002/news/article/9") == "https://www.zamanalwsl.net/news/article/9"
    )
    assert sites.classify("http://127.0.0.1:8001/news/article/1/like").kind == "vote"
    assert sites.classify("http://127.0.0.1:8003/news/article/1") is None
    assert Sites().to_fetch("https://en.zamanalwsl.net/x") == "https://en.zamanalwsl.net/x"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("en", "expected EDITION=BASE_URL"),
        ("fr=http://127.0.0.1:1", "unknown edition 'fr'"),
        ("en=127.0.0.1:8001", "expected an origin"),
        ("en=http://127.0.0.1:8001/sub/path", "expected an origin"),
        ("en=http://127.0.0.1:99999", "not a URL"),
    ],
)
def test_malformed_site_options_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        Sites.parse([spec])


# -- issue 14: the one URL-joining helper never raises; ids the archive cannot store are no pages -----------


@pytest.mark.parametrize(
    ("href", "base"),
    [
        ("http://[photo]/x.jpg", "https://en.zamanalwsl.net/news/article/1"),
        ("//[::1/x", "https://en.zamanalwsl.net/"),
        ("/x.jpg", "http://[base]/"),
        ("http://en.zamanalwsl.net:port/x", None),
        (None, "https://en.zamanalwsl.net/"),
    ],
)
def test_a_link_that_is_no_url_repairs_to_none(href, base):
    assert repair_url(href, base) is None
    assert classify(repair_url(href, base)) is None
    assert canonical_article_url(href) is None


def test_ids_beyond_sqlite_integers_are_no_pages_of_the_site():
    largest = 2**63 - 1
    assert canonical_article_url(f"https://en.zamanalwsl.net/news/article/{largest}").endswith(str(largest))
    for path in (
        "news/article/99999999999999999999",
        f"news/articles/3/{largest + 1}",
        f"news/rss/{10**19}/",
    ):
        assert classify(f"https://en.zamanalwsl.net/{path}").kind == "other"
    # A vote link is a vote link whatever its number: it is never fetched.
    assert classify("https://en.zamanalwsl.net/news/article/99999999999999999999/like").kind == "vote"


def test_an_image_url_keeps_its_escapes_and_its_query():
    image = classify("https://en.zamanalwsl.net/uploads//100%25%20done.jpg?w=700&h=500")
    assert image.kind == "image"
    assert image.canonical == "https://en.zamanalwsl.net/uploads/100%25%20done.jpg?w=700&h=500"
