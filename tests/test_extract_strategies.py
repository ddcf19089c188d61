"""Where each field comes from (structured data, layouts, landmarks), explain(), and the not-found page."""

from __future__ import annotations

import html as html_lib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_extract_pages import MARKUP_VARIANTS

from zwcrawl.extract import ArticlePage, extract_article
from zwcrawl.extract.article import FOUND_FIELDS, STRATEGIES
from zwcrawl.extract.attribution import read_attribution, with_declared
from zwcrawl.extract.decode import decode_html
from zwcrawl.extract.fields import field_errors
from zwcrawl.extract.markup import parse_html
from zwcrawl.extract.structured import read_declared

FIXTURES = Path(__file__).parent / "fixtures"
ZWSITE = FIXTURES / "zwsite"
PAGES = FIXTURES / "pages"
HOSTS = {"en": "en.zamanalwsl.net", "ar": "www.zamanalwsl.net"}
_ORIGIN = "https://en.zamanalwsl.net"


def _mirror(edition: str, article_id: int) -> tuple[bytes, str, dict]:
    page = ZWSITE / HOSTS[edition] / "news/article" / f"{article_id}.html"
    expected = json.loads((ZWSITE / "expected" / edition / f"{article_id}.json").read_text(encoding="utf-8"))
    return page.read_bytes(), expected["url"], expected


def _all_fixtures():
    for expected in sorted(ZWSITE.glob("expected/*/*.json")):
        page = ZWSITE / HOSTS[expected.parent.name] / "news/article" / f"{expected.stem}.html"
        yield pytest.param(page, expected, id=f"zwsite/{expected.parent.name}/{expected.stem}")
    for expected in sorted(PAGES.glob("*.json")):
        yield pytest.param(expected.with_suffix(".html"), expected, id=f"pages/{expected.stem}")


def _with_head(html: str, extra: str) -> str:
    return html.replace("</head>", extra + "\n</head>", 1)


def _json_ld(**article) -> str:
    return f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", **article})}</script>'


# -- every page reports a strategy per field ----------------------------------------------------------


@pytest.mark.parametrize(("page", "expected_file"), list(_all_fixtures()))
def test_every_found_field_names_its_strategy_and_every_missing_one_none(page: Path, expected_file: Path):
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    article = ArticlePage(expected["url"], page.read_bytes())
    strategies = article.strategies
    assert tuple(strategies) == FOUND_FIELDS
    explained = article.explain()
    for name, strategy in strategies.items():
        assert strategy in (*STRATEGIES, None), name
        value = getattr(article, name)
        found = not (value is None or value is False or value == [])  # 0 likes is found
        assert (strategy is not None) == found, (name, value, strategy)
        assert explained[name]["strategy"] == strategy and explained[name]["value"] == value
        assert set(explained[name]["readings"]) == set(STRATEGIES)
        if name not in ("source", "authors", "translators", "dateline", "with_agencies", "kind", "images"):
            # The strategy credited read the value kept (attribution is read from the text it found).
            reading = explained[name]["readings"][strategy] if strategy else None
            assert reading == (value if strategy else None) or name == "comments", name


@pytest.mark.parametrize(
    ("edition", "article_id", "layout"),
    [("en", 34489, "layout"), ("ar", 87640, "layout"), ("en", 10605, "legacy"), ("ar", 44954, "legacy")],
)
def test_the_site_layouts_are_credited_for_what_they_print(edition: str, article_id: int, layout: str):
    html, url, _ = _mirror(edition, article_id)
    strategies = ArticlePage(url, html).strategies
    for name in (
        "section_id",
        "section",
        "published",
        "body",
        "byline",
        "likes",
        "dislikes",
        "comments_count",
    ):
        assert strategies[name] == layout, name


def test_unknown_markup_is_read_by_landmarks_and_a_shell_by_its_data():
    page = PAGES / "en-other-markup.html"
    strategies = ArticlePage("https://en.zamanalwsl.net/news/article/58812", page.read_bytes()).strategies
    assert {strategies[name] for name in ("headline", "published", "body", "byline")} == {"landmark"}
    page = PAGES / "en-redesign-next-data.html"
    strategies = ArticlePage("https://en.zamanalwsl.net/news/article/61207", page.read_bytes()).strategies
    assert set(strategies.values()) <= {"structured", None}
    assert strategies["body"] == strategies["authors"] == strategies["likes"] == "structured"


# -- which reading wins -------------------------------------------------------------------------------


def test_a_declaration_the_page_contradicts_wins():
    html, url, _ = _mirror("en", 34489)
    page = ArticlePage(
        url, _with_head(html.decode(), _json_ld(headline="Regime offensive on Yarmouk begins"))
    )
    assert page.headline == "Regime offensive on Yarmouk begins"
    assert page.strategies["headline"] == "structured"
    readings = page.explain()["headline"]["readings"]
    assert readings["layout"] == "Regime forces begin major offensive to uproot Daesh from southern Damascus"


