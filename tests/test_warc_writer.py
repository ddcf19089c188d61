"""WarcWriter: records read back with warcio hold exactly the bytes of the exchange, where the writer said."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import itertools
import json
import socket
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from zwcrawl.warc import (
    Exchange,
    Original,
    WarcWriter,
    described_url,
    iter_records,
    scan_warc,
    sha1_digest,
)
from zwcrawl.warc.types import fields_uri
from zwcrawl.warc.writer import (
    _CONFORMS_TO,
    NOT_MODIFIED_PROFILE,
    _request_headers,
    _response_headers,
    _safe_uri,
    _warc_date,
    _WireHeaders,
    is_conditional,
)

WARCIO = Path(sys.executable).parent / "warcio"
HTML = "<html><body><h1>عنوان</h1>" + "<p>Zaman al-Wasl</p>" * 200 + "</body></html>"
GZ_BODY = gzip.compress(HTML.encode("utf-8"), mtime=0)


def exchange(
    url="http://127.0.0.1:8001/news/article/34489", body=GZ_BODY, headers=None, **changes
) -> Exchange:
    """A GET answered 200 with a gzip body, as the capture middleware hands it over."""
    response_headers = (
        headers
        if headers is not None
        else [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(body))),
        ]
    )
    values = dict(
        url=url,
        method="GET",
        request_headers=[
            ("Host", "127.0.0.1:8001"),
            ("User-Agent", "zwcrawl-test"),
            ("Accept-Encoding", "gzip"),
        ],
        request_body=b"",
        status=200,
        reason="OK",
        response_headers=response_headers,
        body=body,
        fetched_at=datetime(2026, 11, 25, 20, 15, 0, tzinfo=UTC),
        ip_address="127.0.0.1",
    )
    values.update(changes)
    return Exchange(**values)


def repeatable(tmp_path: Path, **options) -> WarcWriter:
    """A writer with a fixed clock and counted record ids, so its output is the same every run."""
    ticks = itertools.count()
    ids = itertools.count(1)
    return WarcWriter(
        tmp_path,
        clock=lambda: datetime(2026, 11, 25, 20, 15, 0, tzinfo=UTC) + timedelta(microseconds=next(ticks)),
        make_record_id=lambda: f"<urn:uuid:00000000-0000-0000-0000-{next(ids):012d}>",
        **options,
    )


def record_at(archive: Path, location):
    """The record a location names, read by seeking to its offset, plus its member's raw bytes."""
    with open(archive / location.warc_file, "rb") as fh:
        fh.seek(location.offset)
        raw = fh.read(location.length)
    record = next(iter(ArchiveIterator(io.BytesIO(raw))))
    return record, raw


def test_response_stores_the_body_as_received_and_points_at_itself(tmp_path):
    ex = exchange()
    with WarcWriter(tmp_path) as writer:
        request, response = writer.write_exchange(ex)
    record, raw = record_at(tmp_path, response)
    assert gzip.decompress(raw).startswith(b"WARC/1.1\r\n")  # the location is one whole gzip member
    assert record.rec_type == "response"
    assert record.rec_headers["WARC-Record-ID"] == response.record_id
    assert record.rec_headers["WARC-Target-URI"] == ex.url
    assert record.rec_headers["WARC-Date"] == "2026-11-25T20:15:00Z" == response.date
    assert record.rec_headers["WARC-IP-Address"] == "127.0.0.1"
    assert record.rec_headers["WARC-Payload-Digest"] == sha1_digest(GZ_BODY) == response.payload_digest
    assert record.http_headers.statusline == "200 OK"
    assert record.http_headers["Content-Encoding"] == "gzip"
    assert record.raw_stream.read() == GZ_BODY  # compressed bytes stay compressed
    assert response.warc_file.startswith("warc/zwcrawl-") and response.warc_file.endswith(".warc.gz")

    req, _ = record_at(tmp_path, request)
    assert req.rec_type == "request"
    assert req.rec_headers["WARC-Concurrent-To"] == response.record_id == request.concurrent_to
    assert req.http_headers.protocol == "GET"
    assert req.http_headers.statusline == "/news/article/34489 HTTP/1.1"
    assert req.http_headers["Host"] == "127.0.0.1:8001"


