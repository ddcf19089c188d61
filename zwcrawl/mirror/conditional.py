"""The mirror's validators (ETag, Last-Modified) and the conditional GET they allow (RFC 9110 13)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path


def validators(path: Path, sent: bytes) -> dict[str, str]:
    """A strong ETag of the bytes sent (so a gzip answer has its own) and the file's time as Last-Modified."""
    modified = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
    return {
        "ETag": '"' + hashlib.sha1(sent).hexdigest() + '"',
        "Last-Modified": format_datetime(modified, usegmt=True),
    }


def not_modified(request_headers, answer: dict[str, str]) -> bool:
    """Whether a GET carrying these headers gets 304 for an answer with these validators (RFC 9110 13.2.2)."""
    if_none_match = request_headers.get("If-None-Match")
    if if_none_match is not None:
        # If-None-Match wins over If-Modified-Since; its comparison is weak (W/ ignored).
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or answer["ETag"] in tags
    since = _http_date(request_headers.get("If-Modified-Since"))
    modified = _http_date(answer["Last-Modified"])
    return since is not None and modified is not None and modified <= since


def _http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None  # an unreadable date is ignored, as RFC 9110 13.1.3 says
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
