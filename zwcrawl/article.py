"""The article as zwcrawl knows it: one dataclass naming every field once, with where each is stored."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, Literal

# Where a field goes in the archive (each field's `stored` metadata):
#   key      - the article's identity: the articles primary key, repeated in every table about it
#   column   - an editorial column of `articles`: a change in one makes a save "updated"
#   counter  - reader activity: a column of `articles` and of `observations`, never a reason for "updated"
#   people   - rows of `article_people` (the role is the field's `role` metadata)
#   images   - rows of `images`; the first one's URL is also `articles.image_url`
#   comments - rows of `comments`, merged with those seen before
#   page     - about the page, not stored as such (is_article decides whether there is anything to store)
Stored = Literal["key", "column", "counter", "people", "images", "comments", "page"]


def _stored(kind: Stored, default: Any = None, **extra: Any) -> Any:
    metadata = {"stored": kind, **extra}
    if isinstance(default, list):
        return field(default_factory=list, metadata=metadata)
    return field(default=default, metadata=metadata)


def _column() -> Any:
    """An editorial column of `articles`."""
    return _stored("column")


@dataclass
class Comment:
    """A reader's comment as printed under an article."""

    author: str | None = None
    posted: str | None = None  # UTC ISO-8601
    text: str = ""


@dataclass
class Image:
    """One of the article's own images."""

    url: str = ""
    caption: str | None = None


@dataclass
class Article:
    """Every field of one article page, in the order of the archive's JSON (the fixtures' key order)."""

    article_id: int | None = _stored("key")
    edition: str | None = _stored("key")
    url: str = _stored("column", "")  # canonical, on the real origin
    is_article: bool = _stored("page", False)
    headline: str | None = _column()
    kind: str | None = _column()
    section_id: int | None = _column()
    section: str | None = _column()
    published: str | None = _column()
    body: str | None = _column()
    source: str | None = _column()
    authors: list[str] = _stored("people", [], role="author")
    translators: list[str] = _stored("people", [], role="translator")
    dateline: str | None = _column()
    with_agencies: bool | None = _column()
    byline: str | None = _column()
    likes: int | None = _stored("counter")
    dislikes: int | None = _stored("counter")
    comments_count: int | None = _stored("counter")
    comments: list[Comment] = _stored("comments", [])
    images: list[Image] = _stored("images", [])
    # Not a field of the archive: whether a page that is no article reads as the site's "not found" page.
    not_found: bool = field(default=False, compare=False, repr=False, metadata={"stored": None})

    @classmethod
    def names(cls, stored: Stored | None = None) -> tuple[str, ...]:
        """The field names in order, all of them or those stored one way."""
        return _names(cls, stored)

    @classmethod
    def roles(cls) -> dict[str, str]:
        """People fields by role: {"author": "authors", "translator": "translators"}."""
        return {f.metadata["role"]: f.name for f in fields(cls) if f.metadata["stored"] == "people"}

    @classmethod
    def from_dict(cls, data: dict) -> Article:
        """An article from its JSON form (a fixture, a metadata record); unknown keys are an error."""
        unknown = set(data) - set(cls.names())
        if unknown:
            raise ValueError(f"unknown article fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        values["comments"] = [
            c if isinstance(c, Comment) else Comment(**c) for c in data.get("comments") or []
        ]
        values["images"] = [i if isinstance(i, Image) else Image(**i) for i in data.get("images") or []]
        for name in cls.names("people"):
            values[name] = list(data.get(name) or [])
        return cls(**values)

    @property
    def key(self) -> tuple[str, int]:
        """(edition, article_id): the article's identity in the archive."""
        return (str(self.edition), int(self.article_id))  # type: ignore[arg-type]

    def to_dict(self) -> dict:
        """The JSON form: every field in order; a page that is no article gives only url and is_article."""
        if not self.is_article:
            return {"url": self.url, "is_article": False}
        # Built directly: dataclasses.asdict walks and deep-copies every value, recursively (about 4% of the
        # crawl's writer thread went to it). Lists are copied, their comments and images made dicts.
        data = {name: getattr(self, name) for name in self.names()}
        for name in _LIST_FIELDS:
            data[name] = list(data[name])
        for name in _ITEM_FIELDS:
            data[name] = [_plain(item) for item in data[name]]
        return data


@cache
def _names(cls: type[Article], stored: Stored | None) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in fields(cls)
        if f.metadata["stored"] is not None and (stored is None or f.metadata["stored"] == stored)
    )


def _plain(item: Comment | Image) -> dict:
    """A comment or an image as its JSON form: its fields in order."""
    return {name: getattr(item, name) for name in _item_names(type(item))}


@cache
def _item_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


FIELDS = Article.names()
# The list fields of the JSON form: of plain values (the people), and of comments and images.
_LIST_FIELDS = Article.names("people")
_ITEM_FIELDS = Article.names("comments") + Article.names("images")