def test_payload_digest_is_over_the_raw_bytes(tmp_path):
    writer = WarcWriter(tmp_path)
    assert writer.payload_digest(b"") == "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"
    assert writer.payload_digest(GZ_BODY) == sha1_digest(GZ_BODY)
    assert writer.payload_digest(GZ_BODY) != sha1_digest(HTML.encode("utf-8"))


@pytest.mark.parametrize(
    ("given", "stored", "original"),
    [
        ([("Content-Length", "{n}")], ["{n}"], None),
        ([("Transfer-Encoding", "chunked")], ["{n}"], None),
        ([("Content-Length", "99999")], ["{n}"], "99999"),
        ([("Transfer-Encoding", "chunked"), ("Content-Length", "7")], ["{n}"], "7"),
        ([("content-length", "{n}"), ("Content-Length", "{n}")], ["{n}"], None),
        ([], ["{n}"], None),
    ],
    ids=["exact", "chunked", "wrong", "chunked-and-length", "duplicated", "absent"],
)
def test_stored_headers_are_true_to_the_stored_body(tmp_path, given, stored, original):
    n = str(len(GZ_BODY))
    headers = [("Content-Type", "text/html")] + [(k, v.format(n=n)) for k, v in given]
    with WarcWriter(tmp_path) as writer:
        _, response = writer.write_exchange(exchange(headers=headers))
    record, _ = record_at(tmp_path, response)
    http = record.http_headers
    assert [v for k, v in http.headers if k.lower() == "content-length"] == [s.format(n=n) for s in stored]
    assert http.get_header("Transfer-Encoding") is None
    assert http.get_header("X-Original-Content-Length") == original
    assert record.raw_stream.read() == GZ_BODY


@pytest.mark.parametrize(
    ("status", "reason", "statusline"),
    [
        (200, "", "200 OK"),
        (404, "Not Found", "404 Not Found"),
        (503, "", "503 Service Unavailable"),
        (599, "", "599"),
    ],
)
def test_status_line(tmp_path, status, reason, statusline):
    with WarcWriter(tmp_path) as writer:
        _, response = writer.write_exchange(exchange(status=status, reason=reason))
    record, _ = record_at(tmp_path, response)
    assert record.http_headers.statusline == statusline
    assert record.http_headers.protocol == "HTTP/1.1"


def test_header_bytes_are_kept_as_on_the_wire(tmp_path):
    # A server that sends UTF-8 in a header: Scrapy gives bytes, the middleware decodes them as latin-1.
    wire = 'attachment; filename="خبر.html"'.encode().decode("latin-1")
    headers = [("Content-Type", "text/html"), ("Content-Disposition", wire), ("X-Bad", "a\r\nInjected: 1")]
    with WarcWriter(tmp_path) as writer:
        _, response = writer.write_exchange(exchange(headers=headers, body=b"x"))
    _, raw = record_at(tmp_path, response)
    block = gzip.decompress(raw)
    assert 'Content-Disposition: attachment; filename="خبر.html"\r\n'.encode() in block
    assert b"\r\nInjected" not in block  # a CR LF in a value cannot forge a header line


def test_revisit_when_the_payload_is_unchanged(tmp_path):
    with WarcWriter(tmp_path) as writer:
        _, first = writer.write_exchange(exchange())
        original = Original(first.payload_digest, first.record_id, first.url, first.date)
        later = exchange(fetched_at=datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC))
        request, revisit = writer.write_exchange(later, original)
    assert revisit.record_type == "revisit"
    assert revisit.refers_to == original
    assert revisit.payload_digest == first.payload_digest
    record, _ = record_at(tmp_path, revisit)
    h = record.rec_headers
    assert h["WARC-Profile"] == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    assert h["WARC-Refers-To"] == first.record_id
    assert h["WARC-Refers-To-Target-URI"] == first.url
    assert h["WARC-Refers-To-Date"] == "2026-11-25T20:15:00Z"
    assert h["WARC-Date"] == "2026-11-26T08:00:00Z"
    assert h["WARC-Payload-Digest"] == first.payload_digest
    assert record.http_headers["Content-Encoding"] == "gzip"
    assert record.http_headers["Content-Length"] == str(len(GZ_BODY))
    assert record.raw_stream.read() == b""  # headers only: the body is the original's
    req, _ = record_at(tmp_path, request)
    assert req.rec_headers["WARC-Concurrent-To"] == revisit.record_id


