"""What the WARC layer takes and gives: an HTTP exchange, the original a revisit names, a record's place."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Exchange:
    """One HTTP exchange as it went over the wire; header strings are the wire bytes decoded as latin-1."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes
    fetched_at: datetime
    ip_address: str | None = None
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class Original:
    """The capture a revisit refers to: its payload digest, record id, URL and WARC-Date."""

    payload_digest: str
    record_id: str
    url: str
    date: str


@dataclass(frozen=True)
class RecordLocation:
    """Where one record landed: its file (relative to the archive dir), gzip member offset and length."""

    record_type: str
    record_id: str
    url: str
    date: str
    warc_file: str
    offset: int
    length: int
    payload_digest: str | None
    refers_to: Original | None = None
    concurrent_to: str | None = field(default=None, compare=False)


# Derived records (the fields extracted from a page) live under their own URI, as Browsertrix keeps its page
# text and info under urn:text: and urn:pageinfo:. Under the page's own URL and WARC-Date, replay tools that
# index every record (pywb's wb-manager) served the JSON in place of the page, as files written before did.
FIELDS_URI_PREFIX = "urn:zwcrawl:fields:"


def fields_uri(page_url: str) -> str:
    """The WARC-Target-URI of the metadata record that holds the fields extracted from `page_url`."""
    return FIELDS_URI_PREFIX + page_url


def described_url(target_uri: str) -> str:
    """The page a metadata record describes: its URI less the urn prefix (older records name the page)."""
    return target_uri.removeprefix(FIELDS_URI_PREFIX)


def sha1_digest(*parts: bytes) -> str:
    """A WARC digest of some bytes (the parts one after the other): "sha1:" and the base32 SHA-1, as warcio
    writes it."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    # base64.b32encode's answer, from a table of letter pairs: it is Python, 5 bytes a turn, and a crawl
    # writes five digests a page.
    number = int.from_bytes(digest.digest(), "big")
    return "sha1:" + "".join([_BASE32_PAIRS[(number >> shift) & 0x3FF] for shift in _PAIR_SHIFTS])


_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BASE32_PAIRS = [first + second for first in _BASE32 for second in _BASE32]  # 10 bits -> two letters
_PAIR_SHIFTS = tuple(range(150, -1, -10))  # a SHA-1's 160 bits, 10 at a time from the top


def target_uri(value: str | None) -> str:
    """A WARC-Target-URI as a URL: wget and WARC 1.0 drafts wrap it in <...>, which is no part of it."""
    value = (value or "").strip()
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value
