"""WarcWriter: HTTP exchanges into gzip-per-record WARC files that roll over at a size, each record synced."""

from __future__ import annotations

import contextlib
import errno
import gzip
import json
import os
import re
import secrets
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders

from zwcrawl.warc._fs import open_regular, sync_dir, sync_path
from zwcrawl.warc.index import index_warc
from zwcrawl.warc.index_lines import IndexLines
from zwcrawl.warc.paths import inside_archive
from zwcrawl.warc.types import Exchange, Original, RecordLocation, fields_uri, sha1_digest
from zwcrawl.wire import reason_phrase

WARC_VERSION = "WARC/1.1"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
# WARC 1.1 6.7.3: the server answered a conditional request 304, so the payload is the original's.
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
_CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"

# A file being written carries this suffix until it is complete, synced and renamed (as Heritrix does):
# crash recovery touches only files so marked, never a file it did not leave open.
OPEN_SUFFIX = ".open"

_SAFE_PREFIX = re.compile(r"[^A-Za-z0-9_.-]+")
_PROTOCOL = re.compile(r"^HTTP/\d(?:\.\d)?$")
# Characters that cannot stand in a WARC header line: they would end it or split it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_IN_URI = re.compile(r"[\x00-\x20\x7f]")  # never on the wire; percent-encoded for a WARC header


class _WireHeaders(StatusAndHeaders):
    """HTTP headers serialised as latin-1, so header octets read off the wire are stored unchanged."""

    def compute_headers_buffer(self, header_filter=None) -> None:
        try:
            self.headers_buff = self.to_str(header_filter).encode("latin-1") + b"\r\n"
        except UnicodeEncodeError:
            # Not from the wire (a str beyond latin-1): warcio's RFC 8187 percent-encoding.
            super().compute_headers_buffer(header_filter)


class _Head:
    """A status line and headers (WARC's or HTTP's), read as warcio's StatusAndHeaders reads them (what
    the writer's readers of a record use: get_header, get_statuscode, headers, headers_buff, to_bytes)."""

    __slots__ = ("_first", "headers", "headers_buff", "protocol", "statusline")

    def __init__(self, statusline: str, headers: list[tuple[str, str]], protocol: str = ""):
        self.statusline, self.headers, self.protocol = statusline, headers, protocol
        self.headers_buff: bytes | None = None  # an HTTP head's bytes in the record, once it is built
        self._first: dict[str, str] | None = None

    def __bool__(self) -> bool:
        return bool(self.statusline or self.headers)

    def get_header(self, name: str, default_value: str | None = None) -> str | None:
        """The first header of this name (any case), as StatusAndHeaders.get_header."""
        if self._first is None:  # a record's row reads five of its headers: one pass for them all
            self._first = {key.lower(): value for key, value in reversed(self.headers)}
        return self._first.get(name.lower(), default_value)

    def get_statuscode(self) -> str:
        return self.statusline.split(" ", 1)[0]

    def to_str(self) -> str:
        """The head as text, exactly as StatusAndHeaders.to_str writes it (its blank line not included)."""
        first = f"{self.protocol} {self.statusline}" if self.protocol and self.statusline else None
        first = first or self.protocol or self.statusline
        lines = [f"{first}\r\n"] if first else []
        lines += [f"{name}: {value}\r\n" for name, value in self.headers]
        return "".join(lines)

    def to_bytes(self, encoding: str = "utf-8") -> bytes:
        """The head and its blank line in `encoding`, as StatusAndHeaders.to_bytes (a WARC head's bytes)."""
        return self.to_str().encode(encoding) + b"\r\n"

    def wire_bytes(self) -> bytes:
        """The HTTP head as stored in a record's block: latin-1 (wire octets unchanged), as _WireHeaders."""
        try:
            return self.to_str().encode("latin-1") + b"\r\n"
        except UnicodeEncodeError:
            wire = _WireHeaders(self.statusline, list(self.headers), protocol=self.protocol)
            wire.compute_headers_buffer()
            return wire.headers_buff


class _Record:
    """A record built by zwcrawl: its WARC and HTTP heads (for its row) and its whole gzip member."""

    __slots__ = ("http_headers", "member", "rec_headers", "rec_type")

    def __init__(self, rec_type: str, rec_headers: _Head, http_headers: _Head | None, member: bytes):
        self.rec_type, self.rec_headers, self.http_headers = rec_type, rec_headers, http_headers
        self.member = member


