"""verify_archive: a sound archive passes; each kind of damage is named by file and offset, or by row."""

from __future__ import annotations

import gzip
import io
import random
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from warcio.warcwriter import WARCWriter

from zwcrawl.verify import verify_archive
from zwcrawl.warc import Exchange, Original, RecordLocation, WarcWriter, described_url, index_warc

WARCIO = Path(sys.executable).parent / "warcio"

_SCHEMA = """
CREATE TABLE captures (id INTEGER PRIMARY KEY, crawl_id INTEGER, url TEXT, status INTEGER, fetched_at TEXT,
    record_type TEXT, warc_file TEXT, warc_offset INTEGER, warc_length INTEGER, warc_record_id TEXT,
    payload_digest TEXT);
CREATE TABLE articles (edition TEXT, article_id INTEGER, capture_id INTEGER REFERENCES captures(id),
    PRIMARY KEY (edition, article_id));
"""


def _exchange(path: str, body: bytes, day: int, status: int = 200) -> Exchange:
    return Exchange(
        url=f"http://127.0.0.1:8001{path}",
        method="GET",
        request_headers=[("Host", "127.0.0.1:8001")],
        request_body=b"",
        status=status,
        reason="",
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")],
        body=body,
        fetched_at=datetime(2026, 11, day, 20, 15, 0, tzinfo=UTC),
    )


def _page(n: int) -> bytes:
    # Incompressible enough that the body is not squeezed to a few bytes by the record's own gzip.
    return gzip.compress(f"<h1>article {n}</h1>".encode() + random.Random(n).randbytes(600), mtime=0)


@dataclass
class Archive:
    """A small archive as two crawls leave it: responses, metadata, revisits, and rows for them."""

    root: Path
    records: dict[str, RecordLocation]
    rows: dict[str, int]

    @property
    def db(self) -> Path:
        return self.root / "zwcrawl.db"

    def sql(self, statement: str, *params) -> None:
        with sqlite3.connect(self.db) as conn:
            conn.execute(statement, params)
        conn.close()

    def warc(self, name: str) -> Path:
        return self.root / self.records[name].warc_file


def _build(root: Path) -> Archive:
    records: dict[str, RecordLocation] = {}
    rows: dict[str, int] = {}
    root.mkdir(parents=True)
    conn = sqlite3.connect(root / "zwcrawl.db")
    conn.executescript(_SCHEMA)

    def add_row(name: str, location: RecordLocation, status: int | None) -> None:
        records[name] = location
        cursor = conn.execute(
            "INSERT INTO captures (crawl_id, url, status, fetched_at, record_type, warc_file, warc_offset, "
            "warc_length, warc_record_id, payload_digest) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                location.url,
                status,
                location.date,
                location.record_type,
                location.warc_file,
                location.offset,
                location.length,
                location.record_id,
                location.payload_digest,
            ),
        )
        rows[name] = cursor.lastrowid

    bodies = {n: _page(n) for n in (1, 2, 3)}
    # First crawl: three articles (response + metadata) and a robots.txt that is missing.
    with WarcWriter(root, fsync=False, info={"zwcrawl-crawl-id": "1"}) as writer:
        for n, body in bodies.items():
            request, response = writer.write_exchange(_exchange(f"/news/article/{n}", body, 1))
            records[f"request{n}"] = request
            add_row(f"response{n}", response, 200)
            meta = writer.write_metadata(response.url, response.record_id, {"n": n, "headline": "عنوان"})
            add_row(f"metadata{n}", meta, None)
            conn.execute("INSERT INTO articles VALUES ('en', ?, ?)", (n, rows[f"response{n}"]))
        _, robots = writer.write_exchange(_exchange("/robots.txt", b"", 1, status=404))
        add_row("robots", robots, 404)
    # Second crawl, a day later: 1 and 2 unchanged (revisits), 3 changed (a new response).
    with WarcWriter(root, fsync=False, info={"zwcrawl-crawl-id": "2"}) as writer:
        for n in (1, 2):
            first = records[f"response{n}"]
            original = Original(first.payload_digest, first.record_id, first.url, first.date)
            _, revisit = writer.write_exchange(_exchange(f"/news/article/{n}", bodies[n], 2), original)
            add_row(f"revisit{n}", revisit, 200)
        _, changed = writer.write_exchange(_exchange("/news/article/3", _page(33), 2))
        add_row("response3b", changed, 200)
        conn.execute("UPDATE articles SET capture_id = ? WHERE article_id = 3", (rows["response3b"],))
        # The last record of the file, so rewriting it moves no other record.
        _, last = writer.write_exchange(_exchange("/news/article/4", _page(4), 2))
        add_row("response4", last, 200)
    conn.commit()
    conn.close()
    return Archive(root, records, rows)


