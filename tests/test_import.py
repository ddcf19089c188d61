"""zwcrawl import: WARC files made by wget against the local mirror, WACZ, WARC 1.0, uncompressed, damaged."""

from __future__ import annotations

import contextlib
import gzip
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import forbidden_requests, zwcrawl
from test_rebuild import tables

from zwcrawl.warc import Exchange, WarcWriter, scan_warc

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED = {
    (d["edition"], d["article_id"]): d
    for d in (json.loads(p.read_text()) for p in sorted((FIXTURES / "zwsite/expected").glob("*/*.json")))
    if d.get("is_article")
}
ARTICLE = "https://en.zamanalwsl.net/news/article/34489"
WGET = shutil.which("wget")


def rows(db: Path, sql: str, *params) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, params).fetchall()


def wget_warc(mirror, to: Path, edition: str = "en") -> Path:
    """Crawl one edition of the mirror with wget --warc-file, kept on 127.0.0.1 and off the vote links."""
    base = mirror.base_urls[edition]
    work = to / f"wget-{edition}"
    work.mkdir()
    command = [
        WGET, "--quiet", f"--warc-file={work / 'site'}", "--recursive", "--level=2", "--no-parent",
        "--no-host-directories", "--domains=127.0.0.1", "--reject-regex=/(like|dislike)/?$",
        "--delete-after", f"--directory-prefix={work / 'files'}", "--tries=1", "--timeout=10", base + "/",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 8), run.stderr  # 8: some page answered an error (a 404 image)
    return work / "site.warc.gz"


@pytest.fixture
def wget_file(mirror, tmp_path) -> Path:
    if WGET is None:
        pytest.skip("wget is not installed (.ci/run installs it)")
    path = wget_warc(mirror, tmp_path)
    assert forbidden_requests(mirror.requests) == []  # never a vote link, a form or another host
    return path


def page(likes: int, extra: str = "") -> bytes:
    """The fixture page of en/34489 with its like counter set, and a sentence added to its body."""
    text = (FIXTURES / "zwsite/en.zamanalwsl.net/news/article/34489.html").read_text()
    text = text.replace('<span class="like-count">(55)</span>', f'<span class="like-count">({likes})</span>')
    return text.replace("east Syrian desert", f"east Syrian desert{extra}").encode()


def warc_of(path_dir: Path, captures: list[tuple[datetime, bytes]]) -> Path:
    """A WARC file (written by the project's WarcWriter) with one capture of the article per (time, page)."""
    clock = iter([t for t, _ in captures[:1]] * 2 + [t for t, _ in captures for _ in (0, 1)])
    with WarcWriter(
        path_dir, subdir="warc", prefix="other", clock=lambda: next(clock, captures[-1][0])
    ) as writer:
        for when, body in captures:
            writer.write_exchange(
                Exchange(
                    url=ARTICLE,
                    method="GET",
                    request_headers=[("Host", "en.zamanalwsl.net")],
                    request_body=b"",
                    status=200,
                    reason="OK",
                    response_headers=[("Content-Type", "text/html; charset=utf-8")],
                    body=body,
                    fetched_at=when,
                )  # fmt: skip
            )
    (path,) = path_dir.glob("warc/other-*.warc.gz")
    return path


def records(path: Path) -> list[bytes]:
    """The records of a gzip-per-record WARC file, each as its uncompressed bytes."""
    data = path.read_bytes()
    return [
        zlib.decompress(data[s.offset : s.offset + s.length], 16 + zlib.MAX_WBITS) for s in scan_warc(path)
    ]


