"""Crash recovery: the partial tail a killed crawl left in a WARC file, set aside so every record is whole."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from zwcrawl.warc._fs import sync_dir
from zwcrawl.warc.index import index_path, index_warc
from zwcrawl.warc.reader import scan_warc


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
    size = path.stat().st_size
    quarantine_dir = Path(quarantine_dir)
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    aside = _free_name(quarantine_dir, f"{path.name}.{damage}.partial")
    # Copy and sync the tail before cutting it off: a crash during recovery loses nothing either.
    with open(path, "rb") as src, open(aside, "xb") as dst:
        src.seek(damage)
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    sync_dir(quarantine_dir)
    with open(path, "r+b") as fh:
        fh.truncate(damage)
        fh.flush()
        os.fsync(fh.fileno())
    if index_path(path).exists():
        index_warc(path)
    return RecoveryReport(path, kept_records, kept_bytes, size - damage, aside, problem, whole_after)


def recover_archive(warc_dir: Path, quarantine_dir: Path) -> list[RecoveryReport]:
    """Recover and index every WARC file in a directory that was never closed (it has no per-file index)."""
    reports = []
    for path in sorted(Path(warc_dir).glob("*.warc.gz")):
        # WarcWriter writes a file's index only after the file is complete and synced, so an indexed
        # file is whole; skipping it keeps resuming fast on a large archive, and leaves old damage to verify.
        if index_path(path).exists():
            continue
        reports.append(recover_warc(path, quarantine_dir))
        index_warc(path)
    return reports


def _free_name(directory: Path, name: str) -> Path:
    candidate, n = directory / name, 1
    while candidate.exists():
        candidate, n = directory / f"{name}.{n}", n + 1
    return candidate