def test_a_304_to_a_conditional_request_is_a_server_not_modified_revisit(tmp_path):
    with WarcWriter(tmp_path) as writer:
        _, first = writer.write_exchange(exchange())
        original = Original(first.payload_digest, first.record_id, first.url, first.date)
        later = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
        asked = [("Host", "127.0.0.1:8001"), ("If-None-Match", '"v1"')]
        answer = [("ETag", '"v1"'), ("Vary", "Accept-Encoding")]
        _, revisit = writer.write_exchange(
            exchange(
                status=304, reason="", body=b"", headers=answer, request_headers=asked, fetched_at=later
            ),
            original,
        )
        # A 304 nobody asked for (no validators sent), or with no capture to refer to, stays a response.
        _, unasked = writer.write_exchange(
            exchange(status=304, reason="", body=b"", headers=answer), original
        )
        _, alone = writer.write_exchange(
            exchange(status=304, reason="", body=b"", headers=answer, request_headers=asked)
        )
    assert (revisit.record_type, revisit.refers_to) == ("revisit", original)
    assert unasked.record_type == alone.record_type == "response"
    record, _ = record_at(tmp_path, revisit)
    h = record.rec_headers
    assert h["WARC-Profile"] == "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
    assert (h["WARC-Refers-To"], h["WARC-Refers-To-Target-URI"]) == (first.record_id, first.url)
    assert h["WARC-Refers-To-Date"] == "2026-11-25T20:15:00Z"
    assert h["WARC-Payload-Digest"] == first.payload_digest  # the payload a 304 stands for (WARC 1.1 6.7.3)
    # The block is the 304's status line and headers as they came, no Content-Length added, no body.
    assert record.http_headers.statusline == "304 Not Modified"
    assert record.http_headers.headers == answer
    assert record.raw_stream.read() == b""


@pytest.mark.parametrize(
    ("previous_digest", "body", "expected"),
    [
        ("same", GZ_BODY, "revisit"),
        ("sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", GZ_BODY, "response"),
        (None, GZ_BODY, "response"),
        ("same", b"", "response"),  # an empty body is always a response: a revisit would save nothing
    ],
)
def test_revisit_only_for_an_identical_payload(tmp_path, previous_digest, body, expected):
    previous = None
    if previous_digest:
        digest = sha1_digest(body) if previous_digest == "same" else previous_digest
        previous = Original(digest, "<urn:uuid:1>", "http://127.0.0.1:8001/x", "2026-01-01T00:00:00Z")
    with WarcWriter(tmp_path) as writer:
        _, response = writer.write_exchange(exchange(body=body, headers=[]), previous)
    assert response.record_type == expected
    assert (response.refers_to is not None) == (expected == "revisit")


def test_metadata_record_holds_the_fields_as_json(tmp_path):
    fields = {"headline": "عنوان الخبر", "likes": 3, "published": datetime(2018, 4, 19, 17, 14, tzinfo=UTC)}
    with WarcWriter(tmp_path) as writer:
        _, response = writer.write_exchange(exchange())
        meta = writer.write_metadata(response.url, response.record_id, fields)
    assert meta.record_type == "metadata" and meta.concurrent_to == response.record_id
    assert meta.warc_file == response.warc_file and meta.offset > response.offset
    record, _ = record_at(tmp_path, meta)
    assert record.rec_headers["Content-Type"] == "application/json"
    assert record.rec_headers["WARC-Concurrent-To"] == response.record_id
    # Apart from the page (replay tools look the page's URL up), and no payload digest: no HTTP payload.
    assert record.rec_headers["WARC-Target-URI"] == "urn:zwcrawl:fields:" + response.url == meta.url
    assert described_url(meta.url) == response.url
    assert record.rec_headers["WARC-Payload-Digest"] is None and meta.payload_digest is None
    assert record.rec_headers["WARC-Block-Digest"]
    body = record.raw_stream.read()
    assert "عنوان الخبر".encode() in body  # UTF-8, not \u escapes
    assert json.loads(body) == {"headline": "عنوان الخبر", "likes": 3, "published": "2018-04-19T17:14:00Z"}


