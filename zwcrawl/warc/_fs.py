"""Durability helpers shared by the writer and recovery."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def sync_dir(directory: Path) -> None:
    """Make a directory's entries durable: a new file's name survives a power loss only after this."""
    sync_path(directory)


def sync_path(path: Path) -> None:
    """fsync a file or directory by its path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class NotRegularFile(OSError):
    """A path that is a FIFO, a device, a directory or (when not followed) a symbolic link."""


def open_regular(path: Path, flags: int = os.O_RDONLY, *, follow: bool = True) -> int:
    """Open a regular file and return its fd; NotRegularFile for anything else, without blocking on a FIFO."""
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer for ever.
    extra = os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags | extra)
    except OSError as exc:
        if not follow and os.path.islink(path):
            raise NotRegularFile(f"{path} is a symbolic link") from None
        raise exc from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{path} is not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd
