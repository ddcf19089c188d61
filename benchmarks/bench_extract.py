"""Benchmark article extraction: CPU per page, and pages per second beside trafilatura's on the same pages.

    .venv/bin/pip install -e '.[bench]'     # trafilatura, for the comparison (skipped without it)
    .venv/bin/python benchmarks/bench_extract.py [--repeat 50] [--live-kb 60-120] [--rounds 5]

First the saved pages as they are: the mirror's article pages and the hand-made variants under
tests/fixtures/pages (soft 404s, legacy layout, windows-1256, truncated, binary ...), each extracted from
bytes as the spider does (CPU milliseconds per page: mean, p50, p95).

Saved pages are small (5 to 20 KB); a live article page is 60 to 120 KB with its page chrome. So every saved
article is then grown to a size drawn from --live-kb with what a live page carries around the article: inline
style and scripts, a menu of sections with sub-menus and a news ticker above the article, sidebar boxes
(most read, latest, opinion, more) of linked headlines with lazy-loaded thumbnails, icons and dates, a
related-articles strip, a footer of section links. Like a live page's, the chrome is mostly markup, in the
edition's language and encoded as the page is. A grown page whose fields differ from the saved page's is
named (the pages read by landmarks alone can take a big sidebar's text for the article's).

On the grown pages, `extract_article(html, url)` and trafilatura's `bare_extraction(html, url=url,
with_metadata=True)` run interleaved, a round of each in turn, the order swapping every round, so both see
the same machine load; each side's figure is CPU time of this process (time.process_time) per page, and the
ratio is taken over the same rounds. Pages in the site's own layouts (the current one and the legacy tables)
are reported apart from the redesigns and unmarked pages the fixtures model. The load average is printed.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from zwcrawl.extract import ArticlePage, extract_article
from zwcrawl.extract.decode import declared_charset, decode_html

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
HOSTS = {"en": "en.zamanalwsl.net", "ar": "www.zamanalwsl.net"}
Page = tuple[str, bytes, str]  # name, html, url

_WORDS = {
    "en": (
        "regime forces opposition refugees Damascus Aleppo Idlib Daraa Syrian council talks ceasefire camp"
        " activists shelling border Lebanon Turkey Jordan report human rights monitor families return aid"
        " convoy government sanctions election court detainees investigation"
    ),
    "ar": (
        "قوات النظام المعارضة اللاجئين دمشق حلب إدلب درعا السوري مجلس مفاوضات هدنة مخيم ناشطون قصف الحدود"
        " لبنان تركيا الأردن تقرير حقوق الإنسان المرصد العائلات عودة مساعدات قافلة الحكومة عقوبات انتخابات"
        " محكمة المعتقلين تحقيق"
    ),
}
# The clock icon a live page repeats beside every date (inline SVG: markup, no text).
_CLOCK_ICON = (
    '<svg class="icon icon-clock" viewBox="0 0 24 24" width="12" height="12" aria-hidden="true">'
    '<path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm.5-13H11v6l5.2'
    ' 3.2.8-1.2-4.5-2.7z"/></svg>'
)


def _pages() -> list[Page]:
    """(name, html, url) of every saved page with an expected extraction."""
    pages = []
    for expected in sorted((FIXTURES / "zwsite" / "expected").glob("*/*.json")):
        url = json.loads(expected.read_text("utf-8"))["url"]
        html = FIXTURES / "zwsite" / HOSTS[expected.parent.name] / "news/article" / f"{expected.stem}.html"
        pages.append((f"{expected.parent.name}/{expected.stem}", html.read_bytes(), url))
    for expected in sorted((FIXTURES / "pages").glob("*.json")):
        url = json.loads(expected.read_text("utf-8"))["url"]
        pages.append((expected.stem, expected.with_suffix(".html").read_bytes(), url))
    return pages


class _Chrome:
    """The page furniture of a live article page, in one edition's language, generated to a size.

    Like a live page's, mostly markup: a linked headline in a box carries a lazy-loaded thumbnail with its
    srcset, data attributes, an icon and a date, some 700 bytes around 50 characters of text.
    """

    def __init__(self, edition: str, rng: random.Random):
        self.words, self.rng = _WORDS[edition].split(), rng

    def headline(self, low: int = 5, high: int = 9) -> str:
        return " ".join(self.rng.choices(self.words, k=self.rng.randint(low, high)))

    def item(self, n: int, thumb: bool = True) -> str:
        """One linked headline in a box: thumbnail, title, date."""
        article_id, image = self.rng.randrange(10000, 90000), f"{self.rng.getrandbits(96):024x}.jpg"
        title = self.headline()
        picture = (
            f'<div class="box-item-thumb"><a class="thumb-link" href="/news/article/{article_id}"'
            f' title="{title}" data-track="sidebar-{n}"><img class="lazy thumb-img" src="/images/blank.gif"'
            f' data-src="/CustomImage/get/120/80/{image}" srcset="/CustomImage/get/120/80/{image} 1x,'
            f' /CustomImage/get/240/160/{image} 2x" alt="{title}" width="120" height="80"'
            ' loading="lazy"></a></div>'
            if thumb
            else ""
        )
        return (
            f'<li class="box-item box-item-{n % 2 and "odd" or "even"}" data-id="{article_id}">{picture}'
            '<div class="box-item-text"><a class="box-item-title"'
            f' href="/news/article/{article_id}">{title}</a>'
            f'<span class="box-item-date">{_CLOCK_ICON}<time datetime="2018-0{self.rng.randint(1, 9)}-'
            f'{self.rng.randint(10, 28)}">{self.rng.randint(10, 28)}/0{self.rng.randint(1, 9)}/2018</time>'
            "</span></div></li>"
        )

    def box(self, name: str, items: int, thumbs: bool = True) -> str:
        body = "".join(self.item(n, thumbs) for n in range(items))
        return (
            f'<div class="box {name}"><div class="box-head"><span'
            f' class="box-label">{self.headline(1, 2)}</span>'
            f'</div><ul class="box-list">{body}</ul></div>'
        )

    def menu(self, sections: int) -> str:
        entries = []
        for n in range(sections):
            subs = "".join(
                '<li class="sub-menu-item"><a'
                f' href="/news/articles/{200 + 10 * n + k}/1">{self.headline(1, 2)}</a></li>'
                for k in range(self.rng.randint(0, 5))
            )
            sub = f'<ul class="sub-menu">{subs}</ul>' if subs else ""
            entries.append(
                f'<li class="menu-item menu-item-{n}"><a class="menu-link" href="/news/articles/{100 + n}/1">'
                f"{self.headline(1, 2)}</a>{sub}</li>"
            )
        return f'<div class="main-nav"><ul class="nav-menu">{"".join(entries)}</ul></div>'

    def ticker(self, items: int) -> str:
        return f'<div class="news-ticker"><ul>{"".join(self.item(n, False) for n in range(items))}</ul></div>'

    def script(self, kb: float) -> str:
        lines, size = [], 0
        while size < kb * 1024:
            line = (
                f"  window.adSlots.push({{id: 'div-gpt-ad-{self.rng.getrandbits(40)}-{len(lines)}',"
                f" sizes: [[300, 250], [728, 90]], targeting: {{section: '{self.rng.randrange(200)}'}}}});\n"
            )
            lines.append(line)
            size += len(line)
        return "<script>\nwindow.adSlots = window.adSlots || [];\n" + "".join(lines) + "</script>"

    def style(self, kb: float) -> str:
        rules, size = [], 0
        while size < kb * 1024:
            n = len(rules)
            rule = f".c{n} .box-item-{n % 7} a{{color:#{self.rng.getrandbits(24):06x};margin:0 {n % 9}px}}\n"
            rules.append(rule)
            size += len(rule)
        return "<style>\n" + "".join(rules) + "</style>"

    def footer(self, links: int) -> str:
        entries = "".join(
            f'<li><a href="/news/articles/{100 + n}/1">{self.headline(1, 2)}</a></li>' for n in range(links)
        )
        return (
            f'<div class="site-footer"><ul class="footer-links">{entries}</ul>'
            '<div class="copy">&copy; 2018</div></div>'
        )


def _live_page(html: bytes, edition: str, kb: int, rng: random.Random) -> bytes:
    """A saved page grown to about `kb` KB with a live page's chrome around the article (see the module)."""
    lower = html.lower()
    head_end, body_start, body_end = lower.find(b"</head>"), lower.find(b"<body"), lower.rfind(b"</body>")
    if min(head_end, body_start, body_end) < 0:
        return html
    body_open = lower.find(b">", body_start) + 1
    # The chrome is encoded as the page is read (see decode_html): UTF-8, stray bytes and all, or its charset.
    text = decode_html(html)
    codec = "utf-8"
    if html.decode("utf-8", "replace") != text:
        codec = codecs.lookup(declared_charset(html) or "utf-8").name
    chrome = _Chrome(edition, rng)
    # Shares of a live page: about a third style and scripts, the rest furniture of links and thumbnails.
    spare = max(0, kb * 1024 - len(html))
    head = chrome.style(spare * 0.1 / 1024) + chrome.script(spare * 0.15 / 1024)
    top = chrome.menu(14) + chrome.ticker(10)
    side = "".join(chrome.box(name, 10) for name in ("most-read-box", "latest-box", "opinion-box"))
    bottom = chrome.box("related-box", 6) + chrome.footer(30) + chrome.script(spare * 0.1 / 1024)
    grown = len(html) + sum(
        len(part.encode(codec, "xmlcharrefreplace")) for part in (head, top, side, bottom)
    )
    while grown < kb * 1024:  # More boxes until the page is its size.
        box = chrome.box("more-box", 8)
        side += box
        grown += len(box.encode(codec, "xmlcharrefreplace"))
    side = f'<div class="sidebar">{side}</div>'

    def enc(text: str) -> bytes:
        return text.encode(codec, "xmlcharrefreplace")

    return b"".join(
        [
            html[:head_end], enc(head), html[head_end:body_open], enc(top),
            html[body_open:body_end], enc(side + bottom), html[body_end:],
        ]
    )  # fmt: skip


