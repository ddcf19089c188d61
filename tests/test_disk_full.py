"""A full disk (a small tmpfs filling at different points: the command stops, saying so); hostile records."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import site_flags, zwcrawl
from test_reliability import EXPECTED

from zwcrawl.diskfull import is_disk_full
from zwcrawl.warc import Exchange, WarcWriter, index_path
from zwcrawl.warc.reader import scan_warc

# A crawl of the mirror writes ~420 KB (database ~240 KB, WARC ~110 KB, CDXJ 2x10 KB, log ~5 KB), so these
# sizes fill the disk while the database is made, at the first WARC records, mid-crawl and near the end.
SIZES_KB = [220, 280, 360]


def _mount(directory: Path, size_kb: int, *, remount: bool = False) -> subprocess.CompletedProcess[str]:
    options = f"remount,size={size_kb}k" if remount else f"size={size_kb}k"
    return subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory)], capture_output=True, text=True
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Mount a tmpfs of `size_kb` KB in tmp_path (or at `at`), unmounted afterwards; skips if not allowed."""
    mounted: list[Path] = []

    def mount(size_kb: int, at: Path | None = None) -> Path:
        directory = at or tmp_path / f"disk{len(mounted)}"
        directory.mkdir(parents=True)
        run = _mount(directory, size_kb)
        if run.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (tests run as root on CI): {run.stderr.strip()}")
        mounted.append(directory)
        return directory

    yield mount
    for directory in mounted:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True)


def grow(disk: Path, size_kb: int) -> None:
    """Free space the way an operator would: make the disk bigger."""
    run = _mount(disk, size_kb, remount=True)
    assert run.returncode == 0, run.stderr


