"""Benchmark a whole crawl: a synthetic copy of the site on 127.0.0.1, crawled, refreshed, then verified.

    .venv/bin/python benchmarks/bench_crawl.py [--articles-en 2000] [--articles-ar 1000] [--quick]
                                               [--dir DIR] [--keep] [--timeout 900] [--validators]

The copy is made from the fixture pages (tests/fixtures/zwsite) used as templates: each article is the page of
en/34489 or ar/87640 with its own id, headline, date, section, "most read" links and a reshuffled body; the
sections of the fixture menu get listings of 20 articles a page with a "Next" pager, the home page and the RSS
feed list the newest articles. Served by MirrorServer in this process, the copy is crawled by
`python -m zwcrawl crawl` in a child process (wall-clock time, the child's own peak RSS: its VmHWM),
crawled again with --refresh, then checked with `python -m zwcrawl verify`. With --validators the copy sends
ETag and Last-Modified, and the refresh runs three times, interleaved: conditional (every article a 304), full
(-s ZW_CONDITIONAL=False), conditional again; each step prints the requests and bytes the mirror served.
Exit 1 when the archive holds fewer articles than were generated, a crawl or verify fails, or a forbidden URL
(a vote link) was requested.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from zwcrawl.extract import FeedPage, ListingPage, extract_article
from zwcrawl.mirror import MirrorServer
from zwcrawl.site import FETCHABLE_KINDS, ORIGINS, article_url, classify_path, feed_url, listing_url

ZWSITE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "zwsite"
PER_PAGE = 20  # articles on a listing page, on the home page and in the feed
DAMASCUS = ZoneInfo("Asia/Damascus")
NEWEST = datetime(2018, 4, 20)  # the fixture's last day; older articles go back from here


@dataclass(frozen=True)
class _Edition:
    """What the generator needs to know about one edition's fixture pages."""

    name: str
    template_id: int  # the fixture article every generated article is made from
    listing: str  # a fixture listing page with a pager, the template of every listing page
    feed_id: int
    first_id: int  # the id of the oldest generated article
    pager_text: tuple[str, str]  # "Previous", "Next"
    opinion: tuple[int, str]  # the opinion section and its headline marker
    subjects: tuple[str, ...]
    actions: tuple[str, ...]
    places: tuple[str, ...]

    @property
    def host(self) -> str:
        return ORIGINS[self.name].split("//", 1)[1]


EDITIONS = {
    "en": _Edition(
        "en",
        34489,
        "news/articles/89/1.html",
        52,
        40_001,
        ("Previous", "Next"),
        (30, "Opinion- "),
        (
            "Regime forces",
            "Opposition fighters",
            "Aid agencies",
            "Residents",
            "Activists",
            "The UN envoy",
            "Turkish officials",
            "Displaced families",
            "Local councils",
            "Medical workers",
        ),
        (
            "report new shelling of",
            "call for a truce in",
            "warn of fuel shortages in",
            "return to",
            "document arrests in",
            "demand aid access to",
            "flee fighting near",
            "rebuild schools in",
        ),
        (
            "eastern Ghouta",
            "Idlib",
            "Daraa",
            "southern Damascus",
            "the Aleppo countryside",
            "Deir ez-Zor",
            "Homs",
            "Hama",
            "Raqqa",
            "the Yarmouk camp",
        ),
    ),  # fmt: skip
    "ar": _Edition(
        "ar",
        87640,
        "news/articles/1/1.html",
        94,
        90_001,
        ("السابق", "التالي"),
        (2, "رأي - "),
        ("قوات النظام", "فصائل المعارضة", "منظمات الإغاثة", "ناشطون", "الأمم المتحدة", "الأهالي"),
        ("تصعّد قصفها على", "تحذر من كارثة إنسانية في", "يطالبون بفتح الطرق إلى", "تعلن هدنة في"),
        ("ريف حلب", "إدلب", "درعا", "جنوب دمشق", "الغوطة الشرقية", "دير الزور", "حمص", "مخيم اليرموك"),
    ),
}

