"""The one check that a path named in a row or a setting stays inside the archive directory."""

from __future__ import annotations

import posixpath


def inside_archive(name: str | None) -> str | None:
    """`name` as a normalised path relative to the archive dir, or None when it is empty or would leave it."""
    if not name or "\\" in name or "\x00" in name:
        return None  # a backslash or NUL never names a file zwcrawl wrote
    normal = posixpath.normpath(name)
    if normal in (".", "..") or normal.startswith(("/", "../")):
        return None
    return normal
