"""Benchmark article extraction: milliseconds per page (mean, p50, p95) over every saved article page.

    .venv/bin/python benchmarks/bench_extract.py [--repeat 50] [--pad-kb 0]

The pages are the mirror's article pages and the hand-made variants under tests/fixtures/pages (soft 404s,
legacy layout, windows-1256, truncated, binary ...), each extracted from bytes as the spider does. Saved
pages are small (about 5 KB); --pad-kb N also runs the articles padded to about N KB with sidebar links and a
script, the size of a live page with its menus and widgets, to show how the time grows with the DOM.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from zwcrawl.extract import extract_article

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
HOSTS = {"en": "en.zamanalwsl.net", "ar": "www.zamanalwsl.net"}


def _pages() -> list[tuple[str, bytes, str]]:
    """(name, html, url) of every article page with an expected extraction."""
    pages = []
    for expected in sorted((FIXTURES / "zwsite" / "expected").glob("*/*.json")):
        url = json.loads(expected.read_text("utf-8"))["url"]
        html = FIXTURES / "zwsite" / HOSTS[expected.parent.name] / "news/article" / f"{expected.stem}.html"
        pages.append((f"{expected.parent.name}/{expected.stem}", html.read_bytes(), url))
    for expected in sorted((FIXTURES / "pages").glob("*.json")):
        url = json.loads(expected.read_text("utf-8"))["url"]
        pages.append((expected.stem, expected.with_suffix(".html").read_bytes(), url))
    return pages


def _padded(html: bytes, kb: int) -> bytes:
    """A page grown to about `kb` KB with a sidebar of article links and an inline script before </body>."""
    if kb <= 0 or b"</body>" not in html:
        return html
    item = (
        b'<li><a href="/news/article/%d"><img src="/CustomImage/get/1/1/%024x.jpg" alt="">Title %d</a></li>'
    )
    links, n = [], 0
    while sum(map(len, links)) < kb * 1024 * 0.8:
        links.append(item % (n, n, n))
        n += 1
    script = b"<script>var config = {" + b"'k': 'v', " * (kb * 1024 // 50) + b"};</script>"
    sidebar = b'<div class="col-side"><div class="box"><ul>' + b"".join(links) + b"</ul></div></div>"
    return html.replace(b"</body>", sidebar + script + b"</body>", 1)


def _run(pages: list[tuple[str, bytes, str]], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        for _name, html, url in pages:
            start = time.perf_counter()
            extract_article(html, url)
            times.append((time.perf_counter() - start) * 1000)
    return times


def _report(label: str, pages: list[tuple[str, bytes, str]], times: list[float]) -> None:
    cuts = statistics.quantiles(times, n=20)
    size = statistics.mean(len(html) for _, html, _ in pages) / 1024
    print(
        f"{label:<22} {len(pages):>3} pages, {size:6.1f} KB avg, {len(times):>6} runs:  mean"
        f" {statistics.mean(times):6.2f} ms  p50 {statistics.median(times):6.2f} ms  p95 {cuts[18]:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="passes over all pages (default 50)")
    parser.add_argument("--pad-kb", type=int, default=60, help="also run pages padded to this size (0: skip)")
    args = parser.parse_args()
    pages = _pages()
    _run(pages, 2)  # warm up: imports, lxml, regex compilation, zoneinfo
    _report("saved pages", pages, _run(pages, args.repeat))
    articles = [p for p in pages if extract_article(p[1], p[2])["is_article"]]
    _report("saved articles only", articles, _run(articles, args.repeat))
    if args.pad_kb > 0:
        padded = [(name, _padded(html, args.pad_kb), url) for name, html, url in articles]
        _report(f"articles at ~{args.pad_kb} KB", padded, _run(padded, max(1, args.repeat // 5)))


if __name__ == "__main__":
    main()
