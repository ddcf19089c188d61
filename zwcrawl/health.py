"""Extraction health: what each crawl's article pages gave, per edition, and an alarm when it drops."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # only a type here: the extraction worker reads pages without loading Scrapy
    from scrapy.settings import BaseSettings

CORE_FIELDS = ("headline", "published", "body", "source")
LAST_RESORT = "landmark"  # the strategy that reads any layout, and the least sure of what it reads
EXAMPLES = 3  # example URLs named in an alarm line


class _Page(Protocol):
    url: str
    strategies: dict[str, str | None]
    body: str | None
    is_article: bool


@dataclass(frozen=True)
class Reading:
    """What extraction found on one article page: the strategy behind each core field, and the body."""

    url: str  # the article's canonical URL
    edition: str
    article_id: int
    found: dict[str, str | None]  # core field -> the strategy that found it, None when none did
    body_chars: int  # 0 when no body was found
    drift: bool = False  # neither an article nor the site's not-found page: a layout nothing reads

    @classmethod
    def of(cls, page: _Page, edition: str, article_id: int) -> Reading:
        """The reading of a parsed article page (an article, or a page of a layout nothing reads)."""
        strategies = page.strategies
        return cls(
            page.url, edition, article_id, {name: strategies.get(name) for name in CORE_FIELDS},
            len(page.body or ""), drift=not page.is_article,
        )  # fmt: skip


@dataclass(frozen=True)
class Thresholds:
    """When health counts as dropped: the ZW_HEALTH_* settings."""

    min_pages: int  # fewer pages than this in a group never raise the alarm (nor make a history)
    max_lost: float  # share of refreshed pages that had a field and lost it
    max_drop: float  # how far a field's share on new pages may fall below the archive's
    max_landmark: float  # share of a field found only by landmarks, above which it is "mostly"
    body_shrink: float  # a refreshed body shorter than this share of the stored one is lost

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Thresholds:
        return cls(
            min_pages=settings.getint("ZW_HEALTH_MIN_PAGES"),
            max_lost=settings.getfloat("ZW_HEALTH_MAX_LOST"),
            max_drop=settings.getfloat("ZW_HEALTH_MAX_DROP"),
            max_landmark=settings.getfloat("ZW_HEALTH_MAX_LANDMARK"),
            body_shrink=settings.getfloat("ZW_HEALTH_BODY_SHRINK"),
        )


# Each ZW_HEALTH_* setting, and what a value of it must be.
_SETTINGS = {
    "ZW_HEALTH_MIN_PAGES": (int, "a whole number of pages, 1 or more"),
    "ZW_HEALTH_MAX_LOST": (float, "a share from 0 to 1"),
    "ZW_HEALTH_MAX_DROP": (float, "a share from 0 to 1"),
    "ZW_HEALTH_MAX_LANDMARK": (float, "a share from 0 to 1"),
    "ZW_HEALTH_BODY_SHRINK": (float, "a share from 0 to 1"),
}


def check_settings(overrides: dict[str, str]) -> None:
    """Refuse a ZW_HEALTH_* value out of its range; ValueError with a one-line reason."""
    for name, value in overrides.items():
        if name not in _SETTINGS:
            continue
        kind, expected = _SETTINGS[name]
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not (number >= 1 if kind is int else 0 <= number <= 1):
            raise ValueError(f"-s {name}={value}: expected {expected}")


def _key(edition: str, *parts: str) -> str:
    return "/".join(("health", edition, *parts))


class Health:
    """Counts readings into the crawl's figures (health/EDITION/...) and judges them against history.

    Figures per edition: pages; drift (pages read as no article); found/F and by/F/STRATEGY; body_chars
    (their sum); new and new_found/F (pages the archive did not hold); had/F and lost/F (refreshed pages
    whose stored row had F, and those where F is now not found, or for the body, shorter than
    ZW_HEALTH_BODY_SHRINK of the stored one).
    """

    def __init__(self, count, thresholds: Thresholds):
        self._count = count  # count(name, by): adds to a crawl figure
        self.thresholds = thresholds
        self._examples: dict[tuple[str, str, str], list[str]] = defaultdict(list)

    def observe(self, reading: Reading, stored: dict | None) -> None:
        """Count one article page; `stored` is the archive's row for it before this crawl saved it."""
        edition = reading.edition
        self._count(_key(edition, "pages"), 1)
        if reading.drift:
            self._count(_key(edition, "drift"), 1)
        if stored is None:
            self._count(_key(edition, "new"), 1)
        for name, strategy in reading.found.items():
            if strategy is not None:
                self._count(_key(edition, "found", name), 1)
                self._count(_key(edition, "by", name, strategy), 1)
                if strategy == LAST_RESORT:
                    self._example(edition, "landmark", name, reading.url)
            if stored is None:
                if strategy is not None:
                    self._count(_key(edition, "new_found", name), 1)
                else:
                    self._example(edition, "new", name, reading.url)
            elif stored.get(name) is not None:
                self._count(_key(edition, "had", name), 1)
                if strategy is None or (
                    name == "body" and reading.body_chars < self.thresholds.body_shrink * len(stored["body"])
                ):
                    self._count(_key(edition, "lost", name), 1)
                    self._example(edition, "lost", name, reading.url)
        if reading.body_chars:
            self._count(_key(edition, "body_chars"), reading.body_chars)

    def _example(self, edition: str, rule: str, name: str, url: str) -> None:
        examples = self._examples[(edition, rule, name)]
        if len(examples) < EXAMPLES and url not in examples:
            examples.append(url)

    def judge(
        self, figures: dict, editions: tuple[str, ...], archive: dict[str, dict], earlier: list[dict]
    ) -> list[str]:
        """One warning line per (edition, field) whose health dropped against the archive's history.

        figures: this crawl's (unprefixed); archive: per edition, Store.coverage() of the articles held
        before this crawl; earlier: earlier finished crawls' rows, newest first.
        """
        alarms = []
        for edition in editions:
            for name in CORE_FIELDS:
                reason = self._dropped(edition, name, figures, archive.get(edition) or {}, earlier)
                if reason:
                    rule, text = reason
                    examples = " ".join(self._examples[(edition, rule, name)])
                    alarms.append(f"extraction health: {edition} {name}: {text}; e.g. {examples}")
        return alarms

    def _dropped(
        self, edition: str, name: str, figures: dict, archive: dict, earlier: list[dict]
    ) -> tuple[str, str] | None:
        """(rule, why) when the field's health dropped, by the first rule that says so; else None."""
        least = self.thresholds.min_pages

        def figure(*parts: str) -> int:
            return figures.get(_key(edition, *parts), 0)

        had, lost = figure("had", name), figure("lost", name)
        if had >= least and lost / had > self.thresholds.max_lost:
            return "lost", f"lost on {lost} of {had} refreshed pages that had it ({lost / had:.0%})"
        new, archived = figure("new"), archive.get("articles") or 0
        if new >= least and archived >= least:
            share, usual = figure("new_found", name) / new, archive.get(name) or 0.0
            if usual - share > self.thresholds.max_drop:
                return "new", f"found on {share:.0%} of {new} new pages, {usual:.0%} of the archive's"
        found, by_landmark = figure("found", name), figure("by", name, LAST_RESORT)
        if found >= least and by_landmark / found > self.thresholds.max_landmark:
            before = _landmark_share_before(edition, name, earlier, least)
            if before is not None and before <= self.thresholds.max_landmark:
                return "landmark", (
                    f"found mostly by the last-resort {LAST_RESORT} strategy ({by_landmark} of {found} pages,"
                    f" {before:.0%} before)"
                )
        return None


