"""Standard streams a parent closed (`zwcrawl crawl 2>&-`) stand in as /dev/null, never as an archive file."""

from __future__ import annotations

import io
import os
import sys


def ensure_standard_streams() -> None:
    """Give fds 0, 1 and 2 a target if they are closed, and Python's sys.std* objects to match."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            # A closed fd 2 would be the next file opened (the database, a WARC file): a message written to
            # stderr would then land in the archive. /dev/null takes the slot first.
            null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
        if getattr(sys, name) is None:
            stream = io.TextIOWrapper(
                io.FileIO(fd, mode, closefd=False), encoding="utf-8", errors="backslashreplace",
                line_buffering=fd == 2,
            )  # fmt: skip
            setattr(sys, name, stream)
