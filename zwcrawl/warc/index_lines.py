"""A WARC file's CDXJ lines made as its records are written: the lines `index_warc` would read back."""

from __future__ import annotations

import functools
import importlib
import json
import re
import sys
import types
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any

from warcio.recordloader import ArcWarcRecordLoader
from warcio.timeutils import iso_date_to_timestamp

from zwcrawl.warc.index import INDEXED_RECORDS

_INDEXED = frozenset(INDEXED_RECORDS.split(","))
# The writer's own WARC-Type values that are never indexed: skipped without reading their headers back.
_NEVER_INDEXED = frozenset({"request", "metadata", "warcinfo"})
_HTTP_SCHEMES = ("http:", "https:")  # warcio's loader's HTTP_SCHEMES
_MIME_END = re.compile(r"[;\s]")  # cdxj_indexer's RE_SPACE: "text/html; charset=utf-8" -> "text/html"
# The most line text held for one file (about 12,000 records, 4 MB in memory): past it the lines are dropped
# and the file read back at close, so a crawl's memory stays flat however large ZW_WARC_MAX_SIZE lets a file
# grow (a 1 GB file of this site holds some 200,000 pages). A copy's crawl closes its file long before.
MAX_HELD = 4_000_000


class IndexLines:
    """One WARC file's CDXJ lines, one per indexed record as written; `lines` is None once one is unknown.

    Each record's headers are parsed back from the very bytes written, by warcio's own record loader
    configured as cdxj_indexer's reader is, and each line is built as cdxj_indexer builds it, so the file's
    index is the one reading it back would write. A record it cannot vouch for (a gzip member copied whole,
    a line that raised) or more lines than `MAX_HELD` leave `lines` None: the file is then read back when it
    closes, as before.
    """

    def __init__(self, filename: str):
        self.filename = filename
        self.lines: list[str] | None = []
        self._held = 0
        self._loader = ArcWarcRecordLoader(verify_http=False, arc2warc=True)

    def add(self, records: Sequence[Any], spans: Sequence[tuple[str, int, int]]) -> None:
        """Note the lines of records just written (the writer's, or gzip members as bytes) at `spans`."""
        for record, (_, offset, length) in zip(records, spans, strict=True):
            if self.lines is None:
                return
            if isinstance(record, bytes):
                self.lines = None  # a member copied as it was: no headers in hand, the file is read back
                return
            if record.rec_headers.get_header("WARC-Type") in _NEVER_INDEXED:
                continue
            try:
                line = self._line(record, offset, length)
            except Exception:
                self.lines = None  # anything unforeseen: read the file back at close rather than guess
                return
            if line is not None:
                self.lines.append(line)
                self._held += len(line)
                if self._held > MAX_HELD:
                    self.lines = None

    def _line(self, record: Any, offset: int, length: int) -> str | None:
        """The record's line as cdxj_indexer writes it (None for a record type it leaves out)."""
        rec_type, headers, http = self._as_read(record)
        if rec_type not in _INDEXED:
            return None
        # cdxj_indexer's fields in its order, each left out when None (CDXJIndexer.get_field).
        if rec_type == "revisit":
            mime = "warc/revisit"
        else:
            if rec_type == "response":
                mime = http.get_header("content-type") if http else None
            else:  # a resource: its own Content-Type
                mime = headers.get_header("content-type")
            if mime:
                mime = _MIME_END.split(mime, 1)[0].strip()
        status = http.get_statuscode() if rec_type in ("response", "revisit") and http else None
        digest = headers.get_header("warc-payload-digest")
        if not digest:
            raise ValueError("no payload digest: cdxj_indexer would compute one from the payload")
        fields = {
            "url": headers.get_header("warc-target-uri"),
            "mime": mime,
            "status": status,
            "digest": digest,
            "length": str(length),
            "offset": str(offset),
            "filename": self.filename,
        }
        index = {name: value for name, value in fields.items() if value is not None}
        url = index.get("url") or headers.get_header("WARC-Target-URI")
        stamp = iso_date_to_timestamp(headers.get_header("WARC-Date"))
        return f"{url_key(url)} {stamp} {json.dumps(index)}\n"

    def _as_read(self, record: Any) -> tuple[str | None, Any, Any]:
        """The record's type, WARC headers and HTTP headers as warcio's reader of the file gets them."""
        headers, http = record.rec_headers, record.http_headers
        if _reads_back_as_is(headers, http):
            # As the loader does: HTTP headers are parsed only for an http(s) URI, its case as written.
            uri = headers.get_header("WARC-Target-URI")
            return headers.get_header("WARC-Type"), headers, http if uri.startswith(_HTTP_SCHEMES) else None
        written = headers.to_bytes(encoding="utf-8")  # as warcio's writer wrote them
        if http:
            written += http.headers_buff
        read = self._loader.parse_record_stream(BytesIO(written))
        return read.rec_type, read.rec_headers, read.http_headers


def _reads_back_as_is(headers: Any, http: Any) -> bool:
    """Whether warcio's reader gets exactly these headers back from their bytes (else they are parsed).

    The reader decodes each line as UTF-8 (else Latin-1), strips each line's end and each value's start,
    splits a line at its first colon, and takes a line starting with a space or tab as the previous value's
    continuation. So: every line whole, the values read strip-clean, HTTP names clean and all of it ASCII.
    """
    if not all("\n" not in value for _, value in headers.headers):
        return False
    for name in ("WARC-Type", "WARC-Target-URI", "WARC-Date", "WARC-Payload-Digest", "Content-Type"):
        value = headers.get_header(name)
        if value is not None and value != value.strip():
            return False
    uri = headers.get_header("WARC-Target-URI")
    if uri is None or " " in uri or (uri.startswith("<") and uri.endswith(">")):
        return False  # the reader would mend it
    if headers.get_header("WARC-Type") == "resource":
        return not http
    if not http or not http.headers_buff:
        return False  # no HTTP headers: the reader would parse the payload as them
    protocol, statusline = http.protocol, http.statusline
    if not protocol or protocol != protocol.strip() or " " in protocol or statusline != statusline.strip():
        return False
    # All ASCII: written as it is (not percent-encoded as text beyond latin-1 is), decoded back the same.
    return (protocol + statusline).isascii() and all(
        (name + value).isascii()
        and name == name.strip(" \t")
        and ":" not in name
        and "\n" not in name + value
        and value == value.strip()
        for name, value in http.headers
    )


def url_key(url: str | None) -> str:
    """A URL's SURT key as cdxj_indexer makes it (surt's default canonicalisation; the URL if it fails)."""
    try:
        return _surt()(url)
    except Exception:
        return url


@functools.cache
def _surt() -> Callable[[str | None], str]:
    """surt's `surt`, imported without tldextract (and its requests, urllib3, filelock): 0.2 s and 3 MB less.

    surt's handyurl imports tldextract only for its public-suffix options, which neither cdxj_indexer nor
    this module asks for. A stand-in takes its place while surt is imported and is removed at once; should
    anything ever read it, it hands over to the real tldextract.
    """
    if "surt" in sys.modules or "tldextract" in sys.modules:
        return importlib.import_module("surt").surt
    stand_in = types.ModuleType("tldextract", "Stands for tldextract in surt; imports it if ever read.")
    stand_in.__getattr__ = lambda name: getattr(importlib.import_module("tldextract"), name)
    sys.modules["tldextract"] = stand_in
    try:
        surt = importlib.import_module("surt")
    finally:
        if sys.modules.get("tldextract") is stand_in:
            del sys.modules["tldextract"]
    return surt.surt