def test_a_declaration_the_page_prints_more_fully_is_kept_as_printed():
    """The same headline with its marker, the same text in its paragraphs, the same section with its id."""
    html, url, expected = _mirror("en", 34466)
    bare_title = expected["headline"].removeprefix("Opinion- ")
    declared = _json_ld(
        headline=bare_title,
        articleBody=" ".join(expected["body"].split("\n\n")),
        articleSection="Opinion",
        datePublished=expected["published"],
    )
    page = ArticlePage(url, _with_head(html.decode().replace(expected["headline"], bare_title, 1), declared))
    # Only the <h1> keeps the marker now (the <title> and og:title were replaced above).
    assert page.headline.startswith("Opinion- ") and page.kind == "opinion"
    assert page.to_item().to_dict() == expected
    assert page.strategies["headline"] == page.strategies["body"] == "layout"
    assert page.strategies["published"] == "structured"


def test_a_declared_body_that_is_another_text_wins_over_the_printed_one():
    html, url, expected = _mirror("en", 34489)
    other = "(AFP)- A different story altogether.\n\nIts second paragraph."
    page = ArticlePage(url, _with_head(html.decode(), _json_ld(articleBody=other)))
    assert page.body == other and page.source == "AFP"
    assert page.strategies["body"] == page.strategies["source"] == "structured"
    assert page.explain()["body"]["readings"]["layout"] == expected["body"]


def test_a_printed_block_that_holds_the_declared_text_and_much_more_is_not_taken_for_it():
    """A layout strategy that took a whole column (text and more) does not replace the declared text."""
    html, url, expected = _mirror("en", 34489)
    column = "<p>" + "Most read: another story on another day. " * 60 + "</p>"
    grown = html.decode().replace("(With Agencies)</p>", "(With Agencies)</p>" + column, 1)
    page = ArticlePage(url, _with_head(grown, _json_ld(articleBody=expected["body"])))
    assert page.body == expected["body"] and page.strategies["body"] == "structured"
    assert page.explain()["body"]["readings"]["layout"].endswith("another day.")
    # The same text cut short ("..."): the printed text that holds its beginning is the whole of it.
    cut = expected["body"][:400] + "..."
    page = ArticlePage(url, _with_head(html.decode(), _json_ld(articleBody=cut)))
    assert page.body == expected["body"] and page.strategies["body"] == "layout"


def test_a_printed_headline_that_holds_the_declared_one_among_other_text_is_not_taken_for_it():
    html, url, expected = _mirror("en", 34489)
    long_h1 = f"{expected['headline']} and a great deal of other text that no headline marker explains"
    page = ArticlePage(
        url, _with_head(html.decode().replace(expected["headline"] + "</h1>", long_h1 + "</h1>"), "")
    )
    assert page.headline == expected["headline"] and page.strategies["headline"] == "structured"


def test_the_social_card_image_is_the_articles_only_when_the_page_prints_none():
    """og:image is often a crop or another picture: a declared image of last resort, unlike JSON-LD's."""
    html, url, expected = _mirror("en", 34478)
    card = '<meta property="og:image" content="https://en.zamanalwsl.net/CustomImage/get/1200/630/card.jpg">'
    page = html.decode().replace('<meta property="og:image"', card + '<meta property="og:x"', 1)
    assert extract_article(page, url)["images"] == expected["images"]
    no_img = page.replace(f'<img src="{expected["images"][0]["url"].removeprefix(_ORIGIN)}"', "<img", 1)
    assert extract_article(no_img, url)["images"] == [
        {"url": "https://en.zamanalwsl.net/CustomImage/get/1200/630/card.jpg", "caption": None}
    ]
    declared = _with_head(page, _json_ld(image={"url": "/uploads/main.jpg", "caption": "The main photo"}))
    assert extract_article(declared, url)["images"] == [
        {"url": "https://en.zamanalwsl.net/uploads/main.jpg", "caption": "The main photo"}
    ]


class _BrokenDeclaration(ArticlePage):
    def _declared_section(self):
        raise RuntimeError("a parser bug")


def test_a_strategy_that_raises_has_read_nothing_and_the_next_one_is_tried(caplog):
    html, url, expected = _mirror("en", 34489)
    page = _BrokenDeclaration(url, _with_head(html.decode(), _json_ld(articleSection="Syria")))
    assert (page.section_id, page.section) == (3, "Syria") and page.strategies["section"] == "layout"
    assert "section could not be read by structured: RuntimeError: a parser bug" in caplog.text
    # The same net as a field's (field_or): the error is noted, naming the strategy; the field itself is fine.
    assert field_errors(page) == {"section by structured": "RuntimeError"}


