"""When a schedule is due: an interval (30m, 6h, 1d) or a cron expression read in a time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:\d+[mhdw])+")
_PART = re.compile(r"(\d+)([mhdw])")
# cronsim reads five fields only; the usual nicknames are spelled out here.
_NICKNAMES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def parse_duration(text: str) -> int:
    """30m, 6h, 1d, 1w or a sum such as 1h30m, in seconds; ValueError with a one-line reason."""
    spelled = text.strip().lower()
    if not _DURATION.fullmatch(spelled):
        raise ValueError(f"--every {text!r}: give a duration such as 30m, 6h, 1d or 1h30m")
    seconds = sum(int(count) * _UNITS[unit] for count, unit in _PART.findall(spelled))
    if seconds < 60:
        raise ValueError(f"--every {text!r}: a schedule runs at most once a minute")
    return seconds


def describe_duration(seconds: int) -> str:
    """Seconds as the shortest spelling parse_duration reads back: 5400 -> 1h30m."""
    parts = []
    for unit, size in sorted(_UNITS.items(), key=lambda pair: -pair[1]):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0m"


@dataclass(frozen=True)
class Plan:
    """Every N seconds, or at the times a cron expression names in a time zone."""

    every_seconds: int | None = None
    cron: str | None = None
    timezone: str = "UTC"

    @classmethod
    def parse(cls, *, every: str | None, cron: str | None, tz: str | None) -> Plan:
        """The plan a user typed; ValueError with a one-line reason when it is not one."""
        if (every is None) == (cron is None):
            raise ValueError("give either --every DURATION or --cron EXPRESSION")
        zone = tz or "UTC"
        _zone(zone)
        if every is not None:
            if tz is not None:
                raise ValueError("--tz applies to --cron only: an interval is the same in every zone")
            return cls(every_seconds=parse_duration(every))
        plan = cls(cron=" ".join(_NICKNAMES.get(cron.strip(), cron).split()), timezone=zone)
        plan.next_after(datetime.now(UTC))  # raises for an expression cronsim cannot read
        return plan

    def describe(self) -> str:
        """The plan in words: every 6h, or cron 0 * * * * (UTC)."""
        if self.every_seconds is not None:
            return f"every {describe_duration(self.every_seconds)}"
        return f"cron {self.cron} ({self.timezone})"

    def next_after(self, moment: datetime) -> datetime:
        """The first due time strictly after `moment`, in UTC."""
        if self.every_seconds is not None:
            return moment + timedelta(seconds=self.every_seconds)
        try:
            local = moment.astimezone(_zone(self.timezone))
            return next(CronSim(self.cron, local)).astimezone(UTC)
        except (CronSimError, StopIteration) as exc:
            raise ValueError(f"--cron {self.cron!r}: {str(exc) or 'never due'}") from None

    def next_due(self, due: datetime, now: datetime) -> datetime:
        """The due time after a run that answered `due`: missed times before `now` collapse into that run."""
        if self.every_seconds is None:
            return self.next_after(max(due, now))
        # Keep the interval's phase (a 6h plan added at 00:10 stays at 00:10, 06:10...), skipping missed runs.
        step = timedelta(seconds=self.every_seconds)
        missed = max(0, (now - due) // step)
        return due + step * (missed + 1)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"--tz {name!r}: not a time zone (use a name such as UTC or Europe/Berlin)"
        ) from None
