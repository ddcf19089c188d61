"""Readers beside a writer: search, verify, the exports and Datasette never fail during a crawl, never see
half a save, and never hold the crawl up; verify checks the state committed when it started, and says so."""

from __future__ import annotations

import os
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import zwcrawl
from warcio.archiveiterator import ArchiveIterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_crawl import generate_site  # noqa: E402  (the benchmarks' site generator, reused)
from bench_readers import crawl_with_readers  # noqa: E402  (the readers the benchmark times)

from zwcrawl.lock import ArchiveLock  # noqa: E402
from zwcrawl.store import Store  # noqa: E402
from zwcrawl.verify import verify_archive  # noqa: E402
from zwcrawl.warc import Exchange, WarcWriter, crawl_warcinfo  # noqa: E402

# Enough articles that the crawl runs ~20 s on a quiet machine, so every reader answers many times.
COUNTS = {"en": 1000, "ar": 1000}
# A stall this long would be a reader blocking the crawl (a write lock waits up to the 30 s busy timeout), not
# a busy machine: the longest gap between two requests, alone / with the readers, was 0.4 s / 2.3 s at load 6
# and 1.4 s / 4.5 s at load 12 to 26 (benchmarks/bench_readers.py).
LONGEST_STALL = 10.0


def test_readers_beside_a_crawl_never_fail_never_see_half_a_save_and_never_stall_it(tmp_path, mirror_factory):
    site = tmp_path / "site"
    generate_site(site, COUNTS)
    work = tmp_path / "work"
    work.mkdir()
    elapsed, gaps, tally, code = crawl_with_readers(site, work, readers=True)
    assert code == 0
    # No "database is locked", no other failure, no article without its capture row or its WARC record.
    assert tally.errors == []
    for reader in ("search", "verify", "export_jsonl", "export_wacz", "datasette"):
        assert tally.answers[reader] >= 2, tally.answers
    assert tally.checked > 100
    assert tally.answers["verify said a crawl is writing"] >= 1, tally.answers
    assert max(gaps) < LONGEST_STALL, sorted(gaps)[-5:]
    archive = work / "archive"
    with Store(archive / "zwcrawl.db", read_only=True) as store:
        assert store.db.execute("select count(*) from articles").fetchone()[0] == sum(COUNTS.values())
    assert zwcrawl("verify", "--archive", archive).returncode == 0


def _exchange(n: int) -> Exchange:
    return Exchange(
        url=f"http://127.0.0.1:8001/news/article/{n}", method="GET", request_headers=[("Host", "127.0.0.1")],
        request_body=b"", status=200, reason="OK", response_headers=[("Content-Type", "text/html")],
        body=f"<p>article {n}</p>".encode() * 50, fetched_at=datetime(2026, 11, 30, 0, 0, n, tzinfo=UTC),
    )  # fmt: skip


def _capture(store: Store, crawl_id: int, record) -> None:
    store.add_capture({
        "crawl_id": crawl_id, "url": record.url, "fetched_at": record.date, "status": 200,
        "record_type": record.record_type, "warc_file": record.warc_file, "warc_offset": record.offset,
        "warc_length": record.length, "warc_record_id": record.record_id,
        "payload_digest": record.payload_digest,
    })  # fmt: skip


