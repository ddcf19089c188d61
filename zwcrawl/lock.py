"""One crawl at a time per archive: an advisory lock file that dies with its process."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

# Locks this process holds, by path: flock is per open file, so a second fd would lock us out ourselves.
_HELD: dict[Path, int] = {}


class ArchiveBusy(Exception):
    """Another process is crawling into this archive."""


class ArchiveLock:
    """An exclusive flock on `ARCHIVE/.lock`; the kernel drops it if the process is killed."""

    def __init__(self, archive_dir: Path):
        self.path = Path(archive_dir) / ".lock"
        self._fd: int | None = None

    def acquire(self) -> ArchiveLock:
        """Take the lock or raise ArchiveBusy naming the process that holds it."""
        key = self.path.resolve()
        if key in _HELD:
            self._fd = _HELD[key]
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise ArchiveBusy(
                f"another zwcrawl crawl (pid {holder}) is writing to {self.path.parent}; "
                "wait for it to finish"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = _HELD[key] = fd
        return self

    def release(self) -> None:
        """Let the next crawl in."""
        if self._fd is not None and _HELD.pop(self.path.resolve(), None) is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None
