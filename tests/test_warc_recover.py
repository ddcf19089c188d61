"""Crash recovery: whatever point a write was cut at, the file keeps its whole records and nothing else."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from zwcrawl.warc import (
    Exchange,
    WarcFormatError,
    WarcWriter,
    index_path,
    iter_records,
    recover_archive,
    recover_warc,
    scan_warc,
)

WARCIO = Path(sys.executable).parent / "warcio"


def _exchange(n: int) -> Exchange:
    body = gzip.compress(f"<html><p>article {n}</p>{'x' * (50 * n)}</html>".encode(), mtime=0)
    return Exchange(
        url=f"http://127.0.0.1:8001/news/article/{n}",
        method="GET",
        request_headers=[("Host", "127.0.0.1:8001")],
        request_body=b"",
        status=200,
        reason="OK",
        response_headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
        body=body,
        fetched_at=datetime(2026, 11, 25, 20, 15, n, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[bytes, list[int]]:
    """A WARC file's bytes and the offsets where its records end (member boundaries)."""
    archive = tmp_path_factory.mktemp("archive")
    with WarcWriter(archive, fsync=False) as writer:
        for n in range(4):
            _, response = writer.write_exchange(_exchange(n))
            writer.write_metadata(response.url, response.record_id, {"n": n})
        (path,) = writer.close()
    ends = [r.offset + r.length for r in iter_records(path)]
    return path.read_bytes(), ends


def _cut_points(size: int, ends: list[int]) -> list[int]:
    points = set(range(0, size, 41))
    for end in [0, *ends]:
        points.update(p for p in (end - 1, end, end + 1, end + 10) if 0 <= p <= size)
    return sorted(points)


def _warcio_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(WARCIO), "check", str(path)], capture_output=True, text=True, timeout=60)


def test_every_cut_point_recovers_to_the_last_whole_record(tmp_path, written):
    data, ends = written
    for cut in _cut_points(len(data), ends):
        path = tmp_path / f"cut-{cut}.warc.gz"
        path.write_bytes(data[:cut])
        quarantine = tmp_path / "quarantine"
        report = recover_warc(path, quarantine)
        kept = max([0, *(e for e in ends if e <= cut)])
        assert report.kept_bytes == kept, cut
        assert report.kept_records == sum(1 for e in ends if e <= cut), cut
        assert path.read_bytes() == data[:kept], cut
        assert report.set_aside_bytes == cut - kept, cut
        if cut == kept:
            assert report.set_aside_path is None
        else:
            assert report.set_aside_path.parent == quarantine
            assert report.set_aside_path.name == f"{path.name}.{kept}.partial"
            assert report.set_aside_path.read_bytes() == data[kept:cut]
            assert report.problem
        assert all(s.sound for s in scan_warc(path)), cut


