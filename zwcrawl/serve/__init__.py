"""`zwcrawl serve`: the archive in Datasette, read-only, with zwcrawl's metadata, search and links."""

from __future__ import annotations

from zwcrawl.serve.app import archive_datasette, serve_archive

__all__ = ["archive_datasette", "serve_archive"]
