"""The crawl a WARC file belongs to, as its warcinfo record says: written by a crawl, read back by rebuild."""

from __future__ import annotations

import json
from dataclasses import dataclass

_ID, _STARTED, _OPTIONS = "zwcrawl-crawl-id", "zwcrawl-crawl-started", "zwcrawl-crawl-options"


@dataclass(frozen=True)
class CrawlInfo:
    """A crawl as its WARC files name it: id, start time and options (None where an older file lacks them)."""

    crawl_id: int
    started_at: str | None = None
    options: dict | None = None


def crawl_warcinfo(crawl_id: int, started_at: str, options: dict) -> dict[str, str]:
    """The warcinfo fields naming a crawl: its id, when it started and its options as one line of JSON."""
    return {
        _ID: str(crawl_id),
        _STARTED: started_at,
        _OPTIONS: json.dumps(options, ensure_ascii=False, sort_keys=True, default=str),
    }


def parse_warc_fields(block: bytes) -> dict[str, str]:
    """The `name: value` lines of an application/warc-fields block (the first of a repeated name wins)."""
    fields: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            fields.setdefault(name.strip(), value.strip())
    return fields


def read_crawl_warcinfo(fields: dict[str, str]) -> CrawlInfo | None:
    """The crawl a warcinfo record's fields name, or None when they name none (another tool's file)."""
    raw_id = fields.get(_ID, "")
    if not raw_id.isdigit():
        return None
    try:
        options = json.loads(fields[_OPTIONS]) if _OPTIONS in fields else None
    except ValueError:
        options = None
    return CrawlInfo(
        int(raw_id), fields.get(_STARTED) or None, options if isinstance(options, dict) else None
    )