def test_recovered_files_pass_warcio_check(tmp_path, written):
    data, ends = written
    for cut in (ends[2] + 5, (ends[3] + ends[4]) // 2, len(data) - 1):
        path = tmp_path / f"cut-{cut}.warc.gz"
        path.write_bytes(data[:cut])
        recover_warc(path, tmp_path / "quarantine")
        result = _warcio_check(path)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_whole_file_is_left_byte_identical(tmp_path, written):
    data, ends = written
    path = tmp_path / "whole.warc.gz"
    path.write_bytes(data)
    before = path.stat()
    report = recover_warc(path, tmp_path / "quarantine")
    assert (report.kept_records, report.kept_bytes, report.set_aside_bytes) == (len(ends), len(data), 0)
    assert path.read_bytes() == data
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert not (tmp_path / "quarantine").exists()


@pytest.mark.parametrize(
    ("tail", "whole_after"),
    [
        (b"\0" * 4096, 0),  # a power loss can leave zero-filled blocks at the end of a file
        (b"\x1f\x8b\x08\0\0\0\0\0\x02\x03garbage", 0),  # a gzip header and then nothing sensible
        ("half", 0),  # the first half of a member
        ("half+whole", 1),  # out-of-order blocks after the last fsync: a whole member after a broken one
    ],
)
def test_damaged_tails_are_set_aside(tmp_path, written, tail, whole_after):
    data, ends = written
    last_member = data[ends[-2] :]
    if tail == "half":
        tail = last_member[: len(last_member) // 2]
    elif tail == "half+whole":
        tail = last_member[: len(last_member) // 2] + last_member
    path = tmp_path / "tailed.warc.gz"
    path.write_bytes(data + tail)
    report = recover_warc(path, tmp_path / "quarantine")
    assert path.read_bytes() == data
    assert report.set_aside_bytes == len(tail)
    assert report.set_aside_path.read_bytes() == tail
    assert report.whole_records_set_aside == whole_after


def test_a_second_recovery_never_overwrites_the_first_quarantine(tmp_path, written):
    data, ends = written
    path = tmp_path / "twice.warc.gz"
    for _ in range(2):
        path.write_bytes(data[: ends[-1] - 3])
        recover_warc(path, tmp_path / "quarantine")
    assert len(list((tmp_path / "quarantine").iterdir())) == 2


def test_iter_records_refuses_a_damaged_file(tmp_path, written):
    data, ends = written
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(data[: ends[3] + 20])
    with pytest.raises(WarcFormatError, match=f"offset {ends[3]}"):
        list(iter_records(path))


def _written_name(data: bytes) -> str:
    """The file name the writer put in the warcinfo record at the head of `data`."""
    return next(iter(ArchiveIterator(BytesIO(data)))).rec_headers.get_header("WARC-Filename")


def test_recover_archive_repairs_files_left_open_only(tmp_path, written):
    data, ends = written
    warc = tmp_path / "warc"
    warc.mkdir()
    name = _written_name(data)
    closed, left_open = warc / "a-closed.warc.gz", warc / f"{name}.open"
    # A closed file has its index; damage found in it later is for verify to report, not for a crawl to cut.
    closed.write_bytes(data + b"\0" * 10)
    index_path(closed).write_text("")
    left_open.write_bytes(data[: ends[-1] - 7])
    reports = recover_archive(warc, tmp_path / "quarantine")
    final = warc / name
    assert [r.path for r in reports] == [final]
    assert not left_open.exists()  # renamed: the file is closed now
    assert closed.read_bytes() == data + b"\0" * 10
    assert final.read_bytes() == data[: ends[-2]]
    (aside,) = (tmp_path / "quarantine").iterdir()
    assert aside.read_bytes() == data[ends[-2] : ends[-1] - 7]  # the torn tail, copied before the cut
    assert index_path(final).exists()
    assert recover_archive(warc, tmp_path / "quarantine") == []  # now indexed, it counts as closed


def test_a_torn_file_from_before_the_open_marker_is_still_recovered(tmp_path, written):
    # Archives written before the `.open` marker: an unindexed file whose warcinfo names it is ours.
    data, ends = written
    warc = tmp_path / "warc"
    warc.mkdir()
    legacy = warc / _written_name(data)
    legacy.write_bytes(data[: ends[-1] - 7])
    (report,) = recover_archive(warc, tmp_path / "quarantine")
    assert report.path == legacy and report.set_aside_bytes == ends[-1] - 7 - ends[-2]
    assert legacy.read_bytes() == data[: ends[-2]]
    assert index_path(legacy).exists()


def test_files_zwcrawl_did_not_leave_open_are_left_untouched(tmp_path, written, caplog):
    data, ends = written
    warc = tmp_path / "warc"
    warc.mkdir()
    elsewhere = tmp_path / "elsewhere.warc.gz"
    elsewhere.write_bytes(data[: ends[-1] - 7])  # torn, and not in the archive
    (warc / "linked.warc.gz").symlink_to(elsewhere)
    (warc / "linked-open.warc.gz.open").symlink_to(elsewhere)
    # Another tool's WARC: one gzip stream for the whole file, torn at the end.
    members = [data[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    foreign_bytes = gzip.compress(b"".join(gzip.decompress(m) for m in members))
    foreign = warc / "other-tool.warc.gz"
    foreign.write_bytes(foreign_bytes[:-9])
    renamed = warc / "renamed.warc.gz"  # a zwcrawl file under a name it was not written under
    renamed.write_bytes(data[: ends[-1] - 7])
    os.mkfifo(warc / "pipe.warc.gz")
    os.mkfifo(warc / "pipe-open.warc.gz.open")
    before = {p.name: (p.lstat().st_mode, p.read_bytes() if p.is_file() else None) for p in warc.iterdir()}
    with caplog.at_level("WARNING"):
        assert recover_archive(warc, tmp_path / "quarantine") == []
    after = {p.name: (p.lstat().st_mode, p.read_bytes() if p.is_file() else None) for p in warc.iterdir()}
    assert after == before
    assert elsewhere.read_bytes() == data[: ends[-1] - 7]
    assert not (tmp_path / "quarantine").exists()
    untouched = [r.getMessage() for r in caplog.records if "untouched" in r.getMessage()]
    assert len(untouched) == len(before)  # each reported once
    assert any("linked.warc.gz untouched: a symbolic link" in m for m in untouched)
    assert any("pipe.warc.gz untouched: not a regular file" in m for m in untouched)


_KILLED_WRITER = textwrap.dedent(
    """
    import gzip, json, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from zwcrawl.warc import Exchange, WarcWriter

    writer = WarcWriter(Path(sys.argv[1]), max_size=200_000)
    n = 0
    while True:
        body = gzip.compress(("<p>%d</p>" % n).encode() + bytes(range(256)) * 40)
        ex = Exchange("http://127.0.0.1:8001/news/article/%d" % n, "GET", [("Host", "127.0.0.1")], b"", 200,
                      "OK", [("Content-Encoding", "gzip")], body, datetime.now(UTC))
        request, response = writer.write_exchange(ex)
        meta = writer.write_metadata(response.url, response.record_id, {"n": n})
        for loc in (request, response, meta):
            print(json.dumps([loc.warc_file, loc.offset, loc.length, loc.record_id]), flush=True)
        n += 1
    """
)


@pytest.mark.parametrize("after", [1, 40, 150])
def test_sigkill_mid_write_loses_nothing_that_was_returned(tmp_path, after):
    archive = tmp_path / "archive"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(archive)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    returned = []
    try:
        for line in proc.stdout:
            returned.append(json.loads(line))
            if len(returned) >= after * 3:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    recover_archive(archive / "warc", archive / "quarantine")
    present = {}
    for path in (archive / "warc").glob("*.warc.gz"):
        for loc in iter_records(path, f"warc/{path.name}"):
            present[(loc.warc_file, loc.offset)] = (loc.length, loc.record_id)
        assert _warcio_check(path).returncode == 0
    for warc_file, offset, length, record_id in returned:
        assert present[(warc_file, offset)] == (length, record_id)