@pytest.fixture
def archive(tmp_path) -> Archive:
    return _build(tmp_path / "archive")


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def test_a_sound_archive_passes_and_is_left_untouched(archive):
    before = _snapshot(archive.root)
    report = verify_archive(archive.root)
    assert report.ok, [str(p) for p in report.problems]
    assert report.notes == []
    assert (report.files, report.captures, report.articles) == (2, len(archive.rows), 3)
    # warcinfo x2, 4 exchanges + 3 metadata in the first file, 4 exchanges in the second.
    assert report.records == 2 + 4 * 2 + 3 + 4 * 2
    assert report.summary().startswith("OK: 2 WARC file(s)")
    assert _snapshot(archive.root) == before


def _rewrite_member(path: Path, offset: int, length: int, change: Callable[[bytes], bytes]) -> None:
    data = path.read_bytes()
    member = gzip.compress(change(gzip.decompress(data[offset : offset + length])))
    path.write_bytes(data[:offset] + member + data[offset + length :])


def _flip_body_byte(a: Archive) -> None:
    loc = a.records["response4"]

    def flip(record: bytes) -> bytes:
        return record[:-20] + bytes([record[-20] ^ 0x01]) + record[-19:]

    _rewrite_member(a.warc("response4"), loc.offset, loc.length, flip)


