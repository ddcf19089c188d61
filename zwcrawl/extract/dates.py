"""Dates as the site prints them (Damascus local time, English or Arabic) read as UTC ISO-8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zwcrawl.extract.text import clean_text, western_digits

_ISO_Z = "%Y-%m-%dT%H:%M:%SZ"


@lru_cache(maxsize=1)
def damascus() -> ZoneInfo:
    """Asia/Damascus, preferring the tzdata package so the 2022 switch to UTC+3 is known on old systems."""
    try:
        with files("tzdata.zoneinfo").joinpath("Asia", "Damascus").open("rb") as fh:
            return ZoneInfo.from_file(fh, key="Asia/Damascus")
    except (ModuleNotFoundError, OSError, ValueError):
        pass
    try:
        return ZoneInfo("Asia/Damascus")
    except ZoneInfoNotFoundError:  # pragma: no cover - tzdata is a dependency
        return timezone(timedelta(hours=3), "Asia/Damascus")  # type: ignore[return-value]


# Month names: English, Levantine (كانون الثاني ...), standard Arabic (يناير ...) and Maghrebi (جانفي ...),
# written as _fold() leaves them (alef forms unified, diacritics and tatweel dropped, lower case).
_MONTH_NAMES = {
    1: ("january", "jan", "كانون الثاني", "كانون ثاني", "يناير", "جانفي"),
    2: ("february", "feb", "شباط", "فبراير", "فيفري"),
    3: ("march", "mar", "اذار", "مارس"),
    4: ("april", "apr", "نيسان", "ابريل", "افريل"),
    5: ("may", "ايار", "مايو", "ماي", "مايس"),
    6: ("june", "jun", "حزيران", "يونيو", "يونيه", "جوان"),
    7: ("july", "jul", "تموز", "يوليو", "يوليه", "جويلية", "جويليه"),
    8: ("august", "aug", "اب", "اغسطس", "اوت", "غشت"),
    9: ("september", "sept", "sep", "ايلول", "سبتمبر", "شتنبر"),
    10: ("october", "oct", "تشرين الاول", "تشرين اول", "اكتوبر"),
    11: ("november", "nov", "تشرين الثاني", "تشرين ثاني", "نوفمبر", "نونبر"),
    12: ("december", "dec", "كانون الاول", "كانون اول", "ديسمبر", "دجنبر"),
}
_MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names}
# Longest first, so "كانون الثاني" wins over a bare "كانون" and "sept" over "sep".
_MONTH_ALTS = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_MONTH = re.compile(rf"(?<!\w)({_MONTH_ALTS})\.?(?!\w)")
# A second month name right after the first (نيسان/أبريل, نيسان (أبريل)) names the same month.
_TWIN = re.compile(rf"^\s*[/(-]?\s*(?:{_MONTH_ALTS})(?!\w)\s*\)?")
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ـ": None, "،": ","})
_DIACRITICS = re.compile(r"[\u064b-\u065f\u0670]")

# A zone after a time: "Z", "+03:00", "+0300", "GMT+3", "UTC+03:00", "GMT". A bare sign needs two-digit
# hours ("20:14 -5 killed" names no zone); after GMT or UTC one digit is enough.
_ZONE = r"z|(?:gmt|utc)\s*[+-]\d{1,2}(?::?\d{2})?|[+-]\d{2}:?\d{2}|gmt|utc"
_TIME = re.compile(
    r"(?<![\d:])(\d{1,2})[:٫](\d{2})(?::(\d{2}))?(?:\.\d+)?(?![\d:])\s*"
    r"(?:(a\.?m\.?|p\.?m\.?|صباحا|مساء|ظهرا|عصرا|ليلا|ص|م)(?!\w))?"
    rf"\s*({_ZONE})?(?!\w)"
)
_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?$")
# Years a page of the site can print. .NET prints an empty date as 1/1/0001 and its largest as 9999, and
# neither survives the move to UTC.
_YEARS = range(1900, 2200)
_YMD = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_DMY = re.compile(r"(?<!\d)(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})(?!\d)")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_DAY_BEFORE = re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s*(?:of\s+|من\s+)?[,/]?\s*$")
_DAY_AFTER = re.compile(r"^\s*[,/]?\s*(\d{1,2})(?:st|nd|rd|th)?(?!\d)")
_PM = ("pm", "p.m.", "p.m", "pm.", "مساء", "عصرا", "ليلا", "م")
_AM = ("am", "a.m.", "a.m", "am.", "صباحا", "ص")


def _fold(text: str) -> str:
    return _DIACRITICS.sub("", western_digits(clean_text(text)).translate(_FOLD)).lower()


def utc_offset(zone: str) -> timezone | None:
    """The zone a time names ("Z", "GMT", "+03:00", "+0300", "GMT+3", "UTC-4:30"); None if none is real."""
    zone = zone.strip().lower()
    if zone in ("z", "gmt", "utc"):
        return UTC
    m = _OFFSET.search(zone)
    if not m:
        return None
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes > 59:  # No zone on Earth is further than UTC+14.
        return None
    sign = 1 if m.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


_NO_ZONE = object()  # A zone was printed, but no real one ("GMT+99").


def _time(text: str) -> tuple[tuple[int, int, int], object, str] | None:
    """The first time in a text (12-hour markers applied), the offset it names, and the text without it."""
    m = _TIME.search(text)
    if not m:
        return None
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    marker = m.group(4) or ""
    if (marker in _PM or (marker == "ظهرا" and hour < 11)) and hour < 12:
        hour += 12
    elif marker in _AM and hour == 12:
        hour = 0
    zone, tz = m.group(5), None
    if zone:
        tz = utc_offset(zone) or _NO_ZONE
    return (hour, minute, second), tz, text[: m.start()] + " " + text[m.end() :]


def _date(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of the first date in a text: ISO, dd/mm/yyyy, or with a month name."""
    m = _YMD.search(text)
    if m:
        return int(m.group(1)), int(m.group(2)), int(m.group(3))
    m = _DMY.search(text)
    if m:
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if month > 12 >= day:  # The site writes dd/mm/yyyy; a "month" above 12 means a US-style date.
            day, month = month, day
        return year, month, day
    m = _MONTH.search(text)
    if not m:
        return None
    before, after = text[: m.start()], text[m.end() :]
    twin = _TWIN.match(after)
    if twin:
        after = after[twin.end() :]
    day = _DAY_BEFORE.search(before) or _DAY_AFTER.search(after)
    year = _YEAR.search(after) or _YEAR.search(before)
    if not day or not year:
        return None
    return int(year.group(1)), _MONTHS[m.group(1)], int(day.group(1))