def test_warcinfo_heads_each_file_and_files_roll_over(tmp_path):
    info = {"zwcrawl-crawl-id": "7", "zwcrawl-options": "--edition en"}
    with WarcWriter(tmp_path, max_size=2_000, info=info) as writer:
        pairs = [
            writer.write_exchange(exchange(url=f"http://127.0.0.1:8001/news/article/{n}")) for n in range(12)
        ]
        files = writer.close()
    assert len(files) > 2
    assert len({p.name for p in files}) == len(files)
    for path in files:
        records = list(iter_records(path))
        assert records[0].record_type == "warcinfo"
        assert [r.record_type for r in records[1:]] == ["response", "request"] * ((len(records) - 1) // 2)
        assert path.stat().st_size < 2_000 + 1_000  # rolled at the first exchange after reaching max_size
        with gzip.open(path) as fh:
            head = fh.read(2000)
        assert b"zwcrawl-crawl-id: 7\r\n" in head and b"software: zwcrawl/0.1.0\r\n" in head
        assert f"WARC-Filename: {path.name}\r\n".encode() in head
    for request, response in pairs:  # never split a pair across files
        assert request.warc_file == response.warc_file


def test_every_location_matches_a_read_back(tmp_path):
    written = []
    with WarcWriter(tmp_path, max_size=8_000) as writer:
        for n in range(6):
            request, response = writer.write_exchange(exchange(url=f"http://127.0.0.1:8001/news/article/{n}"))
            written += [request, response, writer.write_metadata(response.url, response.record_id, {"n": n})]
        files = writer.close()
    read = [
        r for path in files for r in iter_records(path, f"warc/{path.name}") if r.record_type != "warcinfo"
    ]
    assert sorted(read, key=lambda r: (r.warc_file, r.offset)) == sorted(
        written, key=lambda r: (r.warc_file, r.offset)
    )


def test_repeatable_output_with_an_injected_clock_and_ids(tmp_path):
    outputs = []
    for run in ("a", "b"):
        with repeatable(tmp_path / run) as writer:
            writer.write_exchange(exchange())
            paths = writer.close()
        outputs.append([(p.name, p.read_bytes()) for p in paths])
    assert outputs[0] == outputs[1]
    assert outputs[0][0][0] == "zwcrawl-20261125201500000000-00000.warc.gz"


def test_record_ids_are_random_uuid_urns(tmp_path):
    with WarcWriter(tmp_path) as writer:
        ids = [location.record_id for _ in range(20) for location in writer.write_exchange(exchange())]
    assert len(set(ids)) == 40
    for record_id in ids:
        made = uuid.UUID(record_id.removeprefix("<urn:uuid:").removesuffix(">"))
        assert (made.version, made.variant) == (4, uuid.RFC_4122)
        assert record_id == f"<urn:uuid:{made}>"


def test_file_names_unique_even_with_the_same_clock(tmp_path):
    names = set()
    for _ in range(3):
        with repeatable(tmp_path) as writer:
            writer.write_exchange(exchange())
            names.update(p.name for p in writer.close())
    assert len(names) == 3
    assert all(n.startswith("zwcrawl-20261125201500000000-00000") for n in names)


@pytest.mark.parametrize("prefix", ["../../escape", "/etc/passwd", "a/b", "..", "", "we ird\nname"])
def test_a_prefix_cannot_steer_files_out_of_the_archive(tmp_path, prefix):
    archive = tmp_path / "archive"
    with WarcWriter(archive, prefix=prefix) as writer:
        _, response = writer.write_exchange(exchange())
        (path,) = writer.close()
    assert path.parent == archive / "warc"
    assert (archive / response.warc_file).resolve() == path.resolve()
    assert [p for p in tmp_path.rglob("*.warc.gz")] == [path]


@pytest.mark.parametrize("subdir", ["../out", "/abs", "a/../../b"])
def test_a_subdir_outside_the_archive_is_refused(tmp_path, subdir):
    with pytest.raises(ValueError, match="inside the archive"):
        WarcWriter(tmp_path, subdir=subdir)


def test_naive_fetch_time_is_refused(tmp_path):
    with WarcWriter(tmp_path) as writer, pytest.raises(ValueError, match="timezone-aware"):
        writer.write_exchange(exchange(fetched_at=datetime(2026, 1, 1)))


def test_no_file_without_a_write(tmp_path):
    with WarcWriter(tmp_path) as writer:
        pass
    assert writer.close() == []
    assert not (tmp_path / "warc").exists() or not list((tmp_path / "warc").iterdir())


class _DiskFillsUp:
    """A file that fails with ENOSPC on its nth write, after passing the earlier ones through."""

    def __init__(self, fh, fail_at: int):
        self._fh, self._writes = fh, itertools.count()
        self._fail_at = fail_at

    def write(self, data):
        if next(self._writes) == self._fail_at:
            self._fh.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)


