"""Reading WARC files gzip member by member: each member checked to its end, lengths and digests."""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import IO

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser, StatusAndHeadersParserException

from zwcrawl.warc._fs import open_regular
from zwcrawl.warc.types import Original, RecordLocation, target_uri
from zwcrawl.warc.writer import open_warc_file

_CHUNK = 1 << 16
_MAX_LINE = 1 << 16
_MAX_HEADER = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_VERSIONS = ["WARC/1.1", "WARC/1.0", "WARC/0.18", "WARC/0.17"]
_HTTP_TYPES = ("response", "request", "revisit")
_RECORD_END = b"\r\n\r\n"
_EMPTY = "empty gzip member"


class WarcFormatError(Exception):
    """A WARC file holds a record that is incomplete or does not parse."""


@dataclass
class ScannedRecord:
    """One gzip member of a WARC file as read: its record's headers (when they parse) and what is wrong."""

    offset: int
    length: int
    headers: StatusAndHeaders | None = None
    http_status: int | None = None
    problems: list[str] = field(default_factory=list)  # the record is unsound: incomplete or malformed
    digest_problems: list[str] = field(default_factory=list)  # sound, but a digest does not match

    @property
    def sound(self) -> bool:
        """Whether the member is complete and holds exactly one well-formed record."""
        return not self.problems

    def location(self, warc_file: str) -> RecordLocation:
        """The record's location, with `warc_file` as its file name."""
        h = self.headers
        refers = None
        if h.get_header("WARC-Type") == "revisit":
            refers = Original(
                payload_digest=h.get_header("WARC-Payload-Digest") or "",
                record_id=h.get_header("WARC-Refers-To") or "",
                url=target_uri(h.get_header("WARC-Refers-To-Target-URI")),
                date=h.get_header("WARC-Refers-To-Date") or "",
            )
        return RecordLocation(
            record_type=h.get_header("WARC-Type") or "",
            record_id=h.get_header("WARC-Record-ID") or "",
            url=target_uri(h.get_header("WARC-Target-URI")),
            date=h.get_header("WARC-Date") or "",
            warc_file=warc_file,
            offset=self.offset,
            length=self.length,
            payload_digest=h.get_header("WARC-Payload-Digest"),
            refers_to=refers,
            concurrent_to=h.get_header("WARC-Concurrent-To"),
        )


def iter_records(path: Path, warc_file: str | None = None) -> Iterator[RecordLocation]:
    """The locations of a file's records in order; raises WarcFormatError at the first unsound one."""
    path = Path(path)
    for scanned in scan_warc(path, digests=False):
        if not scanned.sound:
            raise WarcFormatError(f"{path}: record at offset {scanned.offset}: {'; '.join(scanned.problems)}")
        yield scanned.location(warc_file or path.name)


def read_payload(path: str | Path, offset: int) -> tuple[str | None, bytes]:
    """The HTTP Content-Type and payload of the record at `offset`, de-chunked and decoded as a browser would
    (warcio); from the `.open` file while a writer still has it."""
    with open_warc_file(path) as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)))
        content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
        return content_type, record.content_stream().read()


def scan_warc(path: Path, *, digests: bool = True) -> Iterator[ScannedRecord]:
    """Every gzip member of a file in order, streamed; after a broken member, resumes at the next one."""
    with open(open_regular(path), "rb") as fh:  # NotRegularFile for a FIFO, which would block for ever
        offset, head = 0, b""
        while True:
            if not head:
                head = fh.read(_CHUNK)
                if not head:
                    return
            member = _Member(fh, offset, head)
            scanned = _read_record(member, offset, digests)
            if member.error is None:
                scanned.length = member.end - offset
                yield scanned
                offset, head = member.end, member.leftover
                continue
            # The member's own damage first; a parse problem that only says it found nothing adds nothing.
            scanned.problems[:] = [member.error] + [p for p in scanned.problems if p != _EMPTY]
            following = _next_member(fh, offset + 1)
            scanned.length = (following if following is not None else fh.seek(0, 2)) - offset
            yield scanned
            if following is None:
                return
            fh.seek(following)
            offset, head = following, b""


