"""One crawl at a time per archive: an advisory lock file that dies with its process."""

from __future__ import annotations

import fcntl
import os
import re
import stat
from pathlib import Path

# Locks this process holds, by path: flock is per open file, so a second fd would lock us out ourselves.
_HELD: dict[Path, int] = {}
# What a lock file of ours may hold: nothing yet, or the pid of the crawl that last held it.
_OURS = re.compile(rb"\s*\d*\s*")


class ArchiveBusy(Exception):
    """Another process is crawling into this archive."""


class LockRefused(Exception):
    """`ARCHIVE/.lock` is not a lock file zwcrawl may use (a symlink, a device, someone's data)."""


class ArchiveLock:
    """An exclusive flock on `ARCHIVE/.lock`; the kernel drops it if the process is killed."""

    def __init__(self, archive_dir: Path):
        self.path = Path(archive_dir) / ".lock"
        self._fd: int | None = None

    def acquire(self) -> ArchiveLock:
        """Take the lock or raise ArchiveBusy naming its holder (LockRefused when .lock is not ours)."""
        key = self.path.resolve()
        if key in _HELD:
            self._fd = _HELD[key]
            return self
        # O_NOFOLLOW: a symlink planted at .lock must not make us write a pid into the file it points at.
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if self.path.is_symlink():
                raise LockRefused(
                    f"{self.path} is a symbolic link, not a zwcrawl lock file; remove it"
                ) from None
            raise LockRefused(f"cannot open the lock file {self.path}: {exc.strerror or exc}") from None
        try:
            self._check_ours(fd)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise ArchiveBusy(
                f"another zwcrawl crawl (pid {holder}) is writing to {self.path.parent}; "
                "wait for it to finish"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = _HELD[key] = fd
        return self

    def _check_ours(self, fd: int) -> None:
        """Refuse a .lock that is not a small regular file holding a pid: truncating it would destroy data."""
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LockRefused(f"{self.path} is not a regular file, not a zwcrawl lock file; remove it")
        if info.st_nlink != 1:
            raise LockRefused(f"{self.path} has other names (hard links), not a zwcrawl lock file; remove it")
        if not _OURS.fullmatch(os.pread(fd, 64, 0)) or info.st_size > 32:
            raise LockRefused(f"{self.path} holds something other than a pid, not a zwcrawl lock file")

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


def live_holder(archive_dir: Path) -> int | None:
    """The pid last written into `ARCHIVE/.lock` if that process still runs (a crawl writing); never locks."""
    # Asked without taking the lock, even shared: a crawl starting that instant must not find it busy.
    try:
        fd = os.open(Path(archive_dir) / ".lock", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        text = os.pread(fd, 32, 0)
    finally:
        os.close(fd)
    if not text.strip().isdigit():
        return None
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # another user's process: alive
    return pid
