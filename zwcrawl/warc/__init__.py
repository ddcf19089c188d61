"""The WARC layer: capture exchanges into WARC files, index them, read them back, recover a killed tail."""

from __future__ import annotations

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