def _flip_compressed_byte(a: Archive) -> None:
    loc = a.records["response2"]
    path = a.warc("response2")
    data = bytearray(path.read_bytes())
    data[loc.offset + loc.length // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate_mid_member(a: Archive) -> None:
    loc = a.records["response4"]
    with open(a.warc("response4"), "r+b") as fh:
        fh.truncate(loc.offset + loc.length // 2)


def _delete_record_bytes(a: Archive) -> None:
    loc = a.records["response2"]
    path = a.warc("response2")
    data = path.read_bytes()
    path.write_bytes(data[: loc.offset] + data[loc.offset + loc.length :])


def _wrong_length(a: Archive) -> None:
    loc = a.records["response1"]
    _rewrite_member(
        a.warc("response1"),
        loc.offset,
        loc.length,
        lambda r: r.replace(b"Content-Length: ", b"Content-Length: 1", 1),
    )


def _revisit_without_original(a: Archive) -> None:
    with WarcWriter(a.root, fsync=False) as writer:
        body = _page(9)
        ghost = Original(
            writer.payload_digest(body), "<urn:uuid:ghost>", "http://127.0.0.1:8001/x", "2020-01-01T00:00:00Z"
        )
        _, revisit = writer.write_exchange(_exchange("/news/article/9", body, 3), ghost)
    a.sql(
        "INSERT INTO captures (url, record_type, warc_file, warc_offset, warc_length, warc_record_id, "
        "payload_digest) VALUES (?, 'revisit', ?, ?, ?, ?, ?)",
        revisit.url,
        revisit.warc_file,
        revisit.offset,
        revisit.length,
        revisit.record_id,
        revisit.payload_digest,
    )


def _revisit_of_another_payload(a: Archive) -> None:
    first = a.records["response1"]
    with WarcWriter(a.root, fsync=False) as writer:
        body = _page(8)
        liar = Original(writer.payload_digest(body), first.record_id, first.url, first.date)
        writer.write_exchange(_exchange("/news/article/1", body, 3), liar)


def _not_modified_of_another_uri(a: Archive) -> None:
    first = a.records["response1"]  # article 1's page, named as what article 2's 304 confirmed
    exchange = _exchange("/news/article/2", b"", 3, status=304)
    exchange.request_headers.append(("If-None-Match", '"x"'))
    with WarcWriter(a.root, fsync=False) as writer:
        writer.write_exchange(
            exchange, Original(first.payload_digest, first.record_id, first.url, first.date)
        )


# (name, damage, expected problems: (where, message) substrings, each must be found in one problem)
DAMAGE = [
    (
        "flip a byte in a body",
        _flip_body_byte,
        [
            ("offset {response4.offset} {response4.record_id}", "payload digest mismatch"),
            ("offset {response4.offset} {response4.record_id}", "block digest mismatch"),
        ],
    ),
    (
        "flip a byte of compressed data",
        _flip_compressed_byte,
        [
            ("offset {response2.offset}", "gzip member corrupt"),
            ("captures row {row.response2} ", "is damaged"),
        ],
    ),
    (
        "truncate a file mid-member",
        _truncate_mid_member,
        [
            ("offset {response4.offset}", "gzip member cut short"),
            ("captures row {row.response4} ", "is damaged"),
        ],
    ),
    (
        "delete a record's bytes",
        _delete_record_bytes,
        [
            ("captures row {row.response2} ", "warc_record_id is"),
            ("captures row {row.robots} ", "no record starts at offset {robots.offset}"),
            ("{request2.record_id}", "WARC-Concurrent-To {response2.record_id} names no record"),
        ],
    ),
    (
        "Content-Length that is not the block's",
        _wrong_length,
        [("offset {response1.offset} {response1.record_id}", "block shorter than its Content-Length")],
    ),
    (
        "a row at a wrong offset",
        lambda a: a.sql(
            "UPDATE captures SET warc_offset = warc_offset + 1 WHERE id = ?", a.rows["metadata2"]
        ),
        [("captures row {row.metadata2} ", "no record starts at offset {metadata2.offset_plus_1}")],
    ),
    (
        "a row at another record",
        lambda a: a.sql(
            "UPDATE captures SET warc_offset = ?, warc_length = ? WHERE id = ?",
            a.records["response2"].offset,
            a.records["response2"].length,
            a.rows["response1"],
        ),
        [
            ("captures row {row.response1} ", "warc_record_id is '{response1.record_id}'"),
            ("captures row {row.response1} ", "url is"),
            ("captures row {row.response1} ", "payload_digest is"),
        ],
    ),
    (
        "a row whose digest is not its record's",
        lambda a: a.sql("UPDATE captures SET payload_digest = 'sha1:AAAA' WHERE id = ?", a.rows["revisit1"]),
        [("captures row {row.revisit1} ", "payload_digest is 'sha1:AAAA'")],
    ),
    (
        "a row whose status is not its record's",
        lambda a: a.sql("UPDATE captures SET status = 500 WHERE id = ?", a.rows["robots"]),
        [("captures row {row.robots} ", "status is 500 but")],
    ),
    (
        "a row pointing outside the archive",
        lambda a: a.sql(
            "UPDATE captures SET warc_file = '../../etc/x.warc.gz' WHERE id = ?", a.rows["response3"]
        ),
        [("captures row {row.response3} ", "not a path inside the archive")],
    ),
    (
        "a row naming a missing file",
        lambda a: a.sql(
            "UPDATE captures SET warc_file = 'warc/gone.warc.gz' WHERE id = ?", a.rows["response3"]
        ),
        [("captures row {row.response3} ", "warc/gone.warc.gz does not exist")],
    ),
    (
        "a revisit with no original",
        _revisit_without_original,
        [("offset", "original <urn:uuid:ghost> is not in the archive")],
    ),
    (
        "a revisit whose original has another payload",
        _revisit_of_another_payload,
        [("offset", "original {response1.record_id} has payload digest {response1.payload_digest}")],
    ),
    (
        "a 304 revisit of another URI's capture",
        _not_modified_of_another_uri,
        [("offset", "a 304 revisit of http://127.0.0.1:8001/news/article/2 refers to another URI")],
    ),
    (
        "an article without a capture",
        lambda a: a.sql("INSERT INTO articles VALUES ('ar', 77, NULL)"),
        [("articles row ar/77", "has no capture")],
    ),
    (
        "an article whose capture is gone",
        lambda a: a.sql("DELETE FROM captures WHERE id = ?", a.rows["response3b"]),
        [("articles row en/3", "its capture {row.response3b} is not in captures")],
    ),
]


def _names(a: Archive) -> dict[str, SimpleNamespace]:
    """What "{response4.offset}" and "{row.response4}" in DAMAGE name in an archive."""
    names = {
        name: SimpleNamespace(**vars(loc), offset_plus_1=loc.offset + 1) for name, loc in a.records.items()
    }
    return {**names, "row": SimpleNamespace(**a.rows)}


@pytest.mark.parametrize(("damage", "expected"), [d[1:] for d in DAMAGE], ids=[d[0] for d in DAMAGE])
def test_each_damage_is_named(archive, damage, expected):
    damage(archive)
    before = _snapshot(archive.root)
    report = verify_archive(archive.root)
    assert not report.ok
    found = [str(p) for p in report.problems]
    names = _names(archive)
    for where, message in expected:
        where, message = where.format_map(names), message.format_map(names)
        assert any(where in p.where and message in p.message for p in report.problems), (
            where,
            message,
            found,
        )
    assert _snapshot(archive.root) == before  # verify never repairs


def test_a_truncated_file_that_warcio_check_lets_pass_is_caught(archive):
    _truncate_mid_member(archive)
    warcio = subprocess.run(
        [str(WARCIO), "check", str(archive.warc("response4"))], capture_output=True, timeout=60
    )
    assert warcio.returncode == 0  # why verify reads every gzip member to its end itself
    assert not verify_archive(archive.root).ok


def test_damage_in_the_middle_does_not_hide_what_follows(archive):
    _flip_compressed_byte(archive)
    report = verify_archive(archive.root)
    # The broken record, records that name it, and its row: those after it were found and their rows hold.
    files = {archive.records["response2"].warc_file, archive.records["revisit2"].warc_file}
    assert {p.where.split(" ")[0] for p in report.problems} <= files | {"captures"}
    assert len([p for p in report.problems if p.where.startswith("captures")]) == 1


def test_the_last_page_of_a_killed_crawl_without_rows_is_a_note(archive):
    # A crash between writing a page's records and inserting its row leaves exactly this: at a file's end.
    archive.sql("DELETE FROM captures WHERE id = ?", archive.rows["response4"])
    report = verify_archive(archive.root)
    assert report.ok, [str(p) for p in report.problems]
    (note,) = [str(n) for n in report.notes]
    assert archive.records["response4"].record_id in note and "has no capture row" in note


def test_records_without_rows_before_rowed_ones_are_damage(archive):
    # No crash leaves a rowless record with rowed records after it: the database lost rows.
    archive.sql("DELETE FROM captures WHERE id = ?", archive.rows["revisit2"])
    report = verify_archive(archive.root)
    assert [p.message for p in report.problems] == [
        "revisit of http://127.0.0.1:8001/news/article/2 has no capture row, though records after it do"
    ]


def test_an_emptied_database_fails(archive):
    archive.sql("DELETE FROM captures")
    archive.sql("DELETE FROM articles")
    report = verify_archive(archive.root)
    assert not report.ok
    assert all("more than one page a killed crawl leaves" in p.message for p in report.problems)
    assert {p.where for p in report.problems} == {
        archive.records[n].warc_file for n in ("response1", "response4")
    }


def test_a_database_of_another_app_is_refused(archive):
    archive.db.unlink()
    with sqlite3.connect(archive.db) as conn:
        conn.execute("CREATE TABLE crawls (id INTEGER PRIMARY KEY, url TEXT, status TEXT)")
        conn.execute("INSERT INTO crawls VALUES (1, 'http://example.com', 'finished')")
    conn.close()
    report = verify_archive(archive.root)
    assert [str(p) for p in report.problems] == [
        "zwcrawl.db: is not a zwcrawl archive database (no captures table); nothing checked against it"
    ]


def test_an_unclosed_file_is_noted(archive):
    index = archive.warc("response4").with_name(
        archive.warc("response4").name.removesuffix(".warc.gz") + ".cdxj"
    )
    index.unlink()
    report = verify_archive(archive.root)
    assert report.ok
    assert [n.message for n in report.notes] == [
        "has no CDXJ index: it was not closed cleanly (the next crawl recovers it)"
    ]


def test_warc_files_without_a_database(tmp_path):
    archive = _build(tmp_path / "a")
    archive.db.unlink()
    report = verify_archive(archive.root)
    assert report.ok and report.files == 2 and report.captures == 0
    assert "no database" in report.notes[0].message


def test_not_an_archive(tmp_path):
    report = verify_archive(tmp_path / "missing")
    assert not report.ok and "not an archive directory" in report.problems[0].message


def test_a_wal_database_is_read_without_being_changed(archive):
    with sqlite3.connect(archive.db) as conn:
        conn.execute("PRAGMA journal_mode=wal")
    conn.close()
    before = archive.db.read_bytes()
    assert verify_archive(archive.root).ok
    assert archive.db.read_bytes() == before


def _write_legacy_metadata(path: Path, page_url: str, concurrent_to: str) -> RecordLocation:
    """A metadata record as zwcrawl wrote them before: under the page's own URL, with a payload digest."""
    body = b'{"headline": "old"}'
    writer = WARCWriter(None, gzip=True, warc_version="WARC/1.1")
    record = writer.create_warc_record(
        page_url,
        "metadata",
        payload=io.BytesIO(body),
        length=len(body),
        warc_content_type="application/json",
        warc_headers_dict={"WARC-Concurrent-To": concurrent_to, "WARC-Date": "2026-11-01T20:15:00Z"},
    )
    with open(path, "ab") as fh:
        offset = fh.tell()
        writer.out = fh
        writer.write_record(record)
        length = fh.tell() - offset
    headers = record.rec_headers
    assert headers["WARC-Payload-Digest"] and headers["WARC-Target-URI"] == page_url
    return RecordLocation(
        "metadata", headers["WARC-Record-ID"], page_url, headers["WARC-Date"],
        f"warc/{path.name}", offset, length, headers["WARC-Payload-Digest"],
    )  # fmt: skip


def test_metadata_records_of_both_forms_pass(archive):
    """Older files name the page itself in a metadata record; newer ones urn:zwcrawl:fields:URL. Both pass."""
    response = archive.records["response1"]
    legacy_file = archive.root / "warc" / "legacy-00000.warc.gz"
    legacy = _write_legacy_metadata(legacy_file, response.url, response.record_id)
    index_warc(legacy_file)
    new = archive.records["metadata2"]
    assert new.url == "urn:zwcrawl:fields:http://127.0.0.1:8001/news/article/2"
    with sqlite3.connect(archive.db) as conn:
        for location, url in ((legacy, legacy.url), (new, described_url(new.url))):
            conn.execute(
                "INSERT INTO captures (crawl_id, url, fetched_at, record_type, warc_file, warc_offset, "
                "warc_length, warc_record_id, payload_digest) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
                (url, location.date, "metadata", location.warc_file, location.offset, location.length,
                 location.record_id, location.payload_digest),
            )  # fmt: skip
    conn.close()
    report = verify_archive(archive.root)
    assert report.ok, [str(p) for p in report.problems]
    assert report.captures == len(archive.rows) + 2


def test_a_record_too_damaged_to_name_itself_leaves_what_names_it_a_note(archive):
    # Its id unreadable, the request naming it is not told from one naming nothing: the damage is the problem.
    loc, request = archive.records["response2"], archive.records["request2"]
    path = archive.warc("response2")
    data = bytearray(path.read_bytes())
    data[loc.offset + 12] ^= 0xFF  # the first bytes of its deflate stream, past the gzip header
    path.write_bytes(bytes(data))
    report = verify_archive(archive.root)
    assert any(p.where.startswith(f"{loc.warc_file} offset {loc.offset}") for p in report.problems)
    assert not [str(p) for p in report.problems if request.record_id in p.where]
    (note,) = [n for n in report.notes if request.record_id in n.where]
    assert note.message.endswith(
        f"names no record in the archive: perhaps the damaged record at offset {loc.offset}"
    )