def _run(pages: list[Page], repeat: int) -> list[float]:
    """CPU milliseconds of each extraction (time.process_time: what other processes take is not counted)."""
    times = []
    for _ in range(repeat):
        for _name, html, url in pages:
            start = time.process_time()
            extract_article(html, url)
            times.append((time.process_time() - start) * 1000)
    return times


def _report(label: str, pages: list[Page], times: list[float]) -> None:
    cuts = statistics.quantiles(times, n=20)
    size = statistics.mean(len(html) for _, html, _ in pages) / 1024
    print(
        f"{label:<22} {len(pages):>3} pages, {size:6.1f} KB avg, {len(times):>6} runs:  mean"
        f" {statistics.mean(times):6.2f} ms  p50 {statistics.median(times):6.2f} ms  p95 {cuts[18]:6.2f} ms"
    )


def _versus_trafilatura(groups: dict[str, list[Page]], rounds: int) -> None:
    """extract_article and trafilatura's bare_extraction, interleaved round by round, in CPU time."""
    try:
        from trafilatura import bare_extraction
    except ImportError:
        print("trafilatura is not installed: pip install -e '.[bench]' for the comparison")
        return
    import logging

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # Its warnings about odd pages, not ours.

    def trafilatura(html: bytes, url: str) -> object:
        return bare_extraction(html, url=url, with_metadata=True)

    sides: dict[str, Callable[[bytes, str], object]] = {
        "extract_article": extract_article,
        "trafilatura": trafilatura,
    }
    pages = [(group, page) for group, members in groups.items() for page in members]
    cpu = {(side, group): 0.0 for side in sides for group in groups}
    for n in range(rounds + 1):  # Round 0 warms both up and is not counted.
        for side in list(sides)[:: 1 if n % 2 == 0 else -1]:
            run = sides[side]
            for group, (_name, html, url) in pages:
                start = time.process_time()
                run(html, url)
                if n:
                    cpu[side, group] += time.process_time() - start
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nlive-size article pages, {rounds} interleaved rounds; load average {load}")
    print(f"  {'pages':<36} {'extract_article':>24} {'trafilatura':>24} {'ratio':>7}")
    for group in [*groups, "all"]:
        count = rounds * (len(pages) if group == "all" else len(groups[group]))
        ours, theirs = (
            sum(v for (s, g), v in cpu.items() if s == side and group in (g, "all")) for side in sides
        )
        print(
            f"  {group:<36} {ours / count * 1000:6.2f} ms {count / ours:6.0f} pages/s"
            f" {theirs / count * 1000:6.1f} ms {count / theirs:6.1f} pages/s {theirs / ours:6.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="passes over the saved pages (default 50)")
    parser.add_argument(
        "--live-kb", default="60-120", help="size range of the grown pages, KB (default 60-120; 0: skip)"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds against trafilatura (default 5)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pages = _pages()
    _run(pages, 2)  # warm up: imports, lxml, regex compilation, zoneinfo
    _report("saved pages", pages, _run(pages, args.repeat))
    extracted = {name: extract_article(html, url) for name, html, url in pages}
    articles = [p for p in pages if extracted[p[0]]["is_article"]]
    _report("saved articles only", articles, _run(articles, args.repeat))
    low, _, high = args.live_kb.partition("-")
    if int(low) <= 0:
        return
    rng = random.Random(args.seed)
    live = [
        (
            name,
            _live_page(html, extracted[name]["edition"], rng.randint(int(low), int(high or low)), rng),
            url,
        )
        for name, html, url in articles
    ]
    changed = [name for name, html, url in live if extract_article(html, url) != extracted[name]]
    print(
        f"live-size pages: {len(live) - len(changed)} of {len(live)} extract as the saved page"
        + (f"; changed: {', '.join(changed)}" if changed else "")
    )
    _report(f"articles at {args.live_kb} KB", live, _run(live, max(1, args.repeat // 5)))
    # The site's own layouts (the current one and the legacy tables), and the redesigns and unmarked pages
    # the fixtures model, read by structured data and landmarks.
    site = {
        n for n, html, url in articles if ArticlePage(url, html).strategies["body"] in ("layout", "legacy")
    }
    _versus_trafilatura(
        {
            "site layouts (current, legacy)": [p for p in live if p[0] in site],
            "other layouts (redesigns, unmarked)": [p for p in live if p[0] not in site],
        },
        args.rounds,
    )


if __name__ == "__main__":
    main()