# warcio's Content-Type for each kind of record it is not told one for.
_CONTENT_TYPES = {
    "response": "application/http; msgtype=response",
    "revisit": "application/http; msgtype=response",
    "request": "application/http; msgtype=request",
}
_CHUNK = 16384  # warcio's read size: its body goes to the compressor in pieces of this size


def _build(
    rec_type: str,
    fields: list[tuple[str, str]],
    content_type: str,
    payload: bytes = b"",
    http: _Head | None = None,
) -> _Record:
    """A record as warcio's writer writes it, byte for byte: its fields, then WARC-Block-Digest,
    Content-Type and Content-Length; the HTTP head and payload; one gzip member, level 9.

    warcio built a StatusAndHeaders for each head, looked each header up by name several times, read the
    body through a stream twice and wrote it through a wrapper (about 40% of the crawl's writer thread);
    tests/test_warc_writer.py compares every kind of record a crawl writes with warcio's, byte for byte."""
    block = b""
    if http is not None:
        block = http.headers_buff = http.wire_bytes()
    fields.append(("WARC-Block-Digest", sha1_digest(block, payload)))
    fields.append(("Content-Type", content_type))
    fields.append(("Content-Length", str(len(block) + len(payload))))
    head = _Head("", fields, WARC_VERSION)
    # The compressor fed in warcio's pieces (head, HTTP head, 16 KB of body at a time, the end), so the
    # member is the same bytes whatever zlib does with its input's boundaries.
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    parts = [compressor.compress(head.to_bytes())]
    if http is not None:
        parts.append(compressor.compress(block))
    view = memoryview(payload)
    parts += [compressor.compress(view[at : at + _CHUNK]) for at in range(0, len(payload), _CHUNK)]
    parts.append(compressor.compress(b"\r\n\r\n"))
    parts.append(compressor.flush())
    return _Record(rec_type, head, http, b"".join(parts))


