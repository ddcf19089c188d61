"""When an archived article is next due for a refresh: a pure function of its history and the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class RefreshPolicy:
    """The policy's numbers (settings ZW_REFRESH_*; README says why these defaults)."""

    age_factor: float = 0.1  # the base interval is this share of the article's age
    growth: float = 2.0  # each observation that found nothing changed multiplies the interval by this
    shortest: timedelta = HOUR  # never sooner than this after the last observation
    young: timedelta = 7 * DAY  # younger than this: observed at least every `young_longest`
    young_longest: timedelta = 6 * HOUR
    recent: timedelta = 30 * DAY  # younger than this: observed at least every `recent_longest`
    recent_longest: timedelta = DAY
    longest: timedelta = 180 * DAY  # however old and quiet, observed again after this

    @classmethod
    def from_settings(cls, settings) -> RefreshPolicy:
        """The policy from Scrapy settings (hours and days as numbers, defaults where unset)."""
        default = cls()

        def hours(name: str, value: timedelta) -> timedelta:
            return timedelta(hours=settings.getfloat(name, value / HOUR))

        def days(name: str, value: timedelta) -> timedelta:
            return timedelta(days=settings.getfloat(name, value / DAY))

        return cls(
            age_factor=settings.getfloat("ZW_REFRESH_AGE_FACTOR", default.age_factor),
            growth=settings.getfloat("ZW_REFRESH_GROWTH", default.growth),
            shortest=hours("ZW_REFRESH_SHORTEST_HOURS", default.shortest),
            young=days("ZW_REFRESH_YOUNG_DAYS", default.young),
            young_longest=hours("ZW_REFRESH_YOUNG_LONGEST_HOURS", default.young_longest),
            recent=days("ZW_REFRESH_RECENT_DAYS", default.recent),
            recent_longest=hours("ZW_REFRESH_RECENT_LONGEST_HOURS", default.recent_longest),
            longest=days("ZW_REFRESH_LONGEST_DAYS", default.longest),
        )


DEFAULT = RefreshPolicy()


@dataclass(frozen=True)
class History:
    """What the policy needs of an article's history."""

    born: datetime  # published, else first seen
    last_observed: datetime
    unchanged: int  # observations in a row, up to the last, that found counters, comments and text as before


def next_due(history: History, policy: RefreshPolicy = DEFAULT) -> datetime:
    """When the article should next be observed: later the older and quieter it is, sooner after a change."""
    age = max(history.last_observed - history.born, timedelta(0))
    seconds = age.total_seconds() * policy.age_factor * policy.growth ** min(history.unchanged, 64)
    interval = max(policy.shortest, min(timedelta(seconds=min(seconds, 1e12)), policy.longest))
    # The ceilings hold by the article's age at the next observation, so a young article never waits past
    # its band's ceiling, and a ceiling lifts only once the article is older than its band.
    if age < policy.young:
        interval = min(interval, policy.young_longest)
    elif age < policy.recent:
        interval = min(interval, policy.recent_longest)
    return history.last_observed + interval


def is_due(history: History, now: datetime, policy: RefreshPolicy = DEFAULT) -> bool:
    """Whether the article should be observed at `now`."""
    return next_due(history, policy) <= now