_AR_WEEKDAYS = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
_AR_MONTHS = (
    "كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران",
    "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول",
)  # fmt: skip


@dataclass(frozen=True)
class _Article:
    """One generated article."""

    edition: str
    article_id: int
    section_id: int
    section: str
    headline: str
    local: datetime  # the date line: Damascus wall-clock time
    paragraphs: tuple[str, ...]  # inner HTML of each <p>
    most_read: tuple[int, ...]

    @property
    def published(self) -> str:
        """The date line in UTC, as the extractor must return it."""
        utc = self.local.replace(tzinfo=DAMASCUS).astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def teaser(self) -> str:
        """Plain text of the first paragraphs, cut like the site's teasers."""
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", p)) for p in self.paragraphs[:3])
        text = " ".join(text.split())
        return text if len(text) <= 200 else text[:200].rsplit(" ", 1)[0] + "..."


# -- the synthetic site --------------------------------------------------------------------------------


def _between(text: str, start: str, end: str, placeholder: str, within: str | None = None) -> str:
    """Replace what lies between `start` and the next `end` (inside the block opened by `within`, if given).

    The opening marker must occur exactly once: a changed fixture must fail loudly, not generate junk.
    """
    marker = within or start
    if text.count(marker) != 1:
        raise SystemExit(
            f"bench_crawl: {marker!r} occurs {text.count(marker)} times in a fixture, expected once"
        )
    begin = text.index(start, text.index(marker)) + len(start)
    return text[:begin] + placeholder + text[text.index(end, begin) :]


def _fixture(edition: _Edition, rel: str) -> str:
    return (ZWSITE / edition.host / rel).read_text("utf-8")


def _sections(edition: _Edition) -> dict[int, str]:
    """The sections of the fixture's menu, id -> name, in menu order."""
    menu = re.search(r'<ul id="menu">.*?</ul>', _fixture(edition, "index.html"), re.S).group(0)
    return {int(sid): name for sid, name in re.findall(r'href="/news/articles/(\d+)/1">([^<]+)</a>', menu)}


def _article_template(edition: _Edition) -> tuple[str, list[str]]:
    """The template article with @@NAME@@ placeholders, and the inner HTML of its paragraphs."""
    page = _fixture(edition, f"news/article/{edition.template_id}.html")
    headline = re.search(r'<h1 class="news-title">(.*?)</h1>', page).group(1)
    body = re.search(r'<div class="news-text">(.*?)</div>', page, re.S).group(1)
    paragraphs = re.findall(r"<p>(.*?)</p>", body, re.S)
    page = page.replace(headline, "@@HEADLINE@@")  # <title>, og:title and <h1>
    page = _between(page, '<meta name="description" content="', '"', "@@DESCRIPTION@@")
    page = _between(page, '<div class="news-info">', "</div>", "@@INFO@@")
    page = _between(page, '<div class="news-text">', "</div>", "@@BODY@@")
    page = _between(page, '<span class="like-count">(', ")", "@@LIKES@@")
    page = _between(page, '<span class="dislike-count">(', ")", "@@DISLIKES@@")
    page = _between(page, "<ul>", "</ul>", "@@MOSTREAD@@", within='<div class="box most-read">')
    page = re.sub(rf"\b{edition.template_id}\b", "@@ID@@", page)
    return page, paragraphs


def _spellings(edition: _Edition, path: str, n: int) -> str:
    """One of the spellings the site uses for its own links (relative, http, https with slash, //)."""
    hosts = (edition.host, "zamanalwsl.net") if edition.name == "ar" else (edition.host,)
    host = hosts[n % len(hosts)]
    return (path, f"http://{host}{path}", f"https://{host}{path}/", f"//{host}{path}")[n % 4]


