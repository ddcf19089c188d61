"""Which articles a search or an export covers: edition, publication dates, section, source and author."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

# A day (2011-03-15) or a UTC moment (2011-03-15T09:30:00Z): published times are stored as the latter.
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?Z")


@dataclass(frozen=True)
class ArticleFilter:
    """Conditions on articles; None means any."""

    edition: str | None = None  # "en" or "ar"
    since: str | None = None  # inclusive, a UTC moment (2011-03-15T00:00:00Z)
    until: str | None = None  # exclusive, a UTC moment
    section: str | None = None  # the section's name as the site writes it
    source: str | None = None  # an outlet named in the attribution (SANA, Reuters)
    author: str | None = None  # an author's or translator's name

    @classmethod
    def parse(
        cls, *, since: str | None = None, until: str | None = None, **others: str | None
    ) -> ArticleFilter:
        """The filter a user typed, its dates read; a bad date is a ValueError with a one-line reason."""
        return cls(
            since=None if since is None else date_bound("--since", since, end=False),
            until=None if until is None else date_bound("--until", until, end=True),
            **others,
        )

    def where(self, alias: str = "a") -> tuple[str, list[Any]]:
        """The SQL condition on articles (named `alias`) and its parameters; "1" when nothing is filtered."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.edition is not None:
            clauses.append(f"{alias}.edition = ?")
            params.append(self.edition)
        if self.since is not None:
            clauses.append(f"{alias}.published >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{alias}.published < ?")
            params.append(self.until)
        if self.section is not None:
            # A section by name as printed, or by its number in /news/articles/N.
            clauses.append(f"({alias}.section = ? COLLATE NOCASE OR {alias}.section_id = ?)")
            params += [self.section.strip(), int(self.section) if self.section.strip().isdigit() else None]
        if self.source is not None:
            clauses.append(f"{alias}.source = ? COLLATE NOCASE")
            params.append(self.source.strip())
        if self.author is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM article_people ap JOIN people p ON p.id = ap.person_id"
                f" WHERE ap.edition = {alias}.edition AND ap.article_id = {alias}.article_id"
                " AND ap.role = 'author' AND p.name = ? COLLATE NOCASE)"
            )
            params.append(self.author.strip())
        return " AND ".join(clauses) or "1", params


def date_bound(option: str, text: str, *, end: bool) -> str:
    """A date bound as stored-time text; --until DAY takes in the whole of that day."""
    text = text.strip()
    try:
        if _DAY.fullmatch(text):
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return f"{day.isoformat()}T00:00:00Z"
        if _MOMENT.fullmatch(text):
            moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
            if end:
                moment += timedelta(seconds=1)  # the moment itself is included
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError):
        pass
    raise ValueError(f"{option} {text!r} is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)")