class WarcWriter:
    """Writes exchanges as request + response (or revisit) records, and metadata records, to rolling files."""

    def __init__(
        self,
        archive_dir: Path,
        *,
        subdir: str = "warc",
        prefix: str = "zwcrawl",
        max_size: int = 1_000_000_000,
        software: str = "zwcrawl/0.1.0",
        info: dict[str, str] | None = None,
        fsync: bool = True,
        clock: Callable[[], datetime] | None = None,
        make_record_id: Callable[[], str] | None = None,
    ):
        self.archive_dir = Path(archive_dir)
        self.subdir = _safe_subdir(subdir)
        self.prefix = _SAFE_PREFIX.sub("_", prefix).lstrip(".") or "zwcrawl"
        self.max_size = max_size
        self.software = software
        self.info = dict(info or {})
        self.fsync = fsync
        self.clock = clock or (lambda: datetime.now(UTC))
        self.make_record_id = make_record_id or _random_record_id
        self.files: list[Path] = []
        self._serial = 0
        self._path: Path | None = None  # the name the open file will have once closed (rows name this)
        self._fh: IO[bytes] | None = None
        self._lines: IndexLines | None = None  # the open file's CDXJ lines, made as its records are written
        self._lock = threading.Lock()
        self._sync_at_end = False  # inside one_sync(): records are synced together when it ends
        self._unsynced = False
        self._lost_sync = False  # records of a one_sync() group went out with a file that could not be synced

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @staticmethod
    def payload_digest(body: bytes) -> str:
        """The WARC-Payload-Digest of a body as stored: "sha1:" and the base32 SHA-1 of its raw bytes."""
        return sha1_digest(body)

    def write_exchange(
        self, exchange: Exchange, previous: Original | None = None
    ) -> tuple[RecordLocation, RecordLocation]:
        """Write an exchange's response (or revisit of `previous`) and request records, synced on return.

        A revisit is written for a body of `previous`'s payload digest (identical-payload-digest), or for a
        304 to a conditional request whose validators came from `previous` (server-not-modified)."""
        when = _warc_date(exchange.fetched_at)
        url = _safe_uri(exchange.url)
        digest = sha1_digest(exchange.body)
        not_modified = previous is not None and exchange.status == 304 and is_conditional(exchange)
        if not_modified:
            digest = previous.payload_digest  # the payload a 304 stands for is its original's (6.7.3)
        # An empty body is otherwise a response: a revisit would save nothing and add a dependency.
        revisit = not_modified or (
            previous is not None and bool(exchange.body) and previous.payload_digest == digest
        )
        response_id, request_id = self.make_record_id(), self.make_record_id()
        http = _response_headers(exchange)
        if revisit:
            # warcio's revisit: its fields, then WARC-Profile, the original's URI and date, the digest.
            fields = [
                ("WARC-Type", "revisit"),
                ("WARC-Record-ID", response_id),
                ("WARC-Date", when),
                ("WARC-Target-URI", url),
                ("WARC-Refers-To", previous.record_id),
            ]
            if exchange.ip_address:
                fields.append(("WARC-IP-Address", exchange.ip_address))
            fields.append(("WARC-Profile", NOT_MODIFIED_PROFILE if not_modified else REVISIT_PROFILE))
            fields.append(("WARC-Refers-To-Target-URI", _safe_uri(previous.url)))
            fields.append(("WARC-Refers-To-Date", previous.date))
            fields.append(("WARC-Payload-Digest", digest))
            response = _build("revisit", fields, _CONTENT_TYPES["revisit"], http=http)
        else:
            fields = [
                ("WARC-Type", "response"),
                ("WARC-Record-ID", response_id),
                ("WARC-Date", when),
                ("WARC-Target-URI", url),
            ]
            if exchange.ip_address:
                fields.append(("WARC-IP-Address", exchange.ip_address))
            fields.append(("WARC-Payload-Digest", digest))
            response = _build("response", fields, _CONTENT_TYPES["response"], exchange.body, http)
        request_fields = [
            ("WARC-Type", "request"),
            ("WARC-Record-ID", request_id),
            ("WARC-Date", when),
            ("WARC-Target-URI", url),
            ("WARC-Concurrent-To", response_id),
            ("WARC-Payload-Digest", sha1_digest(exchange.request_body)),
        ]
        request = _build(
            "request",
            request_fields,
            _CONTENT_TYPES["request"],
            exchange.request_body,
            _request_headers(exchange),
        )
        with self._lock:
            if self._fh is not None and self._fh.tell() >= self.max_size:
                # Rolled here, not right after an exchange, so a metadata record stays beside its response.
                self._close_file()
            resp_span, req_span = self._write([response, request])
        refers = (
            Original(digest, previous.record_id, _safe_uri(previous.url), previous.date) if revisit else None
        )
        return (
            self._location(request, req_span, concurrent_to=response_id),
            self._location(response, resp_span, refers_to=refers),
        )

    def write_metadata(self, url: str, concurrent_to: str, fields: dict) -> RecordLocation:
        """Write a `metadata` record of the fields extracted from page `url`, concurrent to its response."""
        body = json.dumps(fields, ensure_ascii=False, default=_json_default).encode("utf-8")
        uri = fields_uri(_safe_uri(url))
        record = self._payload_record(
            "metadata",
            body,
            "application/json",
            {"WARC-Target-URI": uri, "WARC-Concurrent-To": concurrent_to},
        )
        with self._lock:
            (span,) = self._write([record])
        return self._location(record, span, concurrent_to=concurrent_to)

    def write_copy(self, member: bytes, *, may_roll: bool = True) -> None:
        """Append one record exactly as read from another WARC file (a whole gzip member of its own)."""
        with self._lock:
            if may_roll and self._fh is not None and self._fh.tell() >= self.max_size:
                self._close_file()
            self._write([member])

    def copy_record(self, record: bytes) -> tuple[str, int, int]:
        """Append a whole record read from another WARC file, byte for byte, as one gzip member, synced.

        Returns where it landed: (file relative to the archive dir, gzip member offset, length).
        """
        member = gzip.compress(record, compresslevel=6, mtime=0)
        with self._lock:
            if self._fh is not None and self._fh.tell() >= self.max_size:
                self._close_file()
            (span,) = self._write([member])
        return span

    @contextlib.contextmanager
    def one_sync(self) -> Iterator[None]:
        """Sync the records written inside the block once, when it ends without an error, not each on return.

        For a group of writes whose rows are committed after the block: one sync then covers every record.
        """
        self._sync_at_end = True
        try:
            yield
        finally:
            self._sync_at_end = False
        with self._lock:
            lost, self._lost_sync = self._lost_sync, False
            if lost:
                raise OSError(errno.EIO, "WARC records of this group could not be synced")
            if self._fh is not None and self._unsynced:
                self._sync(self._fh)

    def close(self) -> list[Path]:
        """Close the open file and write its CDXJ index; returns every WARC file this writer wrote."""
        with self._lock:
            self._close_file()
        return list(self.files)

    def _write(self, records: list) -> list[tuple[str, int, int]]:
        """Append records (_build's, or gzip members as bytes) and sync; on failure cut the file back."""
        if self._fh is None:
            self._open_file()
        fh = self._fh
        warc_file = str(PurePosixPath(self.subdir, self._path.name))
        start = fh.tell()
        spans = []
        try:
            for record in records:
                at = fh.tell()
                # a _Record's member as built, or a gzip member as it was (write_copy) or made by copy_record
                fh.write(record if isinstance(record, bytes) else record.member)
                spans.append((warc_file, at, fh.tell() - at))
            if self._sync_at_end:
                fh.flush()
                self._unsynced = True
            else:
                self._sync(fh)
        except BaseException:
            self._abandon_file(start)
            raise
        self._lines.add(records, spans)
        return spans

    def _open_file(self) -> None:
        directory = self.archive_dir / self.subdir
        directory.mkdir(parents=True, exist_ok=True)
        stamp = self.clock().astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
        name = f"{self.prefix}-{stamp}-{self._serial:05d}.warc.gz"
        while True:
            try:
                if (directory / name).exists():
                    raise FileExistsError(name)  # the final name must be free too: closing renames onto it
                # Exclusive create: two processes started in the same microsecond never share a file.
                fh = open(directory / (name + OPEN_SUFFIX), "xb")  # noqa: SIM115 - closed in _close_file
                break
            except FileExistsError:
                name = f"{self.prefix}-{stamp}-{self._serial:05d}-{secrets.token_hex(3)}.warc.gz"
        self._serial += 1
        self._path, self._fh, self._lines = directory / name, fh, IndexLines(name)
        self.files.append(self._path)
        if self.fsync:
            sync_dir(directory)
        info = {
            "software": self.software,
            "format": "WARC File Format 1.1",
            "conformsTo": _CONFORMS_TO,
            "hostname": socket.gethostname(),
            **self.info,
        }
        lines = (f"{_one_line(k)}: {_one_line(str(v))}\r\n" for k, v in info.items() if v)
        body = "".join(lines).encode("utf-8")
        record = self._payload_record("warcinfo", body, "application/warc-fields", {"WARC-Filename": name})
        self._write([record])

    def _payload_record(self, record_type: str, body: bytes, content_type: str, headers: dict) -> _Record:
        """A record of zwcrawl's own (warcinfo, metadata) holding `body`, with its id, date and `headers`."""
        fields = [
            ("WARC-Type", record_type),
            ("WARC-Record-ID", self.make_record_id()),
            ("WARC-Date", _warc_date(self.clock())),
            *headers.items(),
        ]
        return _build(record_type, fields, content_type, body)

    def _close_file(self) -> None:
        if self._fh is None:
            return
        fh, path, lines = self._fh, self._path, self._lines
        self._fh = self._path = self._lines = None
        self._sync(fh)
        fh.close()
        self._finish(path, lines.lines)

    def _finish(self, path: Path, lines: list[str] | None = None) -> None:
        """Give a complete, synced file its final name, then its index (recovery skips indexed files).

        The index is written from the lines made as the records were (`lines`), or read back without them."""
        os.rename(open_name(path), path)
        if self.fsync:
            sync_dir(path.parent)
        index_warc(path, lines)

    def _abandon_file(self, good_end: int) -> None:
        """After a failed write: close the file cut back to its last complete record, and index it."""
        fh, path = self._fh, self._path
        # The lines made so far are dropped: the file is read back, so its index names only what it kept.
        self._fh = self._path = self._lines = None
        with contextlib.suppress(OSError):
            fh.close()
        unsynced, self._unsynced = self._unsynced, False
        try:
            os.truncate(open_name(path), good_end)
            if unsynced and self.fsync:
                sync_path(open_name(path))  # records of a group written before the failed one (one_sync)
            self._finish(path)
        except OSError:
            # Left to crash recovery: the file is still marked open, so the next crawl repairs it.
            self._lost_sync = self._lost_sync or unsynced

    def _sync(self, fh: IO[bytes]) -> None:
        fh.flush()
        if self.fsync:
            os.fsync(fh.fileno())
        self._unsynced = False

    @staticmethod
    def _location(
        record,
        span: tuple[str, int, int],
        *,
        refers_to: Original | None = None,
        concurrent_to: str | None = None,
    ) -> RecordLocation:
        headers = record.rec_headers
        warc_file, offset, length = span
        return RecordLocation(
            record_type=headers.get_header("WARC-Type"),
            record_id=headers.get_header("WARC-Record-ID"),
            url=headers.get_header("WARC-Target-URI") or "",
            date=headers.get_header("WARC-Date"),
            warc_file=warc_file,
            offset=offset,
            length=length,
            payload_digest=headers.get_header("WARC-Payload-Digest"),
            refers_to=refers_to,
            concurrent_to=concurrent_to,
        )


