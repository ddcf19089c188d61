"""A full disk told apart from other write errors, and the one line a user reads about it."""

from __future__ import annotations

import errno
import logging
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"


class DiskFull(Exception):
    """The disk filled while zwcrawl wrote; the message is one line for the user."""


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether an error (or one it was raised from) is the disk or a quota running out of space."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, DiskFull):
            return True
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error) and (
            getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL or "disk is full" in str(exc)
        ):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def disk_full_message(where: str, path: object) -> str:
    """The line a user reads: the disk is full, and what was being written where."""
    return f"the disk is full: could not write {where} ({path}); free some space and run the command again"


def describe(exc: BaseException) -> str:
    """The user's line for a full-disk error met outside a crawl (rebuild, import, an export)."""
    filename = getattr(exc, "filename", None)
    if filename is not None:
        return disk_full_message("a file", filename)
    if isinstance(exc, sqlite3.Error):
        return disk_full_message("the database", "zwcrawl.db")
    return disk_full_message("a file", "the archive")


@contextmanager
def watching_log_files(on_full: Callable[[str], None]) -> Iterator[None]:
    """Inside: a log line a full disk refuses calls on_full(its file) instead of printing a traceback."""
    # On the class, not on a handler: Scrapy replaces its log handler after the extensions are built, and
    # logs its components before the spider opens; every line of the run must be covered.
    original = logging.FileHandler.handleError

    def handle_error(handler: logging.FileHandler, record: logging.LogRecord) -> None:
        if is_disk_full(sys.exc_info()[1]):
            on_full(handler.baseFilename)
        else:
            original(handler, record)

    logging.FileHandler.handleError = handle_error
    try:
        yield
    finally:
        logging.FileHandler.handleError = original
