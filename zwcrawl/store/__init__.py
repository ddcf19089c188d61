"""The SQLite archive: schema migrations, article writes, capture records and search."""

from __future__ import annotations

from zwcrawl.store.archive import (
    DB_NAME,
    SaveResult,
    Store,
    leaving_no_sidecars,
    read_only_uri,
    response_facts,
)
from zwcrawl.store.filters import ArticleFilter
from zwcrawl.store.query import SearchQueryError

__all__ = [
    "DB_NAME",
    "ArticleFilter",
    "SaveResult",
    "SearchQueryError",
    "Store",
    "leaving_no_sidecars",
    "read_only_uri",
    "response_facts",
]
