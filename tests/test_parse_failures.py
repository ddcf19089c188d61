"""A page zwcrawl cannot read is a failure row with its capture, never silence: seeded real crawls."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import ZWSITE, site_flags, zwcrawl

TESTS = Path(__file__).resolve().parent
EN = "en.zamanalwsl.net"
ARTICLE = ZWSITE / EN / "news/article"


def rows(db: Path, sql: str, *params) -> list[dict]:
    """Query the archive read-only."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def seed(root: Path) -> Path:
    """An overlay on zwsite with pages that have broken zwcrawl's extraction (issue 14) or are no article."""
    article = root / EN / "news/article"
    article.mkdir(parents=True)
    html = (ARTICLE / "34486.html").read_text(encoding="utf-8")
    bad_image = '<div class="news-text"><img src="http://[photo]/x.jpg">'
    (article / "34486.html").write_text(html.replace('<div class="news-text">', bad_image), encoding="utf-8")
    # Whole, but neither an article nor the site's "not found" page: never recorded as missing.
    (article / "34492.html").write_text("<html><body><p>Back soon: maintenance.</p></body></html>")
    listing = root / EN / "news/articles/89"
    listing.mkdir(parents=True)
    page = (ZWSITE / EN / "news/articles/89/2.html").read_text(encoding="utf-8")
    (listing / "2.html").write_text(
        page.replace("</body>", '<a href="http://[x]/news/article/1">x</a></body>')
    )
    return root


def crawl(archive: Path, mirror, *settings: str) -> subprocess.CompletedProcess[str]:
    """A real `zwcrawl crawl` of the English copy, the test-only crawl_breakers importable."""
    flags = [arg for setting in settings for arg in ("-s", setting)]
    return subprocess.run(
        [sys.executable, "-m", "zwcrawl", "crawl", "--archive", str(archive), "--edition", "en",
         *site_flags(mirror), *flags],
        capture_output=True, text=True, timeout=240,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])},
    )  # fmt: skip


def test_pages_zwcrawl_cannot_read_are_failures_with_their_captures(mirror_factory, tmp_path):
    mirror = mirror_factory([seed(tmp_path / "seeded"), ZWSITE])
    archive = tmp_path / "archive"
    run = crawl(
        archive, mirror,
        'DOWNLOADER_MIDDLEWARES={"crawl_breakers.BreakCallbacks": 960,'
        ' "zwcrawl.middlewares.ScopeGuardMiddleware": 10,'
        ' "scrapy.downloadermiddlewares.retry.RetryMiddleware": null,'
        ' "zwcrawl.middlewares.BackoffRetryMiddleware": 550, "zwcrawl.middlewares.CaptureMiddleware": 950}',
        "TEST_BREAK_CALLBACK_PATHS=/news/article/34489,/news/articles/3/1",
        'ITEM_PIPELINES={"crawl_breakers.BreakStore": 100, "zwcrawl.pipelines.ArchivePipeline": 300}',
        "TEST_BREAK_STORE_PATHS=/news/article/34478",
    )  # fmt: skip
    db = archive / "zwcrawl.db"
    failures = {
        r["url"].split("/", 3)[3].rstrip("/"): r
        for r in rows(db, "select f.*, c.url as capture_url, c.record_type from failures f"
                          " left join captures c on c.id = f.capture_id")
    }  # fmt: skip
    parse_errors = {
        path: f["reason"] for path, f in failures.items() if f["reason"].startswith("parse error")
    }
    # The callback that raised, the store that raised, the page that is no article: each a row with a reason.
    assert parse_errors["news/article/34489"] == "parse error: KeyError"
    assert parse_errors["news/articles/3/1"] == "parse error: KeyError"
    assert parse_errors["news/article/34478"] == "parse error: OverflowError"
    assert parse_errors["news/article/34492"].startswith("parse error: not an article page")
    for path in parse_errors:
        # The response the code could not read is in the WARC, so `rebuild` can read it again once fixed.
        assert failures[path]["record_type"] == "response", path
        assert failures[path]["capture_url"] == failures[path]["url"], path
    articles = {r["article_id"] for r in rows(db, "select article_id from articles")}
    assert not {34489, 34478, 34492} & articles
    assert 34492 not in {r["article_id"] for r in rows(db, "select article_id from missing")}
    walked = {r["section_id"]: r["walked_to_end_at"] for r in rows(db, "select * from sections")}
    assert 3 not in walked  # its first listing page failed to parse: the section is not walked
    # Pages issue 14 found breaking extraction: archived if zwcrawl reads them, else a failure row.
    assert (34486 in articles) != ("news/article/34486" in parse_errors)
    if "news/articles/89/2" in parse_errors:
        assert walked.get(89) is None
    else:
        assert walked[89] is not None
    # Counted in the crawl's figures, told in the summary, and in the exit status.
    (stats,) = [json.loads(r["stats"]) for r in rows(db, "select stats from crawls")]
    assert stats["parse_errors"] == len(parse_errors) and stats["failures"] == len(failures)
    assert f"{len(parse_errors)} pages zwcrawl could not read" in run.stdout
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stderr == ""
    assert zwcrawl("verify", "--archive", archive).returncode == 0
