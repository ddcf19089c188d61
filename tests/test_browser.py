"""What a person sees in a real browser (headless Chromium from Debian, driven by Playwright)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import serving

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium: apt-get install chromium (.ci/run installs it)"
)
EXPECTED = Path(__file__).resolve().parent / "fixtures" / "zwsite" / "expected"
ARTICLES = [
    d
    for d in (json.loads(p.read_text("utf-8")) for p in sorted(EXPECTED.glob("*/*.json")))
    if d.get("is_article")
]


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served(small_archive):
    """`zwcrawl serve --port 0` on the small archive; its URL."""
    with serving(small_archive) as (_, url):
        yield url


def test_datasette_articles_search_and_a_canned_query(browser, served, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    hosts = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    page.goto(f"{served}/articles")
    # The table a person lands on: every article, described, with facets to narrow it down.
    assert page.locator("h1").inner_text().strip() == "Articles"
    assert "one row per article, kept current by later captures" in page.locator("body").inner_text()
    assert page.locator("table.rows-and-columns tbody tr").count() == len(ARTICLES)
    facets = {f.split("\n")[0].rsplit(" ", 1)[0] for f in page.locator(".facet-info").all_inner_texts()}
    assert facets == {"edition", "section", "source", "authors (author)", "published (month)"}
    # Each row shows its capture (WARC file @ offset) and links to its versions and observations.
    first = page.locator("table.rows-and-columns tbody tr").first
    assert ".warc.gz @ " in first.locator("td.col-capture_id").inner_text()
    assert first.get_by_role("link", name="versions").count() == 1
    first.get_by_role("link", name="observations").click()
    assert page.locator("h1").inner_text().strip() == "Observations"
    assert page.locator("table.rows-and-columns tbody tr").count() == 3

    # An Arabic search typed the way people type: no shadda, no article, as the page does not print it.
    page.goto(f"{served}/articles")
    page.fill("#_search", "تصعد حجر")
    page.locator("#_search").press("Enter")
    page.wait_for_url("**_search=*")
    rows = page.locator("table.rows-and-columns tbody tr")
    assert rows.count() == 1
    assert "قوات النظام تصعّد قصفها على مخيم اليرموك والحجر الأسود" in rows.first.inner_text()
    page.screenshot(path=tmp_path / "search.png", full_page=True)

    # A canned query with its form: the counters of one article over time.
    page.goto(f"{served}")
    page.get_by_role("link", name="One article's counters over time").click()
    page.fill("input[name=edition]", "en")
    page.fill("input[name=article_id]", "34489")
    page.get_by_role("button", name="Run SQL").click()
    page.wait_for_url("**article_id=34489*")
    likes = page.locator("table.rows-and-columns tbody td.col-likes").all_inner_texts()
    assert [text.strip() for text in likes] == ["55", "58", "64"]
    page.screenshot(path=tmp_path / "canned-query.png", full_page=True)
    print(f"Datasette screenshots: {tmp_path / 'search.png'}, {tmp_path / 'canned-query.png'}")
    assert hosts == {served.split("/")[2]}  # nothing asked of any other host
    page.close()


def test_the_report_reads_well_and_keeps_arabic_right_to_left(browser, small_archive, tmp_path):
    output = tmp_path / "report.html"
    run = subprocess.run(
        [sys.executable, "-m", "zwcrawl", "report", "--archive", small_archive, "--output", output],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(output.as_uri())
    assert requests == [output.as_uri()]  # the file itself, and nothing else
    assert page.locator("h1").inner_text() == "Zaman al-Wasl archive"
    assert [h.strip() for h in page.locator("h2").all_inner_texts()] == [
        "Crawl history",
        "Articles per month",
        "Most-cited sources and authors",
        "Likes and dislikes over time",
        "Archive size and health",
    ]
    # Every chart is drawn with a real size, and nothing runs off the side of the page.
    charts = page.locator("svg.chart")
    assert charts.count() == 6
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 300 and box["height"] > 100
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    direction = "el => getComputedStyle(el).direction"
    assert page.get_by_text("قوات النظام تصعّد", exact=False).first.evaluate(direction) == "rtl"
    assert page.get_by_text("Regime forces begin", exact=False).first.evaluate(direction) == "ltr"
    assert page.get_by_text("زمان الوصل", exact=True).evaluate(direction) == "rtl"
    screenshot = tmp_path / "report.png"
    page.screenshot(path=screenshot, full_page=True)
    print(f"report screenshot: {screenshot}")
    page.close()