def _landmark_share_before(edition: str, name: str, earlier: list[dict], least: int) -> float | None:
    """The share of a field found by landmarks in the latest earlier crawl that measured enough pages."""
    for crawl in earlier:
        stats = crawl["stats"]
        found = stats.get(_key(edition, "found", name), 0)
        if stats.get(_key(edition, "pages"), 0) >= least and found:
            return stats.get(_key(edition, "by", name, LAST_RESORT), 0) / found
    return None


def summary_lines(figures: dict, editions: tuple[str, ...]) -> list[str]:
    """One compact line per edition measured: pages, each core field's count by strategy, body length."""
    lines = []
    for edition in editions:
        pages = figures.get(_key(edition, "pages"), 0)
        if not pages:
            continue
        parts = []
        for name in CORE_FIELDS:
            prefix = _key(edition, "by", name) + "/"
            by = ", ".join(
                f"{key.removeprefix(prefix)} {value}"
                for key, value in sorted(figures.items())
                if key.startswith(prefix)
            )
            parts.append(
                f"{name} {figures.get(_key(edition, 'found', name), 0)}" + (f" ({by})" if by else "")
            )
        drift = figures.get(_key(edition, "drift"), 0)
        line = f"health {edition}: {pages} article pages, {drift} unreadable (drift); " + "; ".join(parts)
        bodies = figures.get(_key(edition, "found", "body"), 0)
        if bodies:
            line += f"; body {figures.get(_key(edition, 'body_chars'), 0) // bodies} chars on average"
            usual = figures.get(_key(edition, "usual_body_chars"))
            if usual:
                line += f" (usual {usual})"
        lines.append(line)
    return lines