class _Member:
    """The decompressed bytes of one gzip member, read on demand; `end` and `leftover` once it is drained."""

    def __init__(self, fh: IO[bytes], offset: int, head: bytes):
        self._fh = fh
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input = head
        self._input_at = offset  # the file offset of self._input[0]
        self._buf = bytearray()
        self._pos = 0
        self.error: str | None = None
        self.end: int | None = None
        self.leftover = b""

    @property
    def finished(self) -> bool:
        """Whether the gzip stream ended properly (CRC and length checked by zlib)."""
        return self._z.eof

    def _more(self) -> bool:
        """Decompress some more into the buffer; False when the member has no more to give."""
        while not self._z.eof and self.error is None:
            if not self._input:
                self._input = self._fh.read(_CHUNK)
                if not self._input:
                    self.error = "gzip member cut short: the file ends inside it"
                    return False
            before = self._z.copy()
            try:
                out = self._z.decompress(self._input, _CHUNK)
            except zlib.error as exc:
                self.error = f"gzip member corrupt ({exc})"
                # zlib drops a failing call's output: replay it in small steps to keep what came before
                # the damage, so the record's headers can still name it.
                salvaged = _salvage(before, self._input)
                self._buf += salvaged
                return bool(salvaged)
            if self._z.eof:
                self.leftover = self._z.unused_data
                self.end = self._input_at + len(self._input) - len(self.leftover)
                self._input = b""
            else:
                tail = self._z.unconsumed_tail
                self._input_at += len(self._input) - len(tail)
                self._input = tail
            if out:
                self._buf += out
                return True
        return False

    def _compact(self) -> None:
        if self._pos > _CHUNK:
            del self._buf[: self._pos]
            self._pos = 0

    def read(self, size: int) -> bytes:
        while len(self._buf) - self._pos < size and self._more():
            pass
        data = bytes(self._buf[self._pos : self._pos + size])
        self._pos += len(data)
        self._compact()
        return data

    def readline(self, limit: int) -> bytes:
        start = self._pos
        while True:
            newline = self._buf.find(b"\n", start, self._pos + limit)
            if newline >= 0:
                end = newline + 1
                break
            searched = len(self._buf)
            if searched - self._pos >= limit or not self._more():
                end = min(len(self._buf), self._pos + limit)
                break
            start = searched
        data = bytes(self._buf[self._pos : end])
        self._pos = end
        self._compact()
        return data

    def drain(self) -> int:
        """Read to the member's end; returns how many bytes were left."""
        left = len(self._buf) - self._pos
        self._buf.clear()
        self._pos = 0
        while self._more():
            left += len(self._buf)
            self._buf.clear()
        return left


def _salvage(z, data: bytes) -> bytes:
    out = bytearray()
    for start in range(0, len(data), 64):
        try:
            out += z.decompress(data[start : start + 64])
        except zlib.error:
            break
        if z.eof:
            break
    return bytes(out)


def _read_record(member: _Member, offset: int, digests: bool) -> ScannedRecord:
    """Parse the one record a member should hold, reading it to its end; problems collected, not raised."""
    scanned = ScannedRecord(offset=offset, length=0)
    try:
        _parse_into(scanned, member, digests)
    finally:
        extra = member.drain()
    if extra and not scanned.problems:
        scanned.problems.append(f"{extra} bytes follow the record inside its gzip member")
    return scanned


