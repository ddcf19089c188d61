"""The WARC layer: capture exchanges into WARC files, index them, read them back, recover a killed tail."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zwcrawl.warc.index import index_path, index_warc, merge_indexes
    from zwcrawl.warc.info import CrawlInfo, crawl_warcinfo, parse_warc_fields, read_crawl_warcinfo
    from zwcrawl.warc.reader import ScannedRecord, WarcFormatError, iter_records, scan_warc
    from zwcrawl.warc.recover import RecoveryReport, recover_archive, recover_warc
    from zwcrawl.warc.types import (
        FIELDS_URI_PREFIX,
        Exchange,
        Original,
        RecordLocation,
        described_url,
        fields_uri,
        sha1_digest,
        target_uri,
    )
    from zwcrawl.warc.writer import WarcWriter, is_conditional

# Each name's module, imported on first use: a command that needs one path helper (`zwcrawl search` reads
# zwcrawl.warc.paths through the store) then skips the CDXJ indexer and warcio, about a second of start-up.
_MODULES = {
    "index_path": "index",
    "index_warc": "index",
    "merge_indexes": "index",
    "CrawlInfo": "info",
    "crawl_warcinfo": "info",
    "parse_warc_fields": "info",
    "read_crawl_warcinfo": "info",
    "ScannedRecord": "reader",
    "WarcFormatError": "reader",
    "iter_records": "reader",
    "scan_warc": "reader",
    "RecoveryReport": "recover",
    "recover_archive": "recover",
    "recover_warc": "recover",
    "FIELDS_URI_PREFIX": "types",
    "Exchange": "types",
    "Original": "types",
    "RecordLocation": "types",
    "described_url": "types",
    "fields_uri": "types",
    "sha1_digest": "types",
    "target_uri": "types",
    "WarcWriter": "writer",
    "is_conditional": "writer",
}


def __getattr__(name: str) -> object:
    """The package's names, each from its module on first use (PEP 562)."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)


__all__ = [
    "FIELDS_URI_PREFIX",
    "CrawlInfo",
    "Exchange",
    "Original",
    "RecordLocation",
    "RecoveryReport",
    "ScannedRecord",
    "WarcFormatError",
    "WarcWriter",
    "described_url",
    "fields_uri",
    "crawl_warcinfo",
    "index_path",
    "index_warc",
    "is_conditional",
    "iter_records",
    "merge_indexes",
    "parse_warc_fields",
    "read_crawl_warcinfo",
    "recover_archive",
    "recover_warc",
    "scan_warc",
    "sha1_digest",
    "target_uri",
]