# -- attribution: printed conventions and declared names ---------------------------------------------


def test_printed_credits_win_over_a_declared_author_list():
    """The CMS names the translator as author; the printed "(By A; Translation by B)" is what counts."""
    page = PAGES / "en-redesign-amp.html"
    article = ArticlePage("https://en.zamanalwsl.net/news/article/60512", page.read_bytes())
    assert article._declared.authors == ["Ahmad Wali"]
    assert (article.authors, article.translators) == (["Reem Halabi"], ["Ahmad Wali"])
    assert article.strategies["authors"] == article.strategies["body"]


def test_declared_names_fill_a_role_the_text_leaves_empty():
    text = read_attribution(["(Zaman Al Wasl)- Shelling resumed on Tuesday.", "Two were wounded."])
    assert (text.authors, text.translators, text.source) == ([], [], "Zaman Al Wasl")
    merged = with_declared(text, ["Rami Saleh and Noor Ali"], ["Sami Farah"])
    assert (merged.authors, merged.translators) == (["Rami Saleh", "Noor Ali"], ["Sami Farah"])
    assert merged.declared == {"authors", "translators"} and merged.source == "Zaman Al Wasl"
    assert text.authors == []  # the printed reading is left as it was


def test_declared_names_are_read_with_the_printed_conventions():
    text = read_attribution(["The text names no one.", "Nor does this."])
    merged = with_declared(text, ["By Hadi Sulaiman; Translation by Sami Farah", "AFP", "Zaman Al Wasl"], [])
    assert merged.authors == ["Hadi Sulaiman"] and merged.translators == ["Sami Farah"]
    # Outlets are not people: the wire is the source, ahead of the site itself.
    assert merged.source == "AFP" and merged.source_from == "declared"


def test_a_declared_author_the_text_names_as_translator_is_not_made_an_author():
    text = read_attribution(["(Zaman Al Wasl)- Text.", "(Translation by Sami Farah)"])
    merged = with_declared(text, ["Sami Farah"], [])
    assert (merged.authors, merged.translators) == ([], ["Sami Farah"])


def test_a_printed_source_wins_over_a_declared_outlet():
    text = read_attribution(["BEIRUT (AP) — Text."], byline="AP")
    assert with_declared(text, ["Reuters"], []).source == "AP"


# -- an article held only in an app shell's data ------------------------------------------------------


def _shell(expected: dict) -> str:
    """The page an app shell would serve for an article: an empty root and the article in window state."""
    article = {
        "id": expected["article_id"],
        "title": expected["headline"],
        "body": "".join(f"<p>{html_lib.escape(p)}</p>" for p in expected["body"].split("\n\n")),
        "publishedAt": expected["published"],
        "section": {"id": expected["section_id"], "name": expected["section"]},
        "source": expected["byline"],
        "likes": expected["likes"],
        "dislikes": expected["dislikes"],
        "commentsCount": expected["comments_count"],
        "comments": [
            {"author": {"name": c["author"]}, "createdAt": c["posted"], "text": c["text"]}
            for c in expected["comments"]
        ],
        "images": [{"src": i["url"], "caption": i["caption"]} for i in expected["images"]],
    }
    state = {"route": "/news/article/:id", "ui": {"theme": "light"}, "articles": {"byId": {"x": article}}}
    return (
        "<!doctype html><html><head><title>Zaman Al Wasl</title></head><body><div id='root'></div>"
        f"<script>window.__INITIAL_STATE__ = {json.dumps(state, ensure_ascii=False)};</script></body></html>"
    )


@pytest.mark.parametrize("expected_file", sorted(ZWSITE.glob("expected/*/*.json")), ids=lambda p: p.stem)
def test_an_article_held_only_in_embedded_data_extracts_the_same(expected_file: Path):
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    if not expected["is_article"]:
        return
    got = extract_article(_shell(expected), expected["url"])
    assert got == expected


def test_embedded_data_about_another_article_only_is_not_taken_for_this_one():
    _, url, expected = _mirror("en", 34489)
    shell = _shell(expected).replace('"id": 34489', '"id": 1, "url": "/news/article/34490"', 1)
    assert extract_article(shell, url) == {"url": url, "is_article": False}


def test_embedded_data_is_read_for_this_article_not_a_related_one():
    _, url, expected = _mirror("en", 34489)
    shell = _shell(expected).replace(
        '"byId": {', '"byId": {"y": {"id": 34490, "title": "Other", "body": "%s"}, ' % ("x" * 200)
    )
    assert extract_article(shell, url) == expected


# -- structured data, read defensively ----------------------------------------------------------------


def _declared(html: str, article_id: int = 7):
    return read_declared(parse_html(html), article_id)


