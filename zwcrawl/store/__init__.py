"""The SQLite archive: schema migrations, article writes, capture records and search."""

from __future__ import annotations

from zwcrawl.store.archive import SaveResult, Store

__all__ = ["SaveResult", "Store"]
