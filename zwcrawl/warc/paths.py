"""The one check that a path named in a row or a setting stays inside the archive directory."""

from __future__ import annotations

import posixpath
from pathlib import Path


def inside_archive(name: str | None) -> str | None:
    """`name` as a normalised path relative to the archive dir, or None when it is empty or would leave it."""
    if not name or "\\" in name or "\x00" in name:
        return None  # a backslash or NUL never names a file zwcrawl wrote
    normal = posixpath.normpath(name)
    if normal in (".", "..") or normal.startswith(("/", "../")):
        return None
    return normal


class OutsideLink(ValueError):
    """A file in warc/ is a symbolic link leading out of the archive; the message is one line for the user."""


def links_leaving(archive_dir: Path) -> list[Path]:
    """The entries under ARCHIVE/warc/ that are symbolic links (or inside linked folders) leading outside it.

    zwcrawl appends to, truncates and quarantines the files there: a link planted by whoever prepared the
    archive would aim those writes (and verify's or an export's reads) at any file the user can reach."""
    root = Path(archive_dir).resolve()
    warc_dir = Path(archive_dir) / "warc"
    if not warc_dir.exists():
        return []
    leaving = []
    for entry in [warc_dir, *warc_dir.rglob("*")]:
        if entry.is_symlink() and not entry.resolve().is_relative_to(root):
            leaving.append(entry)
    return leaving


def refuse_links_leaving(archive_dir: Path) -> None:
    """Raise OutsideLink naming the first link in warc/ that leads outside the archive."""
    if leaving := links_leaving(archive_dir):
        raise OutsideLink(
            f"{leaving[0]} is a symbolic link to {leaving[0].resolve()}, outside the archive: refused "
            "(zwcrawl only reads and writes files inside the archive)"
        )