def _parse_into(scanned: ScannedRecord, member: _Member, digests: bool) -> None:
    header = bytearray()
    while True:
        line = member.readline(_MAX_LINE)
        if not line:
            scanned.problems.append("record header cut short" if header else _EMPTY)
            return
        header += line
        if line in (b"\r\n", b"\n"):
            break
        if len(header) > _MAX_HEADER:
            scanned.problems.append("record header too long")
            return
    try:
        headers = StatusAndHeadersParser(_WARC_VERSIONS).parse(BytesIO(bytes(header)))
    except (StatusAndHeadersParserException, EOFError):
        first = bytes(header.split(b"\n", 1)[0][:60])
        scanned.problems.append(f"not a WARC record (first line {first!r})")
        return
    scanned.headers = headers
    try:
        length = int(headers.get_header("Content-Length", ""))
        if length < 0:
            raise ValueError
    except ValueError:
        scanned.problems.append(f"bad Content-Length {headers.get_header('Content-Length')!r}")
        return
    record_type = headers.get_header("WARC-Type") or ""
    uri = target_uri(headers.get_header("WARC-Target-URI"))  # wget writes <http://...>
    block = _Hasher(headers.get_header("WARC-Block-Digest") if digests else None, "block", scanned)
    payload_digest = headers.get_header("WARC-Payload-Digest") if digests else None
    # A revisit's payload digest names the original's payload, which is not in this record.
    payload = _Hasher(None if record_type == "revisit" else payload_digest, "payload", scanned)
    remaining = length
    if length and record_type in _HTTP_TYPES and uri.startswith(("http:", "https:")):
        status_line = None
        while True:
            line = member.readline(min(_MAX_LINE, remaining)) if remaining else b""
            if not line:
                scanned.problems.append("HTTP headers do not end inside the block")
                return
            remaining -= len(line)
            block.update(line)
            if status_line is None:
                status_line = line
            if not line.strip():
                break
        if record_type != "request":
            scanned.http_status = _status_code(status_line)
    while remaining:
        data = member.read(min(_CHUNK, remaining))
        if not data:
            got = length - remaining
            scanned.problems.append(f"block shorter than its Content-Length ({got} of {length} bytes)")
            return
        remaining -= len(data)
        block.update(data)
        payload.update(data)
    end = member.read(len(_RECORD_END))
    if end != _RECORD_END:
        scanned.problems.append(f"block does not match its Content-Length {length} (no CRLFCRLF after it)")
        return
    block.check()
    payload.check()


class _Hasher:
    """Hashes bytes as they stream by and checks them against a WARC digest header."""

    def __init__(self, expected: str | None, kind: str, scanned: ScannedRecord):
        self.expected, self.kind, self.scanned = expected, kind, scanned
        self._hash = None
        if expected:
            algorithm = expected.partition(":")[0].lower().replace("-", "")
            try:
                self._hash = hashlib.new(algorithm)
            except ValueError:
                scanned.digest_problems.append(f"{kind} digest uses an unknown algorithm: {expected}")

    def update(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)

    def check(self) -> None:
        if self._hash is None:
            return
        actual = self._hash.digest()
        if _decode_digest(self.expected.partition(":")[2], len(actual)) != actual:
            got = self.expected.partition(":")[0] + ":" + base64.b32encode(actual).decode("ascii")
            problem = f"{self.kind} digest mismatch: header {self.expected}, content {got}"
            self.scanned.digest_problems.append(problem)


def _decode_digest(value: str, size: int) -> bytes | None:
    """A digest value in any RFC 3548 encoding warcio accepts (base32, base16, base64) as raw bytes."""
    for decode in (
        lambda v: base64.b32decode(v, casefold=True),
        lambda v: base64.b16decode(v, casefold=True),
        base64.b64decode,
        base64.urlsafe_b64decode,
    ):
        try:
            raw = decode(value)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == size:
            return raw
    return None


def _status_code(line: bytes | None) -> int | None:
    parts = (line or b"").split(None, 2)
    if len(parts) >= 2 and parts[1].isdigit():
        return int(parts[1])
    return None


def _next_member(fh: IO[bytes], start: int) -> int | None:
    """The offset of the next gzip member at or after `start` that begins a WARC record, or None."""
    at = start
    fh.seek(at)
    carry = b""
    while True:
        chunk = fh.read(_CHUNK)
        if not chunk:
            return None
        window = carry + chunk
        base = at - len(carry)
        found = window.find(_GZIP_MAGIC)
        while found >= 0:
            if _begins_record(fh, base + found):
                return base + found
            found = window.find(_GZIP_MAGIC, found + 1)
        carry = window[-(len(_GZIP_MAGIC) - 1) :]
        at += len(chunk)
        fh.seek(at)


def _begins_record(fh: IO[bytes], offset: int) -> bool:
    fh.seek(offset)
    z = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = z.decompress(fh.read(4096), 16)
    except zlib.error:
        return False
    return head.startswith(b"WARC/")
