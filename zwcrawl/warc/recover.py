"""Crash recovery: the partial tail a killed crawl left in a WARC file, set aside so every record is whole."""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from zwcrawl.warc._fs import NotRegularFile, open_regular, sync_dir
from zwcrawl.warc.index import index_path, index_warc
from zwcrawl.warc.reader import scan_warc
from zwcrawl.warc.writer import OPEN_SUFFIX

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryReport:
    """What recovery kept of a WARC file and what it moved aside (None when the file was whole)."""

    path: Path
    kept_records: int
    kept_bytes: int
    set_aside_bytes: int = 0
    set_aside_path: Path | None = None
    problem: str | None = None  # why the tail was set aside
    whole_records_set_aside: int = 0  # complete records found after the damage, moved aside with it


def recover_warc(path: Path, quarantine_dir: Path) -> RecoveryReport:
    """Keep a file up to its last whole record before any damage; move the rest into quarantine_dir."""
    path = Path(path)
    kept_records, kept_bytes, damage, problem, whole_after = 0, 0, None, None, 0
    for scanned in scan_warc(path, digests=False):
        if damage is not None:
            # Possible after a power loss (blocks written out of order after the last fsync): set aside too.
            whole_after += scanned.sound
        elif scanned.sound:
            kept_records += 1
            kept_bytes = scanned.offset + scanned.length
        else:
            damage, problem = scanned.offset, "; ".join(scanned.problems)
    if damage is None:
        return RecoveryReport(path, kept_records, kept_bytes)
    quarantine_dir = Path(quarantine_dir)
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    aside = _free_name(quarantine_dir, f"{path.name.removesuffix(OPEN_SUFFIX)}.{damage}.partial")
    # Copy and sync the tail before cutting it off: a crash during recovery loses nothing either.
    # O_NOFOLLOW on every open: a symlink swapped in is refused, never followed to a file elsewhere.
    with open(open_regular(path, os.O_RDWR, follow=False), "r+b") as src:
        size = os.fstat(src.fileno()).st_size
        with open(aside, "xb") as dst:
            src.seek(damage)
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        sync_dir(quarantine_dir)
        src.truncate(damage)
        src.flush()
        os.fsync(src.fileno())
    if index_path(path).exists():
        index_warc(path)
    return RecoveryReport(path, kept_records, kept_bytes, size - damage, aside, problem, whole_after)


def recover_archive(
    warc_dir: Path, quarantine_dir: Path, before_closing: Callable[[Path], None] | None = None
) -> list[RecoveryReport]:
    """Recover, rename and index every WARC file a zwcrawl writer left open; leave every other file alone.

    `before_closing(path)` may cut more off a recovered file before it is renamed and indexed: once indexed,
    a file counts as whole, so a repair made after that would be skipped for good by a run killed between.
    """
    reports = []
    warc_dir = Path(warc_dir)
    for path in sorted(warc_dir.glob("*.warc.gz" + OPEN_SUFFIX)):
        final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
        why = _not_ours(path) or (f"{final.name} exists too" if os.path.lexists(final) else None)
        if why:
            _left_alone(path, why)
            continue
        report = recover_warc(path, quarantine_dir)
        if before_closing is not None:
            before_closing(path)
        os.rename(path, final)
        sync_dir(warc_dir)
        index_warc(final)
        reports.append(_renamed(report, final))
    for path in sorted(warc_dir.glob("*.warc.gz")):
        # WarcWriter writes a file's index only after the file is complete and synced, so an indexed
        # file is whole; skipping it keeps resuming fast on a large archive, and leaves old damage to verify.
        if index_path(path).exists():
            continue
        # Unindexed and unmarked: a file written before the `.open` marker (or killed between its rename
        # and its index) is ours if its first record is the warcinfo our writer names it in; else not ours.
        why = _not_ours(path) or _not_written_by_zwcrawl(path)
        if why:
            _left_alone(path, why)
            continue
        reports.append(recover_warc(path, quarantine_dir))
        if before_closing is not None:
            before_closing(path)
        index_warc(path)
    return reports


def _not_ours(path: Path) -> str | None:
    """Why recovery may not touch a path (a symlink, not a regular file, linked elsewhere), or None."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_nlink != 1:
        return "has other names (hard links)"
    return None


def _not_written_by_zwcrawl(path: Path) -> str | None:
    """None when the file opens with the warcinfo record a zwcrawl writer gives it, else why not."""
    try:
        with open(open_regular(path, follow=False), "rb") as fh:
            record = next(iter(ArchiveIterator(fh)), None)
            if record is None or record.rec_type != "warcinfo":
                return "does not begin with a warcinfo record"
            info = record.content_stream().read(1 << 16).decode("utf-8", "replace")
            named = record.rec_headers.get_header("WARC-Filename")
    except (NotRegularFile, OSError, ValueError, EOFError) as exc:
        return f"cannot be read as a WARC file ({exc})"
    except Exception as exc:  # noqa: BLE001 - any parse failure of a foreign file means "not ours"
        return f"cannot be read as a WARC file ({type(exc).__name__})"
    if named != path.name or "software: zwcrawl/" not in info:
        return "was not written by zwcrawl under this name"
    return None


def _left_alone(path: Path, why: str) -> None:
    logger.warning("crash recovery: left %s untouched: %s, so not a file a crawl left open", path.name, why)


def _renamed(report: RecoveryReport, final: Path) -> RecoveryReport:
    return RecoveryReport(
        final, report.kept_records, report.kept_bytes, report.set_aside_bytes, report.set_aside_path,
        report.problem, report.whole_records_set_aside,
    )  # fmt: skip


def _free_name(directory: Path, name: str) -> Path:
    candidate, n = directory / name, 1
    while candidate.exists():
        candidate, n = directory / f"{name}.{n}", n + 1
    return candidate
