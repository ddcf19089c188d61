"""zwcrawl report: one self-contained, repeatable HTML file with SVG charts, from a crawled archive."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from zwcrawl.report import write_report


def report(archive: Path, output: Path) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "zwcrawl", "report", "--archive", archive, "--output", output],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"wrote {output}\n" and run.stderr == ""
    return output.read_text("utf-8")


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside elements that carry dir."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def page(small_archive, tmp_path_factory) -> str:
    return report(small_archive, tmp_path_factory.mktemp("report") / "report.html")


def test_the_same_archive_gives_the_same_file_byte_for_byte(small_archive, page, tmp_path):
    assert report(small_archive, tmp_path / "again.html") == page
    # Wherever the archive lies: nothing in the page comes from its path or from the clock.
    moved = tmp_path / "elsewhere"
    shutil.copytree(small_archive, moved)
    assert report(moved, tmp_path / "moved.html") == page
    assert str(small_archive) not in page


def test_it_needs_nothing_from_any_other_host(page):
    parser = _Tags()
    parser.feed(page)
    assert not [tag for tag, _ in parser.tags if tag in ("script", "iframe", "object", "embed", "img")]
    links = [a.get(name) for _, a in parser.tags for name in ("src", "href") if a.get(name)]
    assert links == ["data:,"]  # the favicon, inline, so a browser does not ask for /favicon.ico
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # a browser refuses any request the page might still make


def test_it_shows_the_crawls_articles_sources_authors_counters_and_health(page):
    for section in ("crawls", "months", "sources", "counters", "health"):
        assert f'<section id="{section}">' in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ') >= 2 + 4 + 1
    # Crawl 1 of the faulty copy: 20 new articles, a redirect loop that stayed failed.
    assert re.search(r"<td class=n>1</td>.*?<td class=n>20</td><td class=n>1</td></tr>", page)
    assert "redirect loop" in page and "en/34399 (not found), en/34491 (soft 404)" in page
    assert "<title>2018-04, en: 11</title>" in page  # a column's tooltip
    assert '<td dir="auto">Zaman Al Wasl</td><td class=n>10</td>' in page
    # The counters of 34489 (55, 58, 64 likes) and of 87640 (120, 131, 150) are drawn.
    assert "en/34489: 64 likes, 61 dislikes at the latest of 3 fetches" in page
    assert "ar/87640: 150 likes, 14 dislikes" in page
    assert "last verify" in page and "zwcrawl verify" in page


def test_arabic_text_keeps_its_direction(page):
    # Headlines and names carry dir="auto": a browser sets Arabic right to left, English left to right.
    assert '<h3 dir="auto">قوات النظام تصعّد قصفها على مخيم اليرموك والحجر الأسود</h3>' in page
    assert '<td dir="auto">زمان الوصل</td>' in page


def test_written_through_a_temporary_file_renamed_into_place(small_archive, tmp_path):
    output = tmp_path / "report.html"
    output.write_text("the previous report")
    write_report(small_archive, output)
    assert output.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left
    assert oct(output.stat().st_mode & 0o777) == "0o644"


def test_an_empty_archive_gets_a_report_too(tmp_path):
    from zwcrawl.store import Store

    (tmp_path / "archive").mkdir()
    Store(tmp_path / "archive" / "zwcrawl.db").close()
    text = report(tmp_path / "archive", tmp_path / "report.html")
    assert "No crawl yet." in text and "The archive holds no capture yet." in text