def _record_id(record: bytes) -> str:
    return record.split(b"WARC-Record-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()


def test_a_wget_warc_of_the_mirror_is_imported(wget_file, mirror, tmp_path):
    archive = tmp_path / "archive"
    result = zwcrawl("import", "--archive", archive, "--site", f"en={mirror.base_urls['en']}", wget_file)
    assert result.returncode == 0, result.stdout + result.stderr
    db = archive / "zwcrawl.db"
    saved = {(e, i): h for e, i, h in rows(db, "select edition, article_id, headline from articles")}
    assert saved and all(saved[key] == EXPECTED[key]["headline"] for key in saved)
    # Only HTML responses have capture rows; requests, images and other hosts stay out of the database.
    types = rows(db, "select distinct record_type, content_type like 'text/html%' from captures")
    assert set(types) <= {("response", 1), ("revisit", 1), ("metadata", 0)}
    assert rows(db, "select count(*) from imported_records where record_type = 'request'")[0][0] > 0
    assert "requests" in result.stdout and "of other hosts left out" in result.stdout
    # Each record copied byte for byte under its own id, with where it came from.
    copies = {r[0]: r for r in rows(db, "select * from imported_records")}
    source = {
        rec.split(b"WARC-Record-ID: ", 1)[1].split(b"\r\n", 1)[0].decode(): rec for rec in records(wget_file)
    }
    for record_id, (_, _, _, name, _offset, warc_file, warc_offset, length, _) in copies.items():
        assert name == str(wget_file)
        blob = (archive / warc_file).read_bytes()[warc_offset : warc_offset + length]
        assert gzip.decompress(blob) == source[record_id]
    verify = zwcrawl("verify", "--archive", archive)
    assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stdout
    # And the WARC files alone give the same database back, provenance included.
    rebuilt = shutil.copytree(archive, tmp_path / "rebuilt", ignore=shutil.ignore_patterns("zwcrawl.db*"))
    assert zwcrawl("rebuild", "--archive", rebuilt).returncode == 0
    assert tables(rebuilt / "zwcrawl.db") == tables(db)


def test_importing_a_file_twice_adds_nothing(wget_file, mirror, tmp_path):
    archive = tmp_path / "archive"
    site = ("--site", f"en={mirror.base_urls['en']}")
    assert zwcrawl("import", "--archive", archive, *site, wget_file).returncode == 0
    db = archive / "zwcrawl.db"
    tables = ("captures", "imported_records", "articles", "observations", "article_versions", "comments")
    before = {t: rows(db, f"select * from {t}") for t in tables}
    warc = sorted((archive / "warc").glob("*.warc.gz"))
    again = zwcrawl("import", "--archive", archive, *site, wget_file)
    assert again.returncode == 0, again.stdout + again.stderr
    assert " 0 copied" in again.stdout and "already in the archive" in again.stdout
    assert {t: rows(db, f"select * from {t}") for t in tables} == before
    assert sorted((archive / "warc").glob("*.warc.gz")) == warc  # not even an empty file


def test_captures_are_saved_in_capture_time_order_whatever_order_the_files_come_in(tmp_path):
    early = datetime(2019, 5, 1, 8, 0, tzinfo=UTC)
    late = datetime(2020, 5, 1, 8, 0, tzinfo=UTC)
    old = warc_of(tmp_path / "a", [(early, page(10))])
    new = warc_of(tmp_path / "b", [(late, page(20, " (updated)"))])
    archive = tmp_path / "archive"
    result = zwcrawl("import", "--archive", archive, new, old)
    assert result.returncode == 0, result.stdout + result.stderr
    db = archive / "zwcrawl.db"
    assert rows(db, "select observed_at, likes from observations order by id") == [
        ("2019-05-01T08:00:00Z", 10),
        ("2020-05-01T08:00:00Z", 20),
    ]
    versions = rows(
        db, "select version, observed_at, body like '%(updated)%' from article_versions order by 1"
    )
    assert versions == [(1, "2019-05-01T08:00:00Z", 0), (2, "2020-05-01T08:00:00Z", 1)]
    assert rows(db, "select likes, first_seen, last_seen from articles") == [
        (20, "2019-05-01T08:00:00Z", "2020-05-01T08:00:00Z")
    ]


def _wacz(tmp_path: Path, warc: Path) -> Path:
    """A minimal WACZ 1.1.1 package holding one WARC file, stored as the spec asks."""
    path = tmp_path / "capture.wacz"
    with zipfile.ZipFile(path, "w") as package:
        package.write(warc, "archive/data.warc.gz", compress_type=zipfile.ZIP_STORED)
        package.writestr("pages/pages.jsonl", '{"format": "json-pages-1.0", "id": "pages"}\n')
        package.writestr("datapackage.json", json.dumps({"profile": "data-package", "wacz_version": "1.1.1"}))
    return path


def _warc_10_uncompressed(tmp_path: Path, warc: Path) -> Path:
    """The same records as WARC/1.0, in one uncompressed file (the version line is not in any digest)."""
    path = tmp_path / "plain.warc"
    path.write_bytes(b"".join(r.replace(b"WARC/1.1\r\n", b"WARC/1.0\r\n", 1) for r in records(warc)))
    return path


@pytest.mark.parametrize("form", ["wacz", "warc-1.0-uncompressed"])
def test_wacz_and_warc_1_0_uncompressed_files_are_imported(form, tmp_path):
    warc = warc_of(tmp_path / "w", [(datetime(2019, 5, 1, tzinfo=UTC), page(10))])
    path = _wacz(tmp_path, warc) if form == "wacz" else _warc_10_uncompressed(tmp_path, warc)
    archive = tmp_path / "archive"
    result = zwcrawl("import", "--archive", archive, path)
    assert result.returncode == 0, result.stdout + result.stderr
    db = archive / "zwcrawl.db"
    assert rows(db, "select article_id, headline, likes from articles") == [
        (34489, EXPECTED[("en", 34489)]["headline"], 10)
    ]
    (source,) = {r[0] for r in rows(db, "select source_file from imported_records")}
    assert source == (f"{path}!archive/data.warc.gz" if form == "wacz" else str(path))
    assert zwcrawl("verify", "--archive", archive).returncode == 0


def _three_captures(tmp_path: Path) -> Path:
    days = [datetime(2019, 5, day, tzinfo=UTC) for day in (1, 2, 3)]
    return warc_of(tmp_path / "w", [(day, page(10 + n)) for n, day in enumerate(days)])


def _damage_truncated(tmp_path: Path, warc: Path) -> tuple[Path, int]:
    data = warc.read_bytes()
    last = list(scan_warc(warc))[-2]  # the last response (a request record follows it)
    path = tmp_path / "truncated.warc.gz"
    path.write_bytes(data[: last.offset + last.length // 2])
    return path, last.offset


def _damage_bad_member(tmp_path: Path, warc: Path) -> tuple[Path, int]:
    data = bytearray(warc.read_bytes())
    second = [s for s in scan_warc(warc)][3]  # the second response
    middle = second.offset + second.length // 2
    data[middle : middle + 40] = b"\x00" * 40
    path = tmp_path / "bad-member.warc.gz"
    path.write_bytes(bytes(data))
    return path, second.offset


def _damage_content_length(tmp_path: Path, warc: Path) -> tuple[Path, int]:
    parts = records(warc)
    offset = sum(len(p) for p in parts[:3])  # the second response
    head, sep, rest = parts[3].partition(b"\r\n\r\n")
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    parts[3] = (
        head.replace(f"Content-Length: {length}".encode(), f"Content-Length: {length + 7}".encode())
        + sep
        + rest
    )
    path = tmp_path / "content-length.warc"
    path.write_bytes(b"".join(parts))
    return path, offset


@pytest.mark.parametrize(
    ("damage", "message", "kept"),
    [
        (_damage_truncated, "gzip member cut short", 2),
        (_damage_bad_member, "gzip member corrupt", 2),
        (_damage_content_length, "does not match its Content-Length", 2),
    ],
    ids=["truncated", "bad-gzip-member", "wrong-content-length"],
)
def test_damaged_files_import_their_good_records_and_name_the_bad_ones(damage, message, kept, tmp_path):
    path, bad_offset = damage(tmp_path, _three_captures(tmp_path))
    archive = tmp_path / "archive"
    result = zwcrawl("import", "--archive", archive, path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    bad = [line for line in result.stdout.splitlines() if line.startswith("BAD ")]
    assert bad and bad[0].startswith(f"BAD {path} offset {bad_offset}: ") and message in bad[0]
    db = archive / "zwcrawl.db"
    assert rows(db, "select count(*) from observations")[0][0] == kept
    verify = zwcrawl("verify", "--archive", archive)  # nothing half-written
    assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stdout


def _outcome(db: Path) -> dict:
    """What an import leaves, without the ids and places that depend on how many runs it took."""
    queries = {
        "articles": "select edition, article_id, headline, body, likes, first_seen, last_seen from articles",
        "observations": "select edition, article_id, observed_at, likes from observations order by 3",
        "versions": "select article_id, version, observed_at, body from article_versions order by 1, 2",
        "captures": "select warc_record_id, url, record_type from captures where record_type != 'metadata'",
        "derived": "select concurrent_to from captures where concurrent_to is not null",
        "imported": "select warc_record_id, source_file, source_offset from imported_records",
    }
    return {name: sorted(rows(db, sql)) for name, sql in queries.items()}


def test_an_import_killed_at_any_moment_and_run_again_ends_as_one_run(tmp_path):
    days = [datetime(2019, 1, 1 + n, tzinfo=UTC) for n in range(25)]
    source = warc_of(tmp_path / "w", [(day, page(n, f" day {n}.")) for n, day in enumerate(days)])
    clean = tmp_path / "clean"
    assert zwcrawl("import", "--archive", clean, source).returncode == 0
    expected = _outcome(clean / "zwcrawl.db")
    for delay in (0.05, 0.4, 0.9):
        archive = tmp_path / f"killed-{delay}"
        run = subprocess.Popen(
            [sys.executable, "-m", "zwcrawl", "import", "--archive", str(archive), str(source)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(delay)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        again = zwcrawl("import", "--archive", archive, source)
        assert again.returncode == 0, again.stdout + again.stderr
        assert _outcome(archive / "zwcrawl.db") == expected, delay
        verify = zwcrawl("verify", "--archive", archive)
        assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stdout