def test_json_ld_graph_lists_and_breadcrumbs():
    html = (
        '<html><head><script type="application/ld+json">[{"@type": "WebSite"}, {"@graph": ['
        '{"@type": "BreadcrumbList", "itemListElement": [{"position": 2, "name": "Syria",'
        ' "item": "https://en.zamanalwsl.net/news/articles/3/1"}, {"position": 1, "name": "Home",'
        ' "item": "https://en.zamanalwsl.net/"}]},'
        '{"@type": ["OpinionNewsArticle"], "headline": "H", "datePublished": 1524157440000}]}]'
        "</script></head><body></body></html>"
    )
    declared = _declared(html)
    assert (declared.headline, declared.kind, declared.is_article) == ("H", "opinion", True)
    assert (declared.section, declared.section_url) == (
        "Syria",
        "https://en.zamanalwsl.net/news/articles/3/1",
    )
    assert declared.published == "2018-04-19T17:04:00Z"  # epoch milliseconds


@pytest.mark.parametrize(
    "script",
    [
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>',
        '<script type="application/json">{{{{</script>',
        "<script>window.__STATE__ = {broken;</script>",
        '<script type="application/ld+json">"just a string"</script>',
        '<script type="application/ld+json">{"@type": 5, "headline": ["a"], "author": {"name": 3}}</script>',
    ],
)
def test_broken_structured_data_is_ignored(script: str):
    html, url, expected = _mirror("en", 34489)
    assert extract_article(_with_head(html.decode(), script), url) == expected


# -- removed, or drifted ------------------------------------------------------------------------------


@pytest.mark.parametrize(("page", "expected_file"), list(_all_fixtures()))
def test_only_the_sites_not_found_pages_are_recognised_as_such(page: Path, expected_file: Path):
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    article = ArticlePage(expected["url"], page.read_bytes())
    soft_404 = page.stem.startswith("soft404") or page.stem == "34490"
    assert article.is_not_found == soft_404
    assert article.is_article == expected["is_article"]
    assert article.to_item().not_found == soft_404  # what the crawl reads: a removal, never drift


def test_a_page_that_lost_its_text_is_drift_not_a_removal():
    """The issue's stand-in for a redesign: the article page with its paragraphs gone."""
    html, url, _ = _mirror("en", 34489)
    start, end = html.index(b'<div class="news-text">'), html.index(b'<div class="news-source">')
    page = ArticlePage(url, html[:start] + b'<div class="news-text"></div>\n  ' + html[end:])
    assert not page.is_article and not page.is_not_found


@pytest.mark.parametrize(
    ("data", "not_found"),
    [
        ('{"page": "/404", "props": {"pageProps": {}}}', True),
        ('{"props": {"pageProps": {"statusCode": 410}}, "page": "/news/article/[id]"}', True),
        ('{"props": {"pageProps": {"notFound": true}}}', True),
        ('{"props": {"pageProps": {}}, "page": "/news/article/[id]"}', False),  # nothing said: drift
    ],
)
def test_an_app_shell_says_when_it_is_the_not_found_page(data: str, not_found: bool):
    html = (
        '<!doctype html><html><head><title>Zaman Al Wasl</title></head><body><div id="__next"></div>'
        f'<script id="__NEXT_DATA__" type="application/json">{data}</script></body></html>'
    )
    page = ArticlePage("https://en.zamanalwsl.net/news/article/99999", html)
    assert not page.is_article and page.is_not_found == not_found


def test_explain_on_the_command_line():
    page = PAGES / "en-redesign-amp.html"
    url = "https://en.zamanalwsl.net/news/article/60512"
    run = subprocess.run(
        [sys.executable, "-m", "zwcrawl", "extract", page, "--url", url, "--explain"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"{url}: an article"
    assert "authors: found by landmark" in lines
    authors = lines[lines.index("authors: found by landmark") + 1 :][:4]
    assert authors[0] == '    structured ["Ahmad Wali"]'  # what the declaration alone would give
    assert authors[3] == '  * landmark   ["Reem Halabi"]'
    plain = subprocess.run(
        [sys.executable, "-m", "zwcrawl", "extract", page, "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(plain.stdout) == json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("variant", list(MARKUP_VARIANTS))
@pytest.mark.parametrize("expected_file", sorted(PAGES.glob("*-redesign-*.json")), ids=lambda p: p.stem)
def test_redesigned_pages_with_other_markup_extract_the_same(expected_file: Path, variant: str):
    """The redesigns' class names are guesses too: without them, or in other spellings, nothing changes."""
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    html = MARKUP_VARIANTS[variant](decode_html(expected_file.with_suffix(".html").read_bytes()))
    assert extract_article(html, expected["url"]) == expected