def parse_datetime(text: str | None) -> datetime | None:
    """The first date (and time) in a text: naive for site-local time, aware when the text names an offset."""
    if not text:
        return None
    folded = re.sub(r"(?<=\d)t(?=\d)", " ", _fold(text[:300]))
    found = _time(folded)
    (hour, minute, second), tz, rest = found if found else ((0, 0, 0), None, folded)
    ymd = _date(rest)
    if not ymd or ymd[0] not in _YEARS or tz is _NO_ZONE:
        return None
    try:
        return datetime(*ymd, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None


def to_utc_iso(moment: datetime) -> str:
    """UTC ISO-8601 with a Z; a naive time is Damascus local time (its DST history applied)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=damascus())
    return moment.astimezone(UTC).strftime(_ISO_Z)


def parse_published(text: str | None) -> str | None:
    """A date line as printed (Damascus local unless it names an offset) as UTC ISO-8601, or None."""
    moment = parse_datetime(text)
    return to_utc_iso(moment) if moment else None


def parse_day(text: str | None) -> str | None:
    """The calendar date a listing prints ("20/04/2018", "19 نيسان 2018") as YYYY-MM-DD, or None."""
    moment = parse_datetime(text)
    return moment.strftime("%Y-%m-%d") if moment else None


def parse_feed_date(text: str | None) -> str | None:
    """An RSS pubDate (RFC 822, usually GMT) as UTC ISO-8601; other spellings read as parse_published does."""
    # Imported here: feeds are read in the crawl's process only, and the extraction worker is spared email.
    from email.utils import parsedate_to_datetime

    text = clean_text(text)
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        moment = None
    if moment is not None:
        if moment.year not in _YEARS:
            return None
        if moment.tzinfo is None:  # RFC 2822 "-0000": no zone information, and feeds mean UTC by it.
            moment = moment.replace(tzinfo=UTC)
        return to_utc_iso(moment)
    return parse_published(text)


_WEEKDAYS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
    "|الاثنين|الإثنين|الثلاثاء|الأربعاء|الاربعاء|الخميس|الجمعة|السبت|الأحد|الاحد"
)
_MONTH_WORDS = "|".join(
    sorted({*_MONTHS, "آذار", "أيار", "آب", "أبريل", "إبريل", "أغسطس", "أكتوبر"}, key=len, reverse=True)
)
_TRAILING_DATE_WORDS = re.compile(
    rf"(?:[\s,،|:–—-]*(?<!\w)(?:{_WEEKDAYS}|{_MONTH_WORDS}|on|at|في|يوم)\.?)+[\s,،|:–—-]*$", re.I
)


def text_before_date(text: str) -> str:
    """What a line prints before its date: "Samir 2018-04-19 20:14", "Samir, Thursday 19 April" -> "Samir"."""
    text = clean_text(text)
    digit = re.search(r"[0-9٠-٩۰-۹]", text)
    head = text[: digit.start()] if digit else text
    return _TRAILING_DATE_WORDS.sub("", head).strip(" -–—|,،:()")


# What may stand beside a date and its time on a line of its own: weekdays, month names, hour markers, zones.
_DATE_WORD = re.compile(
    rf"(?<!\w)(?:{_MONTH_ALTS}|{_fold(_WEEKDAYS)}|on|at|في|يوم|الساعة|st|nd|rd|th"
    r"|a\.?m\.?|p\.?m\.?|صباحا|مساء|ظهرا|عصرا|ليلا|ص|م|z|gmt|utc)(?!\w)"
    r"|[\d\s/.:,،|()\[\]+\-–—٫]"
)


def date_only(text: str) -> bool:
    """Whether a text prints a date and nothing else ("Thursday 19 April 2018 20:14 GMT+3")."""
    return parse_datetime(text) is not None and not _DATE_WORD.sub("", _fold(text)).strip()