def open_name(path: Path) -> Path:
    """The name a WARC file has while it is being written: `NAME.warc.gz.open`."""
    return path.with_name(path.name + OPEN_SUFFIX)


def open_warc_file(path: str | Path) -> IO[bytes]:
    """Open a WARC file a row names for reading, under its `.open` name while a writer still has it."""
    path = Path(path)
    for candidate in (path, open_name(path), path):  # the last try: renamed while we looked
        try:
            # NotRegularFile for a FIFO or a device, which would block or never end.
            return open(open_regular(candidate), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            continue
    raise FileNotFoundError(f"no WARC file {path} (nor {open_name(path).name})")


def _response_headers(exchange: Exchange) -> _Head:
    """The response's status line and headers as stored: de-chunked, Content-Length true to the body."""
    reason = exchange.reason or reason_phrase(exchange.status)
    stored = str(len(exchange.body))
    headers, original_lengths = [], []
    for name, value in exchange.response_headers:
        lowered = name.strip().lower()
        if lowered == "transfer-encoding":
            continue  # The body handed to us is de-chunked; a stale "chunked" would make readers mangle it.
        if lowered == "content-length":
            if not original_lengths:
                headers.append(("Content-Length", stored))  # where the server put it
            original_lengths.append(value.strip())
            continue
        headers.append((_one_line(name), _one_line(value)))
    if not original_lengths:
        if exchange.status != 304:  # a 304 has no body, and says nothing of its length
            headers.append(("Content-Length", stored))
    elif set(original_lengths) != {stored}:
        headers.append(("X-Original-Content-Length", _one_line(", ".join(original_lengths))))
    protocol = exchange.protocol if _PROTOCOL.match(exchange.protocol or "") else "HTTP/1.1"
    statusline = f"{exchange.status} {_one_line(reason)}".strip()
    return _Head(statusline, headers, protocol)


def _request_headers(exchange: Exchange) -> _Head:
    """The request line and headers as sent."""
    parts = urlsplit(_safe_uri(exchange.url))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    protocol = exchange.protocol if _PROTOCOL.match(exchange.protocol or "") else "HTTP/1.1"
    headers = [(_one_line(n), _one_line(v)) for n, v in exchange.request_headers]
    return _Head(f"{target} {protocol}", headers, exchange.method.upper())


def is_conditional(exchange: Exchange) -> bool:
    """Whether the request carried validators (If-None-Match, If-Modified-Since): a 304 may answer it."""
    return any(name.lower() in ("if-none-match", "if-modified-since") for name, _ in exchange.request_headers)


def _random_record_id() -> str:
    """A new WARC-Record-ID: a random (version 4) UUID URN, as `uuid.uuid4()` makes, without its checks."""
    octets = bytearray(os.urandom(16))
    octets[6] = octets[6] & 0x0F | 0x40  # version 4
    octets[8] = octets[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = octets.hex()
    return f"<urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}>"


def _warc_date(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"a WARC date needs a timezone-aware datetime, got {moment!r}")
    moment = moment.astimezone(UTC)
    if moment.year < 1000:  # strftime writes such a year without leading zeros (isoformat pads it)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"  # strftime's, in a third less time


def _safe_uri(url: str) -> str:
    """A URL fit for a WARC header: whitespace and control characters percent-encoded (never on the wire)."""
    if _UNSAFE_IN_URI.search(url) is None:
        return url  # as nearly every URL is: no second pass to copy it
    return _UNSAFE_IN_URI.sub(lambda m: f"%{ord(m.group()):02X}", url)


def _one_line(text: str) -> str:
    return _CONTROL.sub(" ", text)


def _safe_subdir(subdir: str) -> str:
    inside = inside_archive(subdir)
    if inside is None:
        raise ValueError(f"WARC subdir must be a relative path inside the archive, got {subdir!r}")
    return inside


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
