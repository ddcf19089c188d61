"""Benchmark article extraction: CPU time per page, and pages per second beside trafilatura's on the same pages.

    .venv/bin/python benchmarks/bench_extract.py [--repeat 50] [--live-kb 60-120] [--rounds 5]
    .venv/bin/pip install -e '.[bench]'     # trafilatura, for the comparison (skipped without it)

First the saved pages as they are: the mirror's article pages and the hand-made variants under
tests/fixtures/pages (soft 404s, legacy layout, windows-1256, truncated, binary ...), each extracted from
bytes as the spider does (milliseconds per page: mean, p50, p95).

Saved pages are small (5 to 20 KB); a live article page is 60 to 120 KB with its page chrome. So every saved
article is then grown to a size drawn from --live-kb with what a live page carries around the article: inline
style and scripts in <head>, a menu of sections with sub-menus and a news ticker above the article, sidebar
boxes (most read, latest, opinion) of linked headlines with thumbnails and dates, a related-articles strip,
a footer of section links, and trailing scripts. The chrome is the edition's language, encoded as the page
is, and leaves the extraction as it was (checked: a page whose fields change is counted and named).

On those pages, `extract_article(html, url)` and trafilatura's `bare_extraction(html, url=url,
with_metadata=True)` run interleaved, a round of each in turn, the order swapping every round, so both see
the same machine load; each side's figure is pages per CPU second of this process (time.process_time), and
the ratio is taken over the same rounds. The load average is printed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from zwcrawl.extract import extract_article
from zwcrawl.extract.decode import _codec, declared_charset

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
HOSTS = {"en": "en.zamanalwsl.net", "ar": "www.zamanalwsl.net"}
Page = tuple[str, bytes, str]  # name, html, url

_WORDS = {
    "en": ["regime", "forces", "opposition", "refugees", "Damascus", "Aleppo", "Idlib", "Daraa", "Syrian", "council", "talks", "ceasefire", "camp", "activists", "shelling", "border", "Lebanon", "Turkey", "Jordan", "report", "human", "rights", "monitor", "families", "return", "aid", "convoy", "government", "sanctions", "election", "court", "detainees", "investigation"],
    "ar": ["قوات", "النظام", "المعارضة", "اللاجئين", "دمشق", "حلب", "إدلب", "درعا", "السوري", "مجلس", "مفاوضات", "هدنة", "مخيم", "ناشطون", "قصف", "الحدود", "لبنان", "تركيا", "الأردن", "تقرير", "حقوق", "الإنسان", "المرصد", "العائلات", "عودة", "مساعدات", "قافلة", "الحكومة", "عقوبات", "انتخابات", "محكمة", "المعتقلين", "تحقيق"],
}


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
    """The page furniture of a live article page, in one edition's language, generated to a size."""

    def __init__(self, edition: str, rng: random.Random):
        self.edition, self.rng = edition, rng

    def headline(self) -> str:
        return " ".join(self.rng.choices(_WORDS[self.edition], k=self.rng.randint(6, 13)))

    def item(self, n: int, thumb: bool = True) -> str:
        """One linked headline in a box: thumbnail, title, date."""
        article_id = self.rng.randrange(10000, 90000)
        image = (
            f'<div class="thumb"><a href="/news/article/{article_id}"><img src="/CustomImage/get/120/80/'
            f'{self.rng.getrandbits(96):024x}.jpg" alt="" width="120" height="80"></a></div>'
            if thumb
            else ""
        )
        return (
            f'<li class="box-item item-{n}">{image}<div class="box-item-text"><a class="box-item-title"'
            f' href="/news/article/{article_id}" title="{self.headline()}">{self.headline()}</a>'
            f'<span class="box-item-date">{self.rng.randint(1, 28):02d}/0{self.rng.randint(1, 9)}/2018</span>'
            "</div></li>"
        )

    def box(self, name: str, items: int, thumbs: bool = True) -> str:
        body = "".join(self.item(n, thumbs) for n in range(items))
        return f'<div class="box {name}"><div class="box-title"><span>{self.headline()[:20]}</span></div><ul>{body}</ul></div>'

    def menu(self, sections: int) -> str:
        entries = []
        for n in range(sections):
            subs = "".join(
                f'<li><a href="/news/articles/{200 + 10 * n + k}/1">{self.headline()[:18]}</a></li>'
                for k in range(self.rng.randint(0, 5))
            )
            sub = f'<ul class="sub-menu">{subs}</ul>' if subs else ""
            entries.append(
                f'<li class="menu-item"><a href="/news/articles/{100 + n}/1">{self.headline()[:16]}</a>{sub}</li>'
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
            rule = f".c{len(rules)} .box-item-{len(rules) % 7} a{{color:#{self.rng.getrandbits(24):06x};margin:0 {len(rules) % 9}px}}\n"
            rules.append(rule)
            size += len(rule)
        return "<style>\n" + "".join(rules) + "</style>"

    def footer(self, links: int) -> str:
        entries = "".join(
            f'<li><a href="/news/articles/{100 + n}/1">{self.headline()[:16]}</a></li>' for n in range(links)
        )
        return f'<div class="site-footer"><ul class="footer-links">{entries}</ul><div class="copy">&copy; 2018</div></div>'


def _live_page(html: bytes, edition: str, kb: int, rng: random.Random) -> bytes:
    """A saved page grown to about `kb` KB with a live page's chrome around the article (see the module)."""
    lower = html.lower()
    head_end, body_start, body_end = lower.find(b"</head>"), lower.find(b"<body"), lower.rfind(b"</body>")
    if min(head_end, body_start, body_end) < 0:
        return html
    body_open = lower.find(b">", body_start) + 1
    try:  # Encoded as the page is read (see decode_html): UTF-8 whatever the label, else the declared charset.
        html.decode("utf-8")
        codec = "utf-8"
    except UnicodeDecodeError:
        codec = _codec(declared_charset(html)) or "utf-8"
    chrome = _Chrome(edition, rng)
    # Shares of a live page: about a third style and scripts, the rest furniture of links and thumbnails.
    spare = max(0, kb * 1024 - len(html))
    head = chrome.style(spare * 0.12 / 1024) + chrome.script(spare * 0.1 / 1024)
    top = chrome.menu(14) + chrome.ticker(12)
    side = "".join(chrome.box(name, 12) for name in ("most-read-box", "latest-box", "opinion-box"))
    bottom = chrome.box("related-box", 8) + chrome.footer(30) + chrome.script(spare * 0.08 / 1024)
    grown = len(html) + sum(
        len(part.encode(codec, "xmlcharrefreplace")) for part in (head, top, side, bottom)
    )
    while grown < kb * 1024:  # More boxes until the page is its size.
        box = chrome.box("more-box", 10)
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
    times = []
    for _ in range(repeat):
        for _name, html, url in pages:
            start = time.perf_counter()
            extract_article(html, url)
            times.append((time.perf_counter() - start) * 1000)
    return times


def _report(label: str, pages: list[Page], times: list[float]) -> None:
    cuts = statistics.quantiles(times, n=20)
    size = statistics.mean(len(html) for _, html, _ in pages) / 1024
    print(
        f"{label:<22} {len(pages):>3} pages, {size:6.1f} KB avg, {len(times):>6} runs:  mean"
        f" {statistics.mean(times):6.2f} ms  p50 {statistics.median(times):6.2f} ms  p95 {cuts[18]:6.2f} ms"
    )


def _cpu_seconds(run: Callable[[bytes, str], object], pages: list[Page]) -> float:
    start = time.process_time()
    for _name, html, url in pages:
        run(html, url)
    return time.process_time() - start


def _versus_trafilatura(pages: list[Page], rounds: int) -> None:
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
    for run in sides.values():
        _cpu_seconds(run, pages)  # warm up both
    cpu = dict.fromkeys(sides, 0.0)
    for n in range(rounds):
        for name in list(sides)[:: 1 if n % 2 == 0 else -1]:
            cpu[name] += _cpu_seconds(sides[name], pages)
    count = len(pages) * rounds
    ours, theirs = count / cpu["extract_article"], count / cpu["trafilatura"]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{len(pages)} live-size article pages x {rounds} rounds, interleaved; load average {load}")
    for name in sides:
        ms = cpu[name] / count * 1000
        print(f"  {name:<16} {ms:7.2f} ms CPU per page  {count / cpu[name]:8.1f} pages per CPU second")
    print(f"  ratio            {ours / theirs:7.1f} x trafilatura's pages per second")


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
    _versus_trafilatura(live, args.rounds)


if __name__ == "__main__":
    main()
