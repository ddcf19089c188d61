"""--refresh-due: the policy as a pure function, and a real crawl that fetches only what is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import site_flags, zwcrawl

from zwcrawl.refresh_policy import History, RefreshPolicy, next_due
from zwcrawl.store import Store

BORN = datetime(2026, 1, 1, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def wait(age: timedelta, unchanged: int, policy: RefreshPolicy | None = None) -> timedelta:
    """How long after an observation at `age` the next is due."""
    return next_due(History(BORN, BORN + age, unchanged), policy or RefreshPolicy()) - (BORN + age)


def test_intervals_grow_with_age_and_quiet_and_shrink_after_a_change():
    assert wait(2 * HOUR, 0) == HOUR  # never sooner than the shortest interval
    assert wait(30 * DAY, 0) < wait(60 * DAY, 0) < wait(60 * DAY, 1) < wait(60 * DAY, 2)
    assert wait(60 * DAY, 0) < wait(60 * DAY, 3)  # a change (unchanged back to 0) brings it sooner


def test_young_articles_are_never_left_longer_than_their_ceiling():
    for days in (0.5, 1, 3, 6.9):
        assert all(wait(days * DAY, quiet) <= 6 * HOUR for quiet in range(0, 70, 7))
    for days in (7, 15, 29.9):
        assert all(wait(days * DAY, quiet) <= DAY for quiet in range(0, 70, 7))
    assert wait(10 * 365 * DAY, 64) == RefreshPolicy().longest


def test_the_numbers_are_settings():
    from scrapy.settings import Settings

    policy = RefreshPolicy.from_settings(
        Settings({"ZW_REFRESH_YOUNG_LONGEST_HOURS": 2, "ZW_REFRESH_LONGEST_DAYS": 30})
    )
    assert wait(3 * DAY, 10, policy) == 2 * HOUR
    assert wait(10 * 365 * DAY, 64, policy) == 30 * DAY


def test_refresh_due_right_after_a_crawl_fetches_no_article_again(mirror_factory, zwsite, tmp_path):
    mirror = mirror_factory(zwsite, validators=True)  # so the due articles are asked conditionally
    archive = tmp_path / "archive"
    first = zwcrawl("crawl", "--archive", archive, *site_flags(mirror))
    assert first.returncode == 0, first.stderr
    served = len(mirror.requests)
    second = zwcrawl("crawl", "--archive", archive, "--refresh-due", *site_flags(mirror))
    assert second.returncode == 0, second.stderr
    assert not [r.path for r in mirror.requests[served:] if r.path.startswith("/news/article/")]
    # With every interval shortened to nothing, every archived article is due again.
    served = len(mirror.requests)
    due = zwcrawl(
        "crawl", "--archive", archive, "--refresh-due", *site_flags(mirror),
        "-s", "ZW_REFRESH_SHORTEST_HOURS=0", "-s", "ZW_REFRESH_LONGEST_DAYS=0",
    )  # fmt: skip
    assert due.returncode == 0, due.stderr
    asked = [r for r in mirror.requests[served:] if r.path.startswith("/news/article/")]
    fetched = {r.path.rstrip("/") for r in asked}
    assert len(fetched) >= 2, fetched
    # Unchanged since, each is a 304: an observation that found nothing changed, so its interval grows.
    assert all(r.status == 304 and "If-None-Match" in r.headers for r in asked)
    with Store(archive / "zwcrawl.db", read_only=True) as store:
        assert {unchanged for *_, unchanged in store.refresh_histories("en")} == {1}


def test_the_history_counts_the_unchanged_observations_since_the_last_change(tmp_path):
    import json
    from pathlib import Path

    expected = Path(__file__).resolve().parent / "fixtures" / "zwsite" / "expected" / "en" / "34489.json"
    item = json.loads(expected.read_text("utf-8"))
    times = [f"2026-01-0{d}T10:00:00Z" for d in range(1, 6)]
    likes = [1, 1, 2, 2, 2]  # a change at the third observation, then two that found the same
    with Store(tmp_path / "zwcrawl.db") as store:
        crawl = store.start_crawl({}, times[0])
        for at, count in zip(times, likes, strict=True):
            store.save_article(dict(item, likes=count), crawl_id=crawl, capture_id=None, observed_at=at)
        [(article_id, born, last_seen, unchanged)] = list(store.refresh_histories("en"))
    assert (article_id, last_seen, unchanged) == (34489, times[-1], 2)
    assert born == item["published"]