def rows(db: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


def test_a_full_disk_stops_the_crawl_with_one_line_and_the_next_crawl_resumes(small_disk, mirror):
    seen = set()
    for size_kb in SIZES_KB:
        disk = small_disk(size_kb)
        seen.add(fill_then_resume(disk / "archive", disk, mirror))
    assert "the database" in seen, seen  # its WAL grows fastest; the WARC writer on its own is tested below


def test_a_full_disk_under_the_log_stops_the_crawl_at_a_log_line(small_disk, mirror, tmp_path):
    archive = tmp_path / "archive"
    disk = small_disk(16, at=archive / "logs")  # the log alone on a disk of its own
    # At DEBUG a line per request and item: the 16 KB fill some pages into the crawl, not before it.
    assert fill_then_resume(archive, disk, mirror, "-s", "LOG_LEVEL=DEBUG") == "a log line"


def test_a_full_disk_under_the_warc_files_stops_the_crawl_at_the_cdxj_index(
    small_disk, crawled, mirror, tmp_path
):
    # The same crawl writes a WARC file of the same size, give or take a few bytes (record ids, dates): a disk
    # one page larger holds it, but not its index (~10 KB, three pages), written when the file closes.
    (warc,) = (crawled / "warc").glob("*.warc.gz")
    pages = -(-warc.stat().st_size // 4096) + 1
    archive = tmp_path / "archive"
    disk = small_disk(pages * 4, at=archive / "warc")
    assert fill_then_resume(archive, disk, mirror) == "the CDXJ index"


def fill_then_resume(archive: Path, disk: Path, mirror, *extra: str) -> str:
    """Crawl onto the small disk until it fills, grow it, crawl again; returns what the first crawl said."""
    full = zwcrawl("crawl", "--archive", archive, *site_flags(mirror), *extra, timeout=60)
    assert full.returncode == 1, full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1, full.stderr
    assert lines[0].startswith("zwcrawl: the disk is full: could not write "), lines[0]
    assert "Traceback" not in full.stderr + full.stdout

    grow(disk, 8192)
    resumed = zwcrawl("crawl", "--archive", archive, *site_flags(mirror), timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    db = archive / "zwcrawl.db"
    statuses = [status for (status,) in rows(db, "select status from crawls order by id")]
    assert statuses[-1] == "finished"
    assert all(status == "interrupted" for status in statuses[:-1]), statuses
    archived = rows(db, "select edition, article_id from articles")
    assert sorted(archived) == sorted(EXPECTED)  # every article, each once
    check = zwcrawl("verify", "--archive", archive)
    assert check.returncode == 0, check.stdout + check.stderr
    # Whatever was cut short was set aside, never left under a final name.
    assert not [p for p in (archive / "warc").iterdir() if p.name.endswith((".tmp", ".open"))]
    assert all(index_path(p).is_file() for p in (archive / "warc").glob("*.warc.gz"))
    return lines[0].split("could not write ", 1)[1].split(" (", 1)[0]


def test_a_warc_record_the_full_disk_cut_short_is_cut_off_and_the_file_stays_whole(small_disk):
    """The writer itself on a 64 KB disk: the record that did not fit leaves no byte behind."""
    disk = small_disk(64)
    writer = WarcWriter(disk, fsync=True)
    body = os.urandom(9000)  # incompressible: the disk fills after a few records
    written = 0
    with pytest.raises(OSError) as failure:
        for n in range(100):
            writer.write_exchange(
                Exchange(
                    url=f"http://127.0.0.1/news/article/{n}/",
                    method="GET",
                    request_headers=[],
                    request_body=b"",
                    status=200,
                    reason="OK",
                    response_headers=[],
                    body=body,
                    fetched_at=datetime.now(UTC),
                )  # fmt: skip
            )
            written += 1
    assert is_disk_full(failure.value)
    assert written >= 2
    [warc] = writer.files
    records = list(scan_warc(warc))
    assert all(r.sound for r in records), [r.problems for r in records]
    # warcinfo, then a request and a response per exchange that fitted, and nothing of the one that did not.
    assert len(records) == 1 + 2 * written


def fill(disk: Path, leave_kb: int) -> Path:
    """A filler file taking all but leave_kb of the disk; deleting it frees the space again."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(free - leave_kb * 1024, 0))
    return filler


def integrity(db: Path) -> str:
    return rows(db, "pragma integrity_check")[0][0]


@pytest.fixture
def crawled(tmp_path_factory, mirror) -> Path:
    """A finished crawl of the mirror (on the ordinary disk)."""
    archive = tmp_path_factory.mktemp("crawled") / "archive"
    run = zwcrawl("crawl", "--archive", archive, *site_flags(mirror))
    assert run.returncode == 0, run.stderr
    return archive


def test_a_full_disk_stops_rebuild_and_leaves_the_database_as_it_was(small_disk, crawled):
    disk = small_disk(4096)
    archive = disk / "archive"
    subprocess.run(["cp", "-a", str(crawled), str(archive)], check=True)
    before = rows(
        archive / "zwcrawl.db", "select edition, article_id, headline, body from articles order by 1, 2"
    )
    filler = fill(disk, 60)
    run = zwcrawl("rebuild", "--archive", archive)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.startswith("zwcrawl: the disk is full"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert integrity(archive / "zwcrawl.db") == "ok"
    assert (
        rows(archive / "zwcrawl.db", "select edition, article_id, headline, body from articles order by 1, 2")
        == before
    )
    assert not list(archive.glob("zwcrawl.db.rebuild-*"))  # no half database left to take the space
    filler.unlink()
    again = zwcrawl("rebuild", "--archive", archive)
    assert again.returncode == 0, again.stderr
    assert (
        rows(archive / "zwcrawl.db", "select edition, article_id, headline, body from articles order by 1, 2")
        == before
    )
    check = zwcrawl("verify", "--archive", archive)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_full_disk_stops_import_and_the_next_import_completes_it(small_disk, crawled, mirror):
    disk = small_disk(4096)
    archive = disk / "archive"
    warcs = sorted((crawled / "warc").glob("*.warc.gz"))
    expected = rows(
        crawled / "zwcrawl.db", "select edition, article_id, headline, body from articles order by 1, 2"
    )
    zwcrawl(
        "import", "--archive", archive, *site_flags(mirror), *warcs
    )  # make the database, then take it away again
    (archive / "zwcrawl.db").unlink()
    for path in (archive / "warc").iterdir():
        path.unlink()
    filler = fill(disk, 120)
    run = zwcrawl("import", "--archive", archive, *site_flags(mirror), *warcs)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.startswith("zwcrawl: the disk is full"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    if (archive / "zwcrawl.db").exists():
        assert integrity(archive / "zwcrawl.db") == "ok"
    filler.unlink()
    again = zwcrawl("import", "--archive", archive, *site_flags(mirror), *warcs)
    assert again.returncode in (0, 3), again.stderr
    assert (
        rows(archive / "zwcrawl.db", "select edition, article_id, headline, body from articles order by 1, 2")
        == expected
    )
    check = zwcrawl("verify", "--archive", archive)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_full_disk_stops_the_wacz_export_leaving_no_file_under_its_name(small_disk, crawled):
    disk = small_disk(64)  # the archive's records alone are ~110 KB
    run = zwcrawl("export", "wacz", "--archive", crawled, "--output", disk / "out.wacz")
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.startswith("zwcrawl: the disk is full"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert list(disk.iterdir()) == []  # neither out.wacz nor its partial or working files
    grow(disk, 4096)
    again = zwcrawl("export", "wacz", "--archive", crawled, "--output", disk / "out.wacz")
    assert again.returncode == 0, again.stderr
    assert (disk / "out.wacz").is_file()


def _gzip_member(*parts: bytes, repeat: tuple[bytes, int] = (b"", 0)) -> bytes:
    """One gzip member of parts[0], then `repeat` bytes repeated, then the rest, compressed as it goes."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [z.compress(parts[0])]
    chunk, times = repeat
    out += [z.compress(chunk) for _ in range(times)]
    out += [z.compress(p) for p in parts[1:]] + [z.flush()]
    return b"".join(out)


def test_records_with_a_huge_header_line_or_content_length_are_reported_not_read(crawled, tmp_path):
    archive = tmp_path / "archive"
    subprocess.run(["cp", "-a", str(crawled), str(archive)], check=True)
    head = (
        b"WARC/1.1\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:%d>\r\n"
        b"WARC-Date: 2020-01-01T00:00:00Z\r\n"
    )
    terabytes = _gzip_member(head % 1 + b"Content-Length: 10000000000000\r\n\r\nabc\r\n\r\n")
    # A 64 MB header line, compressed to a few hundred KB: a reader holding it would hold all of it.
    long_line = _gzip_member(
        head % 2 + b"X-Long: ", b"\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n", repeat=(b"a" * 65536, 1024)
    )
    [warc] = sorted((archive / "warc").glob("*.warc.gz"))
    with open(warc, "ab") as fh:
        fh.write(terabytes + long_line)
    check = zwcrawl("verify", "--archive", archive)
    assert check.returncode == 1
    assert "block shorter than its Content-Length (7 of 10000000000000 bytes)" in check.stdout
    assert "record header too long" in check.stdout
    rebuilt = zwcrawl("rebuild", "--archive", archive)
    assert rebuilt.returncode == 1, rebuilt.stderr
    assert "block shorter than its Content-Length (7 of 10000000000000 bytes); left out" in rebuilt.stdout
    assert "record header too long; left out" in rebuilt.stdout
    assert rows(archive / "zwcrawl.db", "select count(*) from articles") == [(len(EXPECTED),)]
    imported = zwcrawl("import", "--archive", tmp_path / "other", "--site", "en=http://127.0.0.1:1", warc)
    assert imported.returncode == 1, imported.stderr
    assert "record header too long" in imported.stdout and "2 bad" in imported.stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_full_disk_stops_an_article_export_leaving_no_file_under_its_name(fmt, small_disk, crawled):
    disk = small_disk(8)  # the articles take ~20 KB in either form
    output = disk / f"articles.{fmt}"
    run = zwcrawl("export", fmt, "--archive", crawled, "--output", output)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.startswith("zwcrawl: the disk is full"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert list(disk.iterdir()) == []  # neither the file nor its temporary
    grow(disk, 4096)
    again = zwcrawl("export", fmt, "--archive", crawled, "--output", output)
    assert again.returncode == 0, again.stderr
    assert output.stat().st_size > 8192
