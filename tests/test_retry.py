"""Back-off and refusals: how long zwcrawl waits before a retry, and what stays failed."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from conftest import site_flags, zwcrawl
from scrapy.http import Request
from scrapy.utils.test import get_crawler

from zwcrawl.middlewares import BackoffRetryMiddleware
from zwcrawl.spiders.zaman import ZamanSpider


@pytest.fixture
def backoff() -> BackoffRetryMiddleware:
    crawler = get_crawler(ZamanSpider, {"ZW_BACKOFF_BASE": 2.0, "ZW_BACKOFF_MAX": 300.0})
    return BackoffRetryMiddleware(crawler)


def test_waits_double_with_each_attempt(backoff):
    waits = [backoff.delay(Request("http://x/", meta={"retry_times": n}), None) for n in range(5)]
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0]


def test_retry_after_in_seconds_is_honoured_and_capped(backoff):
    request = Request("http://x/")
    assert backoff.delay(request, b"7") == 7.0
    assert backoff.delay(request, b"100000") == 300.0


def test_retry_after_as_an_http_date(backoff):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True).encode()
    assert 25 <= backoff.delay(Request("http://x/"), when) <= 30


def test_a_garbled_retry_after_falls_back_to_back_off(backoff):
    assert backoff.delay(Request("http://x/"), b"soon, maybe") == 2.0


def _crawl(mirror, archive, *settings):
    overrides = [arg for setting in settings for arg in ("-s", setting)]
    return zwcrawl("crawl", "--archive", archive, "--edition", "en", *site_flags(mirror), *overrides)


def _db(archive, sql):
    with contextlib.closing(sqlite3.connect(archive / "zwcrawl.db")) as conn:
        return conn.execute(sql).fetchall()


def test_blocked_answers_are_retried_then_recorded_as_failures_not_missing(mirror_factory, tmp_path):
    mirror = mirror_factory(editions=["en"], faults={"en": {"/news/article/34489": {"status": 403}}})
    archive = tmp_path / "archive"
    run = _crawl(mirror, archive, "RETRY_TIMES=2", "ZW_BACKOFF_BASE=0.05")
    assert run.returncode == 0, run.stderr
    assert [r.path for r in mirror.requests].count("/news/article/34489") == 3
    assert _db(archive, "select reason, attempts, last_status from failures") == [("HTTP 403", 3, 403)]
    assert _db(archive, "select * from missing") == []
    assert _db(archive, "select count(*) from articles where article_id = 34489") == [(0,)]
    # A later crawl tries the blocked page again: it was never archived as "no article".
    mirror.faults = type(mirror.faults)({})
    again = _crawl(mirror, archive, "ZW_BACKOFF_BASE=0.05")
    assert again.returncode == 0
    assert _db(archive, "select count(*) from articles where article_id = 34489") == [(1,)]


def test_a_page_always_cut_short_is_a_failure_not_missing(mirror_factory, tmp_path):
    cut = {"truncate": 300, "content_length": False}  # no Content-Length: only the missing </html> tells
    mirror = mirror_factory(editions=["en"], faults={"en": {"/news/article/34489": cut}})
    archive = tmp_path / "archive"
    run = _crawl(mirror, archive)
    assert run.returncode == 0, run.stderr
    assert [r.path for r in mirror.requests].count("/news/article/34489") == 3  # fetched again twice
    assert _db(archive, "select reason, attempts, last_status from failures") == [
        ("page cut short: no </body> or </html>", 3, 200)
    ]
    assert _db(archive, "select article_id from missing") == []
    # Every cut answer is kept as it came: the first in full, the two identical ones as revisits.
    kept = "select record_type, count(*) from captures where url like '%/34489' group by 1 order by 1"
    assert _db(archive, kept) == [("response", 1), ("revisit", 2)]


def test_pages_over_the_size_limit_are_refused_and_recorded(mirror, tmp_path):
    archive = tmp_path / "archive"
    run = _crawl(mirror, archive, "DOWNLOAD_MAXSIZE=5000")
    assert run.returncode == 0, run.stderr
    failures = _db(archive, "select url, reason from failures")
    assert failures, "pages larger than 5000 bytes should be refused"
    assert all(
        "/news/article/" in url or "/news/articles/" in url or url.endswith("/") for url, _ in failures
    )
    sizes = _db(archive, "select max(warc_length) from captures where record_type = 'response'")
    assert sizes[0][0] is None or sizes[0][0] < 5000 + 2000


def test_a_robots_txt_server_error_means_disallow_everything(mirror_factory, tmp_path):
    mirror = mirror_factory(editions=["en"], faults={"en": {"/robots.txt": {"status": 503}}})
    archive = tmp_path / "archive"
    run = _crawl(mirror, archive, "RETRY_TIMES=1", "ZW_BACKOFF_BASE=0.05")
    assert run.returncode == 0, run.stderr
    assert {r.path for r in mirror.requests} == {"/robots.txt"}
    (reason,) = _db(archive, "select reason from failures")[0]
    assert "robots.txt answered HTTP 503" in reason


def test_an_unreachable_robots_txt_means_disallow_everything(mirror_factory, tmp_path):
    mirror = mirror_factory(editions=["en"], faults={"en": {"/robots.txt": {"reset": True}}})
    archive = tmp_path / "archive"
    run = _crawl(mirror, archive, "RETRY_TIMES=1", "ZW_BACKOFF_BASE=0.05")
    # The crawl ran to its end but the site answered nothing at all: a scheduler must hear of it.
    assert run.returncode == 1
    assert run.stderr.strip() == "zwcrawl: the site answered nothing: every fetch failed (listed above)"
    assert [r.path for r in mirror.requests] == ["/robots.txt", "/robots.txt"]  # tried, retried, no more
    (reason,) = _db(archive, "select reason from failures")[0]
    assert reason.startswith("robots.txt unreachable (") and reason.endswith("): host treated as disallowed")
    # The stand-in "disallow everything" is zwcrawl's, not the site's: it is never archived.
    assert _db(archive, "select count(*) from captures") == [(0,)]