def _generate_articles(edition: _Edition, count: int, paragraphs: list[str], rng: random.Random) -> list:
    """`count` articles of one edition, oldest first, ids growing with time."""
    sections = _sections(edition)
    lead, middle, closing = paragraphs[0], paragraphs[1:-1], paragraphs[-1]
    words = [
        w
        for p in paragraphs
        for w in html.unescape(re.sub(r"<[^>]+>", "", p)).split()
        if not set(w) & set("()&<>")  # no stray "(With" or "Agencies)" to confuse the attribution rules
    ]
    ids = [edition.first_id + i for i in range(count)]
    articles = []
    for i, article_id in enumerate(ids):
        age = count - 1 - i
        # Four a day at 08:xx, 11:xx, 14:xx, 17:xx: never near midnight, where Damascus changes its clocks.
        local = (
            NEWEST - timedelta(days=age // 4) + timedelta(hours=17 - 3 * (age % 4), minutes=rng.randrange(60))
        )
        section_id = rng.choice(list(sections))
        marker = edition.opinion[1] if section_id == edition.opinion[0] else ""
        words_of = (rng.choice(edition.subjects), rng.choice(edition.actions), rng.choice(edition.places))
        headline = marker + " ".join(words_of)
        kept = sorted(rng.sample(range(len(middle)), k=rng.randint(max(1, len(middle) // 2), len(middle))))
        body = [middle[k] for k in kept]
        for _ in range(rng.randint(1, 3)):
            salad = " ".join(rng.choices(words, k=rng.randint(25, 70)))
            body.insert(rng.randint(0, len(body)), html.escape(salad, quote=False) + ".")
        others = [a for a in rng.sample(ids, k=min(6, count)) if a != article_id][:5]
        articles.append(
            _Article(
                edition.name,
                article_id,
                section_id,
                sections[section_id],
                headline,
                local,
                (lead, *body, closing),
                tuple(others),
            )  # fmt: skip
        )
    return articles


def _date_line(article: _Article) -> str:
    local = article.local
    if article.edition == "ar":
        return (
            f"{_AR_WEEKDAYS[local.weekday()]} {local.day} {_AR_MONTHS[local.month - 1]} {local.year} "
            f"{local:%H:%M}"
        )
    return f"{local:%Y-%m-%d %H:%M}"


def _render_article(
    template: str, edition: _Edition, article: _Article, headlines: dict[int, str], rng: random.Random
) -> str:
    info = (
        f'<a class="news-section" href="/news/articles/{article.section_id}/1">'
        f'{html.escape(article.section)}</a> <span class="news-date">{_date_line(article)}</span>'
    )
    most_read = "".join(
        f'<li><a href="{_spellings(edition, f"/news/article/{other}", n)}">'
        f"{html.escape(headlines[other])}</a></li>"
        for n, other in enumerate(o for o in article.most_read if o in headlines)
    )
    body = "\n" + "".join(f"<p>{p}</p>\n" for p in article.paragraphs)
    values = {
        "@@ID@@": str(article.article_id),
        "@@HEADLINE@@": html.escape(article.headline),
        "@@DESCRIPTION@@": html.escape(article.teaser),
        "@@INFO@@": info,
        "@@BODY@@": body,
        "@@LIKES@@": str(rng.randrange(500)),
        "@@DISLIKES@@": str(rng.randrange(100)),
        "@@MOSTREAD@@": most_read,
    }
    page = template
    for key, value in values.items():
        page = page.replace(key, value)
    return page


def _render_listing(
    template: str, edition: _Edition, section_id: int, section: str, page: int, last: int, items: list
) -> str:
    entries = "\n".join(
        f'<div class="news-item"><a class="news-item-title" href="/news/article/{a.article_id}">'
        f'{html.escape(a.headline)}</a> <span class="news-item-date">{a.local:%d/%m/%Y}</span>'
        f'<p class="news-item-teaser">{html.escape(a.teaser)}</p></div>'
        for a in items
    )
    base = f"/news/articles/{section_id}"
    previous, following = edition.pager_text
    pager = [f'<a class="prev" href="{base}/{page - 1}">{previous}</a>'] if page > 1 else []
    for n in range(max(1, page - 2), min(last, page + 2) + 1):
        pager.append(f'<span class="current">{n}</span>' if n == page else f'<a href="{base}/{n}">{n}</a>')
    if page < last:
        pager.append(f'<a class="next" href="{base}/{page + 1}">{following}</a>')
    return (
        template.replace("@@SECTION@@", html.escape(section))
        .replace("@@ITEMS@@", entries)
        .replace("@@PAGER@@", " ".join(pager))
    )


def _listing_template(edition: _Edition) -> str:
    page = _fixture(edition, edition.listing)
    page = _between(page, "<title>", " - ", "@@SECTION@@")
    page = _between(page, '<h1 class="section-title">', "</h1>", "@@SECTION@@")
    page = _between(page, '<div class="news-list">\n', '</div>\n<div class="pager">', "@@ITEMS@@\n")
    return _between(page, '<div class="pager">', "</div>", "@@PAGER@@")


def _render_home(edition: _Edition, newest: list[_Article]) -> str:
    links = "".join(
        f'<li><a href="{_spellings(edition, f"/news/article/{a.article_id}", n)}">'
        f"{html.escape(a.headline)}</a></li>\n"
        for n, a in enumerate(newest)
    )
    return _between(_fixture(edition, "index.html"), '<ul class="latest">\n', "</ul>", links)


def _render_feed(edition: _Edition, newest: list[_Article]) -> str:
    items = "".join(
        f"<item>\n    <title>{html.escape(a.headline)}</title>\n"
        f"    <link>{article_url(edition.name, a.article_id)}/</link>\n"
        f"    <description>{html.escape(a.teaser)}</description>\n"
        f"    <pubDate>{datetime.fromisoformat(a.published):%a, %d %b %Y %H:%M:%S} GMT</pubDate>\n"
        f'    <guid isPermaLink="false">{edition.name}-{a.article_id}</guid>\n  </item>\n  '
        for a in newest
    )
    feed = _fixture(edition, f"news/rss/{edition.feed_id}.xml")
    # Every <item> of the fixture feed gives way to the generated ones.
    return feed[: feed.index("<item>")] + items + feed[feed.rindex("</item>") + len("</item>\n  ") :]


@dataclass
class _Site:
    """A generated copy: its root and what it holds."""

    root: Path
    articles: dict[str, list[_Article]]
    listing_pages: int
    size: int


def generate_site(
    root: Path,
    counts: dict[str, int],
    seed: int = 1,
    published: dict[str, int] | None = None,
    pinned: dict[str, int] | None = None,
    shifted: dict[str, int] | None = None,
) -> _Site:
    """Write a synthetic copy of the site (zwsite layout) under root.

    `published` shows only the oldest N of an edition's `counts` articles (the same articles, dates and
    sections, so a later copy with more published is the same site after N more appeared); `pinned` puts
    that article at the top of every section's first page; `shifted` renders the pages after the first as if
    that many more articles had appeared meanwhile (a listing that shifted while a walk ran).
    """
    rng = random.Random(seed)
    articles, listing_pages, size = {}, 0, 0
    published, pinned, shifted = published or {}, pinned or {}, shifted or {}

    def write(path: Path, text: str) -> None:
        nonlocal size
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        path.write_bytes(data)
        size += len(data)

    for name, count in counts.items():
        edition = EDITIONS[name]
        host_dir = root / edition.host
        template, paragraphs = _article_template(edition)
        everything = _generate_articles(edition, count, paragraphs, rng)
        shown = published.get(name, count)
        generated = everything[:shown]
        articles[name] = generated
        headlines = {a.article_id: a.headline for a in generated}  # links to what is published
        for article in generated:
            write(
                host_dir / "news" / "article" / f"{article.article_id}.html",
                _render_article(template, edition, article, headlines, rng),
            )
        listing = _listing_template(edition)
        later = everything[: shown + shifted.get(name, 0)]
        top = [a for a in generated if a.article_id == pinned.get(name)]
        for section_id, section in _sections(edition).items():
            newest_first = [a for a in reversed(generated) if a.section_id == section_id]
            after_shift = [a for a in reversed(later) if a.section_id == section_id]
            last = max(1, -(-len(newest_first) // PER_PAGE))
            for page in range(1, last + 1):
                source = newest_first if page == 1 else after_shift
                items = source[(page - 1) * PER_PAGE : page * PER_PAGE]
                if page == 1 and top:
                    items = top + [a for a in items if a not in top]  # pinned on top of the page's own
                text = _render_listing(listing, edition, section_id, section, page, last, items)
                write(host_dir / "news" / "articles" / str(section_id) / f"{page}.html", text)
                listing_pages += 1
        newest = generated[::-1][:PER_PAGE]
        write(host_dir / "index.html", _render_home(edition, newest))
        write(host_dir / "news" / "rss" / f"{edition.feed_id}.xml", _render_feed(edition, newest))
        shutil.copyfile(ZWSITE / edition.host / "robots.txt", host_dir / "robots.txt")
    return _Site(root, articles, listing_pages, size)


def check_site(site: _Site) -> list[str]:
    """Read sample pages back with zwcrawl's own page objects; the problems found, if any."""
    problems = []
    for name, generated in site.articles.items():
        edition = EDITIONS[name]
        host_dir = site.root / edition.host
        by_section: dict[int, list[_Article]] = {}
        for article in generated:
            by_section.setdefault(article.section_id, []).append(article)
        sample = [a for arts in by_section.values() for a in (arts[0], arts[-1])]
        for article in sample:
            url = article_url(name, article.article_id)
            page = (host_dir / "news" / "article" / f"{article.article_id}.html").read_bytes()
            fields = extract_article(page, url)
            expected = {
                "is_article": True,
                "article_id": article.article_id,
                "edition": name,
                "headline": article.headline,
                "section_id": article.section_id,
                "published": article.published,
            }
            got = {key: fields.get(key) for key in expected}
            if got != expected:
                problems.append(f"{url}: extracted {got}, expected {expected}")
        for section_id, arts in by_section.items():
            pages = -(-len(arts) // PER_PAGE)
            url = listing_url(name, section_id, 1)
            listing = ListingPage(
                url, (host_dir / "news" / "articles" / str(section_id) / "1.html").read_bytes()
            )
            ids = [entry["article_id"] for entry in listing.articles]
            want_ids = [a.article_id for a in reversed(arts)][:PER_PAGE]
            want_next = listing_url(name, section_id, 2) if pages > 1 else None
            if ids != want_ids or listing.next_url != want_next:
                problems.append(
                    f"{url}: ids {ids[:3]}... next {listing.next_url}, expected {want_ids[:3]}... {want_next}"
                )
        feed = FeedPage(
            feed_url(name, edition.feed_id),
            (host_dir / "news" / "rss" / f"{edition.feed_id}.xml").read_bytes(),
        )
        if len(feed.items) != min(PER_PAGE, len(generated)):
            problems.append(f"{feed_url(name, edition.feed_id)}: {len(feed.items)} items")
    return problems


# -- running and measuring ------------------------------------------------------------------------------


@dataclass
class _Run:
    """One child process: how long it took, its peak RSS, how it ended."""

    seconds: float
    peak_rss_kb: int
    returncode: int
    stdout: str
    stderr: str


def _watch_peak_rss(pid: int, done: threading.Event, peak: list[int]) -> None:
    """Keep the child's own high-water RSS (VmHWM, kB) in peak[0], read from /proc until it exits."""
    while not done.is_set():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        if found:
            peak[0] = max(peak[0], int(found.group(1)))
        done.wait(0.02)


def run_child(command: list[str], cwd: Path, name: str, timeout: float) -> _Run:
    """Run a command and time it, watching its own peak RSS.

    Not wait4's ru_maxrss: on Linux a child inherits the high-water mark of the process that forked it, so
    it would report this benchmark's own memory (the generated site, the mirror) whenever that is larger.
    """
    out_path, err_path = cwd / f"{name}.stdout", cwd / f"{name}.stderr"
    peak, done = [0], threading.Event()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        # Popen returns once the child has exec'd, so the watcher never sees this process's memory.
        child = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        watcher = threading.Thread(target=_watch_peak_rss, args=(child.pid, done, peak), daemon=True)
        watcher.start()
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        try:
            child.wait()
            seconds = time.perf_counter() - start
        finally:
            timer.cancel()
            done.set()
            watcher.join()
            if child.returncode is None:  # interrupted while waiting: do not leave the crawl running
                child.kill()
                child.wait()
    return _Run(
        seconds,
        peak[0],
        child.returncode,
        out_path.read_text("utf-8", errors="replace"),
        err_path.read_text("utf-8", errors="replace"),
    )


def _sizes(archive: Path) -> tuple[int, int]:
    warc = sum(p.stat().st_size for p in (archive / "warc").glob("*.warc.gz"))
    db = sum(p.stat().st_size for p in archive.glob("zwcrawl.db*"))  # the WAL and its index included
    return warc, db


def _query(archive: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(f"file:{archive / 'zwcrawl.db'}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def _last_crawl_stats(archive: Path) -> dict:
    rows = _query(archive, "select stats from crawls order by id desc limit 1")
    return json.loads(rows[0][0] or "{}") if rows else {}


def _article_counts(archive: Path) -> dict[str, int]:
    return dict(_query(archive, "select edition, count(*) from articles group by edition"))


def add_child_options(parser: argparse.ArgumentParser, settings_help: str) -> None:
    """The options of every benchmark that runs crawls: --timeout and -s NAME=VALUE (into args.settings)."""
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a child is killed")
    parser.add_argument(
        "-s", dest="settings", action="append", default=[], metavar="NAME=VALUE", help=settings_help
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles-en", type=int, default=2000)
    parser.add_argument("--articles-ar", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="a small smoke run: 134 + 66 articles")
    parser.add_argument("--dir", type=Path, help="make the temporary directory here (to measure a disk)")
    parser.add_argument("--keep", action="store_true", help="keep the site copy and the archive afterwards")
    add_child_options(parser, "a Scrapy setting for both crawls, e.g. -s ZW_WARC_FSYNC=false")
    parser.add_argument(
        "--validators", action="store_true", help="the copy sends validators: refreshes with and without them"
    )
    args = parser.parse_args()
    if args.quick:
        args.articles_en, args.articles_ar = 134, 66
    counts = {name: n for name, n in (("en", args.articles_en), ("ar", args.articles_ar)) if n > 0}
    if not counts:
        parser.error("nothing to generate: give --articles-en or --articles-ar above 0")

    tmp = tempfile.mkdtemp(prefix="bench_crawl-", dir=args.dir)
    try:
        return _bench(Path(tmp), counts, args.timeout, args.settings, args.validators)
    finally:
        if args.keep:
            print(f"kept: {tmp} (site/, archive/, *.stdout, *.stderr)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


_COLUMNS = (
    ("step", "<16"), ("pages", ">7"), ("articles", ">8"), ("seconds", ">8"), ("pages/s", ">8"),
    ("peak RSS MB", ">11"), ("WARC bytes", ">12"), ("DB bytes", ">11"),
)  # fmt: skip


def _bench(work: Path, counts: dict[str, int], timeout: float, settings: list[str], validators: bool) -> int:
    start = time.perf_counter()
    site = generate_site(work / "site", counts)
    generated = time.perf_counter() - start
    editions = ", ".join(f"{n} {e}" for e, n in counts.items())
    print(
        f"site: {editions} articles, {site.listing_pages} listing pages, {site.size / 1e6:.1f} MB, "
        f"generated in {generated:.1f} s"
    )
    problems = check_site(site)
    if problems:
        print("the generated site does not read back as generated:", *problems, sep="\n  ")
        return 1
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")

    archive = work / "archive"
    mirror = MirrorServer(
        work / "site",
        editions=list(counts),
        ports=dict.fromkeys(counts, 0),
        log_path=None,
        validators=validators,
    )
    mirror.start()
    zwcrawl = [sys.executable, "-m", "zwcrawl"]
    crawl = [*zwcrawl, "crawl", "--archive", str(archive)]
    crawl += [arg for spec in mirror.site_args() for arg in ("--site", spec)]
    crawl += [arg for name in counts for arg in ("--edition", name)]
    crawl += [arg for setting in settings for arg in ("-s", setting)]
    refreshes = [("crawl --refresh", [*crawl, "--refresh"])]
    if validators:
        full = ("refresh-full", [*crawl, "--refresh", "-s", "ZW_CONDITIONAL=False"])
        refreshes = [refreshes[0], full, ("refresh-again", refreshes[0][1])]
    steps = [("crawl", crawl), *refreshes, ("verify", [*zwcrawl, "verify", "--archive", str(archive)])]
    rows, failures = [], []
    try:
        for label, command in steps:
            served = len(mirror.requests)
            run = run_child(command, work, label.replace(" --", "-"), timeout)
            print(f"$ {' '.join(command)}")
            print("  " + "\n  ".join(run.stdout.strip().splitlines()[-3:]))
            if run.returncode != 0:
                failures.append(f"{label}: exit {run.returncode}; stderr: {run.stderr.strip()[-500:]}")
            if label != "verify":
                answers = mirror.requests[served:]
                sent, not_modified = sum(r.bytes_sent for r in answers), sum(r.status == 304 for r in answers)
                print(
                    f"  mirror served {len(answers)} requests, {sent:,} body bytes ({not_modified} were 304)"
                )
            pages, articles = _figures(label, archive, counts, failures)
            rows.append((label, pages, articles, run.seconds, run.peak_rss_kb, *_sizes(archive)))
    finally:
        mirror.stop()
    forbidden = {r.path for r in mirror.requests if _kind(r.edition, r.path) not in FETCHABLE_KINDS}
    if forbidden:
        failures.append(
            f"requested {len(forbidden)} URL(s) a crawler must never fetch: {sorted(forbidden)[:3]}"
        )

    print()
    print(*(f"{name:{align}}" for name, align in _COLUMNS))
    for label, pages, articles, seconds, rss_kb, warc_bytes, db_bytes in rows:
        figures = (label, pages, articles, f"{seconds:.1f}", f"{pages / seconds:.1f}", f"{rss_kb / 1024:.1f}")
        figures += (f"{warc_bytes:,}", f"{db_bytes:,}")
        print(*(f"{figure:{align}}" for figure, (_name, align) in zip(figures, _COLUMNS, strict=True)))
    if failures:
        print("\nFAILED:", *failures, sep="\n  ")
        return 1
    print(f"\nOK: the archive holds all {sum(counts.values())} generated articles, verify passed")
    return 0


def _kind(edition: str, path: str) -> str:
    return classify_path(edition, path.split("?", 1)[0]).kind


def _figures(label: str, archive: Path, counts: dict[str, int], failures: list[str]) -> tuple[int, int]:
    """Pages and articles of a step, from the archive; what falls short of the generated site is a failure."""
    held = _article_counts(archive)
    if label == "verify":
        pages = _query(archive, "select count(*) from captures where record_type in ('response', 'revisit')")
        return pages[0][0], sum(held.values())
    stats = _last_crawl_stats(archive)
    print(f"  crawl stats: {json.dumps(stats)}")
    articles = sum(stats.get(f"articles/{k}", 0) for k in ("new", "updated", "unchanged"))
    if stats.get("failures") or stats.get("missing"):
        failures.append(
            f"{label}: {stats.get('failures', 0)} failed fetches, {stats.get('missing', 0)} missing"
        )
    if articles != sum(counts.values()):
        failures.append(f"{label}: fetched {articles} articles, generated {sum(counts.values())}")
    if held != counts:
        failures.append(f"{label}: the archive holds {held} articles, generated {counts}")
    return stats.get("pages", 0), articles


if __name__ == "__main__":
    sys.exit(main())
