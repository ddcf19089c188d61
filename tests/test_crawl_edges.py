"""Promises at the crawl's edges: robots.txt redirects, articles that redirect elsewhere, huge id ranges."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import forbidden_requests, site_flags, zwcrawl


def _db(archive: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(archive / "zwcrawl.db")) as conn:
        return conn.execute(sql).fetchall()


def _crawl(mirror, archive: Path, *settings: str) -> subprocess.CompletedProcess[str]:
    flags = [arg for s in settings for arg in ("-s", s)]
    return zwcrawl("crawl", "--archive", archive, "--edition", "en", *site_flags(mirror), *flags)


def _article_paths(mirror) -> list[str]:
    return [r.path for r in mirror.requests if r.path.startswith("/news/article/")]


def test_a_robots_txt_redirected_to_another_host_is_obeyed(mirror_factory, tmp_path):
    # The other host's robots.txt forbids every article: none may be fetched from the site.
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "en.zamanalwsl.net").mkdir(parents=True)
    (elsewhere / "en.zamanalwsl.net" / "robots.txt").write_text("User-agent: *\nDisallow: /news/article/\n")
    other = mirror_factory(elsewhere, editions=["en"], log_path=tmp_path / "other.jsonl")
    target = other.base_urls["en"] + "/robots.txt"
    site = mirror_factory(editions=["en"], faults={"en": {"/robots.txt": {"redirect": target}}})
    archive = tmp_path / "archive"
    run = _crawl(site, archive)
    assert run.returncode == 0, run.stderr
    assert [r.path for r in other.requests] == ["/robots.txt"]
    assert _article_paths(site) == []
    assert any(r.path.startswith("/news/articles/") for r in site.requests)  # listings are allowed
    assert _db(archive, "select count(*) from failures") == [(0,)]


def test_a_robots_txt_redirect_loop_disallows_the_host_and_is_reported(mirror_factory, tmp_path):
    loop = {"/robots.txt": {"redirect": "/robots-a.txt"}, "/robots-a.txt": {"redirect": "/robots.txt"}}
    site = mirror_factory(editions=["en"], faults={"en": loop})
    archive = tmp_path / "archive"
    run = _crawl(site, archive)
    assert {r.path for r in site.requests} == {"/robots.txt", "/robots-a.txt"}
    (reason,) = _db(archive, "select reason from failures")[0]
    assert reason.startswith("robots.txt could not be followed (") and "disallowed" in reason
    assert run.returncode == 0, run.stderr  # the site answered: the crawl ran, its failure is listed
    assert "robots.txt could not be followed" in run.stdout


def test_an_article_that_redirects_to_another_is_recorded_and_the_target_archived_once(
    mirror_factory, tmp_path
):
    # 34444 now answers with a redirect to 34449: never stored as 34444, and 34449 fetched once.
    faults = {"en": {"/news/article/34444": {"redirect": "/news/article/34449/"}}}
    site = mirror_factory(editions=["en"], faults=faults)
    archive = tmp_path / "archive"
    run = _crawl(site, archive)
    assert run.returncode == 0, run.stderr
    assert _db(archive, "select count(*) from articles where article_id = 34444") == [(0,)]
    assert _db(archive, "select count(*) from missing where article_id = 34444") == [(0,)]
    assert _db(
        archive, "select status, target_edition, target_article_id from redirects where article_id = 34444"
    ) == [(301, "en", 34449)]
    headline = _db(archive, "select headline from articles where article_id = 34449")
    assert headline and headline[0][0]
    fetched = [p.rstrip("/") for p in _article_paths(site)]
    assert fetched.count("/news/article/34449") == 1
    assert not forbidden_requests(site.requests)
    # The 301 is in the WARC files: a rebuild from them alone gives the same redirects row.
    recorded = _db(archive, "select * from redirects")
    rebuilt = zwcrawl("rebuild", "--archive", archive)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _db(archive, "select * from redirects") == recorded


def test_an_id_range_backfill_skips_a_known_redirect(mirror_factory, tmp_path):
    faults = {"en": {"/news/article/34444": {"redirect": "/news/article/34449/"}}}
    site = mirror_factory(editions=["en"], faults=faults)
    archive = tmp_path / "archive"
    first = zwcrawl(
        "crawl", "--archive", archive, "--edition", "en", "--ids", "34444-34444", *site_flags(site)
    )
    assert first.returncode == 0, first.stderr
    assert _db(archive, "select target_article_id from redirects") == [(34449,)]
    before = len(site.requests)
    again = zwcrawl(
        "crawl", "--archive", archive, "--edition", "en", "--ids", "34444-34444", *site_flags(site)
    )
    assert again.returncode == 0, again.stderr
    assert _article_paths_since(site, before) == []


def _article_paths_since(mirror, start: int) -> list[str]:
    return [r.path for r in mirror.requests[start:] if r.path.startswith("/news/article/")]


def test_a_range_of_five_million_ids_is_fetched_at_once_and_stops_at_once(mirror_factory, tmp_path):
    # Before, every id became a queued request before the first fetch: memory grew by megabytes a second,
    # and Ctrl-C waited minutes for the queue. Now requests are made as the crawl can take them.
    site = mirror_factory(editions=["en"])
    archive = tmp_path / "archive"
    command = [sys.executable, "-m", "zwcrawl", "crawl", "--archive", str(archive), "--edition", "en"]
    command += ["--ids", "1-5000000", *site_flags(site)]
    crawl = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(site.requests) >= 30:
                break
            time.sleep(0.2)
        assert len(site.requests) >= 30, "the range never started fetching"
        crawl.send_signal(signal.SIGINT)
        out, err = crawl.communicate(timeout=30)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    assert crawl.returncode == 130, err
    assert _db(archive, "select status from crawls") == [("interrupted",)]
    assert _db(archive, "select count(*) from missing")[0][0] >= 25
