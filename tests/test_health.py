"""Extraction health and its alarm, removals kept apart from drift: real crawls of a local copy."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from conftest import ZWSITE, site_flags, zwcrawl

from zwcrawl.health import Health, Reading, Thresholds
from zwcrawl.store import Store

HOSTS = {"en": "en.zamanalwsl.net", "ar": "www.zamanalwsl.net"}
_NEWS_TEXT = re.compile(r'(<div class="news-text">).*?(</div>)', re.S)


def _db(archive: Path, sql: str, *params) -> list[tuple]:
    # Closed at once: a connection left to the garbage collector keeps its map of a -shm file that the next
    # crawl deletes and makes again, and this process's next connection to the file would read through it.
    with contextlib.closing(sqlite3.connect(archive / "zwcrawl.db")) as conn:
        return conn.execute(sql, params).fetchall()


def _crawl(mirror, archive: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return zwcrawl("crawl", "--archive", archive, *site_flags(mirror), *args)


def redesigned(root: Path) -> dict[str, list[int]]:
    """An overlay on zwsite where every fifth article page of the current layout has lost its text (a
    layout nothing reads); the ids switched, per edition."""
    switched: dict[str, list[int]] = {}
    for edition, host in HOSTS.items():
        pages = [p for p in sorted((ZWSITE / host / "news/article").glob("*.html")) if _NEWS_TEXT.search(
            p.read_text(encoding="utf-8"))]  # fmt: skip
        for page in pages[::5]:
            target = root / host / "news/article" / page.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_NEWS_TEXT.sub(r"\1\2", page.read_text(encoding="utf-8")), encoding="utf-8")
            switched.setdefault(edition, []).append(int(page.stem))
    return switched


def _stats(archive: Path) -> dict:
    (row,) = _db(archive, "select stats from crawls order by id desc limit 1")
    return json.loads(row[0])


def test_a_refresh_over_pages_of_an_unknown_layout_raises_the_alarm_naming_them(mirror_factory, tmp_path):
    archive = tmp_path / "archive"
    first = _crawl(mirror_factory(), archive)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "health en:" in first.stdout and "warning" not in first.stderr  # a first crawl has no history
    archived = {
        e: {i for (i,) in _db(archive, "select article_id from articles where edition = ?", e)} for e in HOSTS
    }
    switched = redesigned(tmp_path / "redesign")
    assert all(set(ids) <= archived[e] for e, ids in switched.items())

    mirror = mirror_factory([tmp_path / "redesign", ZWSITE])
    run = _crawl(mirror, archive, "--refresh", "-s", "ZW_HEALTH_MIN_PAGES=5")

    assert run.returncode == 4, run.stdout + run.stderr
    warnings = run.stderr.splitlines()
    assert all(line.startswith("zwcrawl: warning: extraction health: ") for line in warnings), warnings
    keys = [tuple(line.split(": ")[3].split()) for line in warnings]
    assert len(keys) == len(set(keys))  # one line per (edition, field)
    for edition, ids in switched.items():
        (body,) = [line for line in warnings if f": {edition} body: " in line]
        named = re.findall(r"/news/article/(\d+)", body.split("e.g.", 1)[1])
        assert named and {int(i) for i in named} <= set(ids), body
        assert len(named) == min(3, len(ids))
    # Drift, never a removal nor a missing id; the pages are archived as always, for `rebuild`.
    assert _db(archive, "select count(*) from missing") == [(0,)]
    assert _db(archive, "select count(*) from removals") == [(0,)]
    (crawl_id,) = _db(archive, "select max(id) from crawls")[0]
    for ids in switched.values():
        for article_id in ids:
            url = f"%/news/article/{article_id}%"
            reasons = _db(
                archive, "select reason from failures where crawl_id = ? and url like ?", crawl_id, url
            )
            assert reasons and reasons[0][0].startswith("parse error: not an article page"), article_id
            captured = _db(
                archive, "select count(*) from captures where crawl_id = ? and url like ? and record_type"
                " in ('response', 'revisit')", crawl_id, url,
            )  # fmt: skip
            assert captured[0][0] >= 1
    stats = _stats(archive)
    assert stats["health/alarms"] == [line.removeprefix("zwcrawl: warning: ") for line in warnings]
    assert stats["health/en/had/body"] == len(archived["en"])
    assert stats["health/en/lost/body"] == len(switched["en"])
    assert stats["health/en/drift"] == len(switched["en"])
    assert (
        f"health en: {len(archived['en'])} article pages, {len(switched['en'])} unreadable (drift)"
        in run.stdout
    )
    assert "health en:" in run.stdout and "health ar:" in run.stdout
    assert zwcrawl("verify", "--archive", archive).returncode == 0


def test_removals_are_kept_apart_and_a_normal_refresh_or_a_tiny_sample_raises_no_alarm(
    mirror_factory, tmp_path
):
    archive = tmp_path / "archive"
    assert _crawl(mirror_factory(), archive, "--edition", "en").returncode == 0
    # The site's own not-found page, or a 410, for an archived article: a removal with its time.
    removed = {"/news/article/34489": {"soft404": True}, "/news/article/34444": {"status": 410}}
    gone = mirror_factory(faults={"en": removed})
    run = _crawl(gone, archive, "--edition", "en", "--refresh", "-s", "ZW_HEALTH_MIN_PAGES=5")
    assert run.returncode == 0 and run.stderr == "", run.stdout + run.stderr  # a removal is no drift
    (started,) = _db(archive, "select started_at from crawls order by id desc limit 1")[0]
    rows = _db(archive, "select article_id, how, removed_at from removals")
    assert sorted((article_id, how) for article_id, how, _at in rows) == [
        (34444, "HTTP 410"),
        (34489, "not-found page"),
    ]
    assert all(at >= started for _id, _how, at in rows)
    assert _db(archive, "select count(*) from missing") == [(0,)]
    stats = _stats(archive)
    assert stats["removed"] == 2 and "health/alarms" not in stats
    assert "2 archived articles removed by the site" in run.stdout
    # A rebuild from the WARC files gives the removals back, as the crawl recorded them.
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(archive, rebuilt)
    assert zwcrawl("rebuild", "--archive", rebuilt).returncode == 0
    removals = "select edition, article_id, how, removed_at, checked_at, crawl_id from removals order by 2"
    assert _db(rebuilt, removals) == _db(archive, removals)
    assert _db(rebuilt, "select count(*) from missing") == [(0,)]
    # A normal refresh: no alarm, and articles answering again are no longer removed.
    normal = _crawl(mirror_factory(), archive, "--edition", "en", "--refresh", "-s", "ZW_HEALTH_MIN_PAGES=5")
    assert normal.returncode == 0 and normal.stderr == "", normal.stdout + normal.stderr
    assert _db(archive, "select count(*) from removals") == [(0,)]
    # The redesign on a copy this small is under the default minimum page count: no alarm, though its
    # pages are still failures zwcrawl could not read (exit 3), and never missing.
    redesigned(tmp_path / "redesign")
    small = _crawl(mirror_factory([tmp_path / "redesign", ZWSITE]), archive, "--edition", "en", "--refresh")
    assert small.returncode == 3, small.stdout + small.stderr
    assert "warning" not in small.stderr
    assert _db(archive, "select count(*) from missing") == [(0,)]


def _health(min_pages: int = 5) -> tuple[Health, dict]:
    figures: dict = {}

    def count(name: str, by: int = 1) -> None:
        figures[name] = figures.get(name, 0) + by

    return Health(count, Thresholds(min_pages, 0.05, 0.15, 0.5, 0.5)), figures


def _reading(i: int, **found: str | None) -> Reading:
    strategies = dict.fromkeys(("headline", "published", "body", "source"), "layout") | found
    return Reading(
        f"https://en.zamanalwsl.net/news/article/{i}",
        "en",
        i,
        strategies,
        0 if not found.get("body", 1) else 900,
    )


def test_a_field_found_mostly_by_landmarks_alarms_only_against_a_history_that_was_not():
    health, figures = _health()
    for i in range(10):
        health.observe(_reading(i, body="landmark"), {"body": "x" * 1000})
    earlier = [
        {
            "id": 1,
            "stats": {"health/en/pages": 10, "health/en/found/body": 10, "health/en/by/body/layout": 10},
        }
    ]
    (alarm,) = health.judge(figures, ("en",), {}, earlier)
    assert alarm.startswith("extraction health: en body: found mostly by the last-resort landmark strategy")
    assert alarm.count("https://en.zamanalwsl.net/news/article/") == 3
    assert health.judge(figures, ("en",), {}, []) == []  # no history: no alarm
    same = [
        {
            "id": 1,
            "stats": {"health/en/pages": 10, "health/en/found/body": 10, "health/en/by/body/landmark": 9},
        }
    ]
    assert health.judge(figures, ("en",), {}, same) == []  # it was so before


def test_new_pages_alarm_against_the_archive_share_and_never_on_a_tiny_sample():
    health, figures = _health()
    for i in range(10):
        health.observe(_reading(i, source=None if i < 4 else "layout"), None)
    archive = {"en": {"articles": 50, "headline": 1.0, "published": 1.0, "body": 1.0, "source": 0.9}}
    (alarm,) = health.judge(figures, ("en",), archive, [])
    assert alarm.startswith(
        "extraction health: en source: found on 60% of 10 new pages, 90% of the archive's"
    )
    assert health.judge(figures, ("en",), {"en": {**archive["en"], "articles": 3}}, []) == []
    small, few = _health(min_pages=20)
    for i in range(10):
        small.observe(_reading(i, source=None), None)
    assert small.judge(few, ("en",), archive, []) == []


def test_a_removal_is_cleared_by_a_later_fetch_only_never_by_an_older_capture_read_again(tmp_path):
    item = json.loads((ZWSITE / "expected/en/34489.json").read_text("utf-8"))
    with Store(tmp_path / "zwcrawl.db") as store:
        crawl = store.start_crawl({}, "2026-01-01T00:00:00Z")
        store.save_article(item, crawl_id=crawl, capture_id=None, observed_at="2026-01-01T00:00:00Z")
        assert store.mark_removed("en", 34489, 404, crawl, "2026-02-01T00:00:00Z")
        assert store.mark_removed("en", 34489, 200, crawl, "2026-03-01T00:00:00Z")
        assert not store.mark_removed("en", 1, 404, crawl, "2026-03-01T00:00:00Z")  # not archived
        rows = list(store.db["removals"].rows)
        assert [(r["removed_at"], r["how"], r["checked_at"]) for r in rows] == [
            ("2026-02-01T00:00:00Z", "not-found page", "2026-03-01T00:00:00Z")
        ]
        store.save_article(item, crawl_id=crawl, capture_id=None, observed_at="2026-01-15T00:00:00Z")
        assert store.db["removals"].count == 1  # an older capture read again (a rebuild)
        store.save_article(item, crawl_id=crawl, capture_id=None, observed_at="2026-04-01T00:00:00Z")
        assert store.db["removals"].count == 0