@pytest.fixture
def writing(tmp_path):
    """An archive as a running crawl leaves it: the lock held, two pages committed, a third written after
    the rows, and a fourth half-written at the tail of the open file; yields (archive, the committed page)."""
    archive = tmp_path / "archive"
    archive.mkdir()
    lock = ArchiveLock(archive).acquire()
    store = Store(archive / "zwcrawl.db")
    crawl_id = store.start_crawl({}, "2026-11-30T00:00:00Z")
    writer = WarcWriter(archive, fsync=False, info={"zwcrawl-crawl-id": str(crawl_id)})
    committed = []
    for n in (1, 2):
        _, response = writer.write_exchange(_exchange(n))
        _capture(store, crawl_id, response)
        committed.append(response)
    writer.write_exchange(_exchange(3))
    _, late = writer.write_exchange(_exchange(4))
    (open_file,) = (archive / "warc").glob("*.warc.gz.open")
    with open(open_file, "r+b") as fh:  # the fourth page is still being written: half of it is there
        fh.truncate(late.offset + late.length // 2)
    yield archive, committed, open_file
    store.close()  # the "crawl" never finishes: its file stays open, as a killed crawl's would
    lock.release()


def test_verify_beside_a_crawl_checks_what_was_committed_and_says_so(writing):
    archive, _, _ = writing
    run = zwcrawl("verify", "--archive", archive)
    assert run.returncode == 0, run.stdout + run.stderr
    first, *_, last = run.stdout.splitlines()
    assert first.startswith("checking the archive as committed at 20"), first
    assert first.endswith(
        f": 2 capture(s); a crawl is writing (crawl 1, pid {os.getpid()}): what it adds is not judged"
    )
    assert "BAD" not in run.stdout
    assert "record(s) of a crawl in flight, past its committed rows, not checked" in last


def test_records_past_a_running_crawls_committed_rows_are_counted_not_judged(writing):
    archive, _, _ = writing
    report = verify_archive(archive)
    assert report.ok, [str(p) for p in report.problems]
    # The request written after the last committed response, the third page (two records), half the fourth's.
    assert report.in_flight == 4
    assert "4 record(s) of a crawl in flight, past its committed rows, not checked" in report.summary()


def test_verify_beside_a_crawl_still_names_damage_before_what_was_committed(writing):
    archive, (first_page, _), open_file = writing
    with open(open_file, "r+b") as fh:  # a byte of the first committed page rots
        fh.seek(first_page.offset + first_page.length // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    run = zwcrawl("verify", "--archive", archive)
    assert run.returncode == 1, run.stdout
    assert run.stdout.startswith("checking the archive as committed at ")
    bad = [line for line in run.stdout.splitlines() if line.startswith("BAD ")]
    assert bad and all(f"offset {first_page.offset}" in line for line in bad), run.stdout


def test_verify_after_a_crawl_was_killed_says_it_stopped_and_leaves_its_tail_to_recovery(writing):
    archive, _, _ = writing
    (archive / ".lock").write_text("999999999\n")  # the pid of a crawl long gone
    run = zwcrawl("verify", "--archive", archive)
    assert run.returncode == 0, run.stdout
    assert run.stdout.splitlines()[0].endswith(
        "crawl 1 stopped without finishing (killed?): its unfinished tail is not judged; the next crawl "
        "recovers it"
    )


def test_verify_while_the_next_crawl_starts_does_not_call_its_file_a_stranger(tmp_path):
    # verify read the rows, then the crawl ended and the next began: its file names a crawl the rows lack.
    archive = tmp_path / "archive"
    archive.mkdir()
    store = Store(archive / "zwcrawl.db")
    crawl_id = store.start_crawl({}, "2026-11-30T00:00:00Z")
    with WarcWriter(archive, fsync=False, info=crawl_warcinfo(crawl_id, "2026-11-30T00:00:00Z", {})) as w:
        _capture(store, crawl_id, w.write_exchange(_exchange(1))[1])
    store.finish_crawl(crawl_id, "finished", {}, "2026-11-30T00:01:00Z")
    store.close()
    later = crawl_warcinfo(crawl_id + 1, "2999-01-01T00:00:00Z", {})  # started after verify read the rows
    with WarcWriter(archive, fsync=False, info=later) as writer:
        writer.write_exchange(_exchange(2))
    run = zwcrawl("verify", "--archive", archive)
    assert run.returncode == 0, run.stdout
    # A file of an unknown crawl that started before the rows were read is still a lost database.
    earlier = crawl_warcinfo(crawl_id + 2, "2026-11-30T00:02:00Z", {})
    with WarcWriter(archive, fsync=False, info=earlier) as writer:
        writer.write_exchange(_exchange(3))
    run = zwcrawl("verify", "--archive", archive)
    assert run.returncode == 1
    assert f"was written by crawl {crawl_id + 2}, which zwcrawl.db has no row for" in run.stdout


def test_a_wacz_export_beside_a_crawl_reads_the_file_it_is_writing(writing, tmp_path):
    archive, committed, _ = writing
    output = tmp_path / "out.wacz"
    run = zwcrawl("export", "wacz", "--archive", archive, "--output", output)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(output) as package:
        (name,) = [n for n in package.namelist() if n.startswith("archive/")]
        with package.open(name) as fh:
            ids = {record.rec_headers.get_header("WARC-Record-ID") for record in ArchiveIterator(fh)}
    assert {page.record_id for page in committed} <= ids