@pytest.mark.parametrize(
    "fail_at", [0, 1]
)  # each record's gzip member is one write: the response's, the request's
def test_a_failed_write_leaves_the_file_whole(tmp_path, fail_at):
    writer = WarcWriter(tmp_path)
    request, kept = writer.write_exchange(exchange())
    writer._fh = _DiskFillsUp(writer._fh, fail_at)
    with pytest.raises(OSError, match="No space"):
        writer.write_exchange(exchange(url="http://127.0.0.1:8001/news/article/2"))
    path = tmp_path / kept.warc_file
    # The failed pair is cut off entirely: the file ends with the kept exchange's request record.
    assert path.stat().st_size == request.offset + request.length
    assert [s.sound for s in scan_warc(path)] == [True, True, True]
    _, later = writer.write_exchange(exchange(url="http://127.0.0.1:8001/news/article/3"))
    assert later.warc_file != kept.warc_file  # a fresh file after a failure
    writer.close()


def test_warcio_check_passes(tmp_path):
    with WarcWriter(tmp_path, max_size=6_000) as writer:
        for n in range(4):
            _, response = writer.write_exchange(exchange(url=f"http://127.0.0.1:8001/news/article/{n}"))
            writer.write_metadata(response.url, response.record_id, {"n": n})
            original = Original(response.payload_digest, response.record_id, response.url, response.date)
            writer.write_exchange(exchange(url=response.url), original)
        writer.write_exchange(
            exchange(url="http://127.0.0.1:8001/robots.txt", body=b"", headers=[], status=404)
        )
        files = writer.close()
    result = subprocess.run(
        [str(WARCIO), "check", "-v", *map(str, files)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest failed" not in result.stdout
    assert result.stdout.count("digest pass") > 10


# -- the writer's own record building, byte for byte as warcio's ------------------------------------------


class _WarcioWriter(WARCWriter):
    """warcio's writer as zwcrawl used it to build every record: no payload digest on metadata records."""

    NO_PAYLOAD_DIGEST_TYPES = ("warcinfo", "revisit", "metadata")


def _warcio_member(record) -> bytes:
    out = io.BytesIO()
    _WarcioWriter(out, gzip=True, warc_version="WARC/1.1").write_record(record)
    return out.getvalue()


def _wire(head) -> _WireHeaders:
    return _WireHeaders(head.statusline, list(head.headers), protocol=head.protocol)


def _warcio_records(
    ex: Exchange, previous: Original | None, response_id: str, request_id: str
) -> list[bytes]:
    """The response (or revisit) and request members warcio built for an exchange (the writer before)."""
    builder = _WarcioWriter(None, gzip=True, warc_version="WARC/1.1")
    url, digest = _safe_uri(ex.url), sha1_digest(ex.body)
    not_modified = previous is not None and ex.status == 304 and is_conditional(ex)
    digest = previous.payload_digest if not_modified else digest
    revisit = not_modified or (previous is not None and bool(ex.body) and previous.payload_digest == digest)
    common = {"WARC-Date": _warc_date(ex.fetched_at), "WARC-Target-URI": url}
    http = _wire(_response_headers(ex))
    if revisit:
        headers = {"WARC-Type": "revisit", "WARC-Record-ID": response_id, **common}
        headers["WARC-Refers-To"] = previous.record_id
        if ex.ip_address:
            headers["WARC-IP-Address"] = ex.ip_address
        response = builder.create_revisit_record(
            url, digest, _safe_uri(previous.url), previous.date, http_headers=http, warc_headers_dict=headers
        )
        if not_modified:
            response.rec_headers.replace_header("WARC-Profile", NOT_MODIFIED_PROFILE)
    else:
        headers = {"WARC-Type": "response", "WARC-Record-ID": response_id, **common}
        if ex.ip_address:
            headers["WARC-IP-Address"] = ex.ip_address
        headers["WARC-Payload-Digest"] = digest
        response = builder.create_warc_record(
            url, "response", payload=io.BytesIO(ex.body), length=len(ex.body), http_headers=http,
            warc_headers_dict=headers,
        )  # fmt: skip
    request = builder.create_warc_record(
        url, "request", payload=io.BytesIO(ex.request_body), length=len(ex.request_body),
        http_headers=_wire(_request_headers(ex)),
        warc_headers_dict={"WARC-Type": "request", "WARC-Record-ID": request_id, **common,
                           "WARC-Concurrent-To": response_id},
    )  # fmt: skip
    return [response, request]


def _warcio_exchange(*args) -> list[bytes]:
    """The members of _warcio_records."""
    return [_warcio_member(record) for record in _warcio_records(*args)]


def _warcio_payload_record(
    record_type: str, uri: str, body: bytes, content_type: str, headers: dict
) -> bytes:
    """A warcinfo or metadata member as warcio built it; `headers` hold its id and date first."""
    record = _WarcioWriter(None, gzip=True, warc_version="WARC/1.1").create_warc_record(
        uri, record_type, payload=io.BytesIO(body), length=len(body), warc_content_type=content_type,
        warc_headers_dict={"WARC-Type": record_type, **headers},
    )  # fmt: skip
    return _warcio_member(record)


_BIG = bytes(range(256)) * 300 + HTML.encode("utf-8") * 3  # over 16 KB: warcio compressed it in pieces
_ODD_EXCHANGES = {
    "plain": exchange(),
    "big body": exchange(body=_BIG, headers=[("Content-Type", "text/html")]),
    "chunked, lengths that lied": exchange(
        headers=[("Transfer-Encoding", "chunked"), ("content-length", "5"), ("Content-Length", "7")]
    ),
    "empty 404, no headers, no address": exchange(body=b"", headers=[], status=404, ip_address=None),
    "header beyond latin-1": exchange(headers=[("X-Title", "عنوان"), ("Content-Type", "text/html")]),
    "latin-1 octets": exchange(headers=[("X-Name", "caf\xe9"), ("Set-Cookie", "a=b\r\nc")]),
    "URL with a space and a tab": exchange(url="http://127.0.0.1:8001/news/ar ticle/%D8%B9?q=1 2\t"),
    "POST with a body": exchange(method="post", request_body=b"a=1&b=2"),
    "HTTP/1.0, no reason": exchange(protocol="HTTP/1.0", reason="", status=299),
    "odd protocol": exchange(protocol="SPDY/3", reason="Fine\nThanks"),
}


@pytest.mark.parametrize("name", list(_ODD_EXCHANGES))
def test_records_are_byte_for_byte_what_warcio_built(tmp_path, name):
    """The writer builds its records itself: every kind a crawl writes is the same gzip member, byte for
    byte, as warcio's writer made (given the same record ids and dates)."""
    ex = _ODD_EXCHANGES[name]
    with repeatable(tmp_path, info={"operator": "تجربة", "empty": ""}) as writer:
        request, response = writer.write_exchange(ex)
        original = Original(response.payload_digest, response.record_id, ex.url + " x", response.date)
        again = writer.write_exchange(ex, original)  # a revisit, unless the body is empty
        conditional = replace(ex, status=304, request_headers=[*ex.request_headers, ("If-None-Match", '"1"')])
        not_modified = writer.write_exchange(conditional, original)
        metadata = writer.write_metadata(ex.url, response.record_id, {"headline": "عنوان", "n": [1, None]})
        (path,) = writer.close()
    with open(path, "rb") as fh:
        records = list(ArchiveIterator(fh))
    assert [r.rec_type for r in records][:3] == ["warcinfo", "response", "request"]
    info = records[0].rec_headers
    info_body = f"software: zwcrawl/0.1.0\r\nformat: WARC File Format 1.1\r\nconformsTo: {_CONFORMS_TO}\r\n"
    info_body += f"hostname: {socket.gethostname()}\r\noperator: تجربة\r\n"
    expected = [
        _warcio_payload_record(
            "warcinfo",
            "",
            info_body.encode("utf-8"),
            "application/warc-fields",
            {
                "WARC-Record-ID": info.get_header("WARC-Record-ID"),
                "WARC-Date": info.get_header("WARC-Date"),
                "WARC-Filename": path.name,
            },
        ),  # fmt: skip
        *_warcio_exchange(ex, None, response.record_id, request.record_id),
    ]
    written = [request, response, *again, *not_modified]
    for (req, resp), previous in ((again, original), (not_modified, original)):
        expected += _warcio_exchange(
            conditional if resp is not_modified[1] else ex, previous, resp.record_id, req.record_id
        )
    uri = fields_uri(_safe_uri(ex.url))
    body = json.dumps({"headline": "عنوان", "n": [1, None]}, ensure_ascii=False).encode("utf-8")
    headers = {"WARC-Record-ID": metadata.record_id, "WARC-Date": metadata.date, "WARC-Target-URI": uri}
    expected.append(
        _warcio_payload_record(
            "metadata", uri, body, "application/json", {**headers, "WARC-Concurrent-To": response.record_id}
        )
    )
    data = path.read_bytes()
    spans = sorted([(loc.offset, loc.length) for loc in [*written, metadata]])
    members = [data[: spans[0][0]]] + [data[at : at + length] for at, length in spans]
    assert [len(m) for m in members] == [len(m) for m in expected]
    assert members == expected
    assert (again[1].record_type == "revisit") == bool(ex.body)
    assert not_modified[1].record_type == "revisit"


@pytest.mark.parametrize("size", [0, 1, 5, 19, 20, 21, 4096, 70_001])
def test_digests_are_base32_sha1_as_warcio_writes_them(size):
    data = bytes((n * 7919) % 251 for n in range(size))
    expected = "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")
    assert sha1_digest(data) == expected
    assert sha1_digest(data[: size // 2], data[size // 2 :]) == expected  # the parts one after the other


@pytest.mark.parametrize("year", [1, 999, 1000, 2026, 9999])
def test_warc_dates_are_strftime_s(year):
    for moment in (
        datetime(year, 3, 4, 5, 6, 7, 999_999, tzinfo=UTC),
        datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC),
    ):
        assert _warc_date(moment) == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    east = datetime(2026, 1, 1, 1, 2, 3, tzinfo=timezone(timedelta(hours=3)))
    assert _warc_date(east) == "2025-12-31T22:02:03Z"


@pytest.mark.parametrize("name", ["plain", "header beyond latin-1", "URL with a space and a tab"])
def test_records_read_as_warcio_s_did(tmp_path, name, monkeypatch):
    """What reads a record as it is written (its row, an index line) finds the heads warcio's record had."""
    ex, built = _ODD_EXCHANGES[name], []
    writer = repeatable(tmp_path)
    write = writer._write
    monkeypatch.setattr(writer, "_write", lambda records: built.extend(records) or write(records))
    request, response = writer.write_exchange(ex)
    writer.close()
    ours = [record for record in built if record.rec_type != "warcinfo"]
    theirs = _warcio_records(ex, None, response.record_id, request.record_id)
    for record in theirs:
        _warcio_member(record)  # writing it completes its heads (block digest, Content-Type and -Length)
    for mine, warcio_s in zip(ours, theirs, strict=True):
        assert mine.rec_headers.headers == warcio_s.rec_headers.headers
        assert mine.rec_headers.to_bytes() == warcio_s.rec_headers.to_bytes(encoding="utf-8")
        assert mine.http_headers.headers_buff == warcio_s.http_headers.headers_buff
        assert (mine.http_headers.protocol, mine.http_headers.statusline) == (
            warcio_s.http_headers.protocol,
            warcio_s.http_headers.statusline,
        )
        assert mine.http_headers.get_statuscode() == warcio_s.http_headers.get_statuscode()
        for header in ("content-type", "WARC-Target-URI", "WARC-Payload-Digest", "X-Nothing"):
            assert mine.rec_headers.get_header(header) == warcio_s.rec_headers.get_header(header)
            assert mine.http_headers.get_header(header) == warcio_s.http_headers.get_header(header)
