"""CDXJ indexes: one per WARC file and a merged one, listing every response and revisit where it lies."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from conftest import indexes_unlike_read_back
from hypothesis import example, given
from hypothesis import strategies as st

from zwcrawl.warc import (
    Exchange,
    Original,
    WarcWriter,
    index_lines,
    index_path,
    index_warc,
    merge_indexes,
    scan_warc,
)
from zwcrawl.warc.index import MERGED_INDEX as MERGED


def _exchange(n: int, body: bytes) -> Exchange:
    return Exchange(
        url=f"http://127.0.0.1:8001/news/article/{n}",
        method="GET",
        request_headers=[("Host", "127.0.0.1:8001")],
        request_body=b"",
        status=200,
        reason="OK",
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        body=body,
        fetched_at=datetime(2026, 11, 25, 20, 15, n, tzinfo=UTC),
    )


def _lines(path: Path) -> list[tuple[str, str, dict]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key, stamp, fields = line.split(" ", 2)
        out.append((key, stamp, json.loads(fields)))
    return out


def _crawl(archive: Path, first: int, count: int) -> list:
    """Write `count` pages twice (a response, then a revisit) plus metadata; returns their locations."""
    found = []
    with WarcWriter(archive, fsync=False) as writer:
        for n in range(first, first + count):
            _, response = writer.write_exchange(_exchange(n, f"<p>{n}</p>".encode()))
            writer.write_metadata(response.url, response.record_id, {"n": n})
            original = Original(response.payload_digest, response.record_id, response.url, response.date)
            _, revisit = writer.write_exchange(_exchange(n, f"<p>{n}</p>".encode()), original)
            found += [response, revisit]
    return found


def test_close_indexes_responses_and_revisits_where_they_lie(tmp_path):
    locations = _crawl(tmp_path, 1, 3)
    (warc,) = (tmp_path / "warc").glob("*.warc.gz")
    index = index_path(warc)
    assert index.name == warc.name.removesuffix(".warc.gz") + ".cdxj"
    lines = _lines(index)
    assert [line[:2] for line in lines] == sorted(line[:2] for line in lines)
    assert all(fields["filename"] == warc.name for _, _, fields in lines)
    got = sorted((f["url"], int(f["offset"]), int(f["length"]), f["mime"], f["digest"]) for _, _, f in lines)
    want = sorted(
        (
            loc.url,
            loc.offset,
            loc.length,
            "warc/revisit" if loc.record_type == "revisit" else "text/html",
            loc.payload_digest,
        )
        for loc in locations
    )
    assert got == want  # request and metadata records are not replay targets
    key, stamp, _ = lines[0]
    assert key == "1,0,0,127:8001)/news/article/1" and stamp == "20261125201501"


def test_index_warc_replaces_an_old_index(tmp_path):
    _crawl(tmp_path, 1, 1)
    (warc,) = (tmp_path / "warc").glob("*.warc.gz")
    index_path(warc).write_text("stale\n")
    assert index_warc(warc) == index_path(warc)
    assert "stale" not in index_path(warc).read_text()
    assert not list((tmp_path / "warc").glob(".*.tmp"))


def test_merge_indexes_covers_every_file_sorted(tmp_path):
    _crawl(tmp_path, 5, 3)
    _crawl(tmp_path, 1, 3)
    warc_dir = tmp_path / "warc"
    merged = merge_indexes(warc_dir)
    assert merged == warc_dir / "index.cdxj"
    lines = merged.read_text(encoding="utf-8").splitlines()
    per_file = [ln for p in sorted(warc_dir.glob("zwcrawl-*.cdxj")) for ln in p.read_text().splitlines()]
    assert len(per_file) == 12
    assert lines == sorted(per_file)
    assert {json.loads(ln.split(" ", 2)[2])["filename"] for ln in lines} == {
        p.name for p in warc_dir.glob("*.warc.gz")
    }
    assert merge_indexes(warc_dir).read_text(encoding="utf-8").splitlines() == lines  # never merges itself


def _read_back(warc: Path, scratch: Path) -> bytes:
    """What cdxj_indexer writes for a WARC file, read back from a copy of it (`index_warc` without lines)."""
    scratch.mkdir(exist_ok=True)
    copy = scratch / warc.name
    copy.write_bytes(warc.read_bytes())
    return index_warc(copy).read_bytes()


def test_a_crawls_indexes_are_what_reading_back_writes(small_archive, refreshed_archive, tmp_path):
    """Three crawls of the misbehaving copy (redirects, 503s, a 404, both editions) and two of a copy
    whose second crawl finds most pages unchanged (revisits): indexes made as written, byte for byte."""
    for number, archive in enumerate((small_archive, refreshed_archive.archive)):
        assert indexes_unlike_read_back(archive, tmp_path / str(number)) == []
    lines = [ln for a in (small_archive, refreshed_archive.archive) for ln in _lines(a / "warc" / MERGED)]
    assert {f.get("status") for _, _, f in lines} >= {"200", "301", "302", "404", "503"}
    assert {"warc/revisit", "text/html", "application/rss+xml", "text/plain"} <= {
        f["mime"] for _, _, f in lines
    }
    assert len({urlsplit(f["url"]).port for _, _, f in lines}) >= 4  # both editions of both copies


def test_a_file_cut_back_after_a_failed_write_is_indexed_as_it_is(tmp_path):
    writer = WarcWriter(tmp_path, fsync=False)
    _, kept = writer.write_exchange(_exchange(1, b"<p>1</p>"))
    writer._fh = _FailingFile(writer._fh)
    with pytest.raises(OSError):
        writer.write_exchange(_exchange(2, b"<p>2</p>"))  # written whole, then the sync fails: cut off
    writer.close()
    warc = tmp_path / kept.warc_file
    assert [f["url"] for _, _, f in _lines(index_path(warc))] == [kept.url]
    assert index_path(warc).read_bytes() == _read_back(warc, tmp_path / "copy")


class _FailingFile:
    """A file whose flush fails once (as an fsync on a failing disk would), after its writes went through."""

    def __init__(self, fh):
        self._fh, self._failed = fh, False

    def flush(self):
        if not self._failed:
            self._failed = True
            raise OSError(5, "Input/output error")
        return self._fh.flush()

    def __getattr__(self, name):
        return getattr(self._fh, name)


def test_copied_records_are_indexed_by_reading_the_file_back(tmp_path):
    _crawl(tmp_path / "source", 1, 2)
    (source,) = (tmp_path / "source" / "warc").glob("*.warc.gz")
    with WarcWriter(tmp_path / "copy", fsync=False) as writer:
        writer.write_exchange(_exchange(9, b"<p>9</p>"))
        for scanned in scan_warc(source):
            with open(source, "rb") as fh:
                fh.seek(scanned.offset)
                writer.write_copy(fh.read(scanned.length), may_roll=False)
    (warc,) = (tmp_path / "copy" / "warc").glob("*.warc.gz")
    assert len(_lines(index_path(warc))) == 5  # its own response and the four copied
    assert index_path(warc).read_bytes() == _read_back(warc, tmp_path / "back")


def test_past_the_lines_held_a_file_is_read_back(tmp_path, monkeypatch):
    monkeypatch.setattr(index_lines, "MAX_HELD", 600)  # two lines of these
    writer = WarcWriter(tmp_path, fsync=False)
    writer.write_exchange(_exchange(1, b"<p>1</p>"))
    assert writer._lines.lines is not None
    writer.write_exchange(_exchange(2, b"<p>2</p>"))
    writer.write_exchange(_exchange(3, b"<p>3</p>"))
    assert writer._lines.lines is None  # dropped, memory freed: the file is read back at close
    (warc,) = writer.close()
    assert len(_lines(index_path(warc))) == 3
    assert index_path(warc).read_bytes() == _read_back(warc, tmp_path / "back")


# URLs a writer may be handed: any scheme's case, hosts by name, number, IDN or Arabic, ports default or
# not, paths of Arabic (percent-encoded as Scrapy hands them over: the request line is latin-1), escapes of
# either case and double ones, dot segments and doubled slashes, queries in any order with session ids,
# fragments, and the odd bytes the writer escapes itself.
_PIECE = st.sampled_from(
    ["news", "article", "34489", "عنوان", "%D8%B9%D8%B1%D8%A8%D9%8A", "%d8%b9", "%252F", "%2F", "..", ".",
     "", "a b", "x\ty", "~user", "jsessionid=0123456789abcdef0123456789abcdef", "index.html", "%", "%zz",
     ";p=1", "A", "Ü", "\u00a0", "@", ":", "<", ">", "'", '"', "{}", "|", "\\", "^", "`"]
)  # fmt: skip
_QUERY = st.lists(
    st.tuples(
        st.sampled_from(["a", "B", "id", "q", "PHPSESSID", "sid", "utm_source", "ك", "x%20y", ""]),
        st.sampled_from(["1", "", "عربي", "%D8%B9", "a+b", "a b", "=", "2&c=3", "0123456789abcdef" * 2]),
    ),
    max_size=4,
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
_URLS = st.builds(
    lambda scheme, host, port, rest: f"{scheme}://{host}{port}/{_encoded(rest)}",
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    st.sampled_from(
        [
            "127.0.0.1",
            "en.zamanalwsl.net",
            "www.zamanalwsl.net",
            "WWW.Zamanalwsl.NET",
            "zamanalwsl.net.",
            "زمن.example",
            "xn--mgbh0fb.example",
            "www2.example.com",
            "[::1]",
            "user:pw@example.com",
            "10.0.0.1",
        ]
    ),  # fmt: skip
    st.sampled_from(["", ":80", ":443", ":8001", ":"]),
    st.builds(
        lambda path, query, fragment: path + query + fragment,
        st.lists(_PIECE, max_size=5).map("/".join),
        st.one_of(st.just(""), st.just("?"), _QUERY.map(lambda q: "?" + q)),
        st.sampled_from(["", "#", "#top", "#عنوان"]),
    ),
)
_CONTENT_TYPES = st.sampled_from(
    [None, "text/html; charset=utf-8", "text/html;charset=UTF-8", "TEXT/HTML", " text/plain ",
     "text/html\t; x", "application/rss+xml", "", ";", 'image/png; name="a b"',
     "text/html; charset=windows-1256", "text/html; name=\u00e9", "text/h\u00e9ml", "text/h\u00c3\u00a9ml"]
)  # fmt: skip


# Headers as a server may send them around the Content-Type: names a reader mends (a colon, spaces around,
# a leading space that makes the line a continuation), values with spaces around or beyond ASCII.
_ODD_HEADERS = st.lists(
    st.tuples(
        st.sampled_from(["Server", "content-type", "Content-Type ", "Content-Type\t", " Content-Type",
                         "X-Odd:Content-Type", "Content-Type:x", "\tX", "", "X-\u00e9"]),
        st.sampled_from(["v", " v ", "", "text/css", "\u00e9", "\u00c3\u00a9", "a:b", "x\u00a0"]),
    ),
    max_size=3,
)  # fmt: skip
_REASONS = st.sampled_from(["OK", "", " Not  Found ", "\u00e9", "Moved Permanently", "\u00c3\u00a9"])


_PLAIN = "http://127.0.0.1:8001/news/article/1"


def _encoded(text: str) -> str:
    """Characters beyond ASCII percent-encoded as UTF-8, as Scrapy's URLs reach the writer."""
    return re.sub(r"[^\x00-\x7f]+", lambda m: quote(m.group()), text)


@given(
    pages=st.lists(
        st.tuples(_URLS, st.sampled_from([200, 301, 302, 404, 503, 999]), _REASONS, _CONTENT_TYPES,
                  _ODD_HEADERS, st.sampled_from(["fresh", "same body", "not modified"]),
                  st.binary(max_size=30)),
        min_size=1, max_size=6,
    )
)  # fmt: skip
@example(pages=[(_PLAIN, 200, "OK", "text/h\u00c3\u00a9ml", [], "fresh", b"")])  # read back as "text/héml"
@example(
    pages=[(_PLAIN, 200, "OK", "text/h\u0639ml", [], "fresh", b"")]
)  # not wire text: stored percent-encoded
@example(
    pages=[(_PLAIN, 200, "OK", "text/html", [("Content-Type:x", "v")], "fresh", b"")]
)  # named Content-Type
@example(
    pages=[(_PLAIN, 200, "OK", None, [("Content-Type ", "text/css")], "fresh", b"")]
)  # named Content-Type
@example(pages=[(_PLAIN, 200, "OK", " text/plain ", [], "same body", b"x")])  # read back stripped
@example(pages=[(_PLAIN, 304, " OK", None, [("Server", "x"), (" X", "y")], "not modified", b"")])
@example(
    pages=[("HTTP://127.0.0.1/a", 200, "OK", "text/html", [], "same body", b"x")]
)  # no HTTP headers read
def test_lines_made_as_written_are_what_cdxj_indexer_reads_back(pages):
    """Any URL, status line and headers, as a response, an identical-payload revisit or a 304 answered to a
    conditional request, with its request and metadata records: the index is cdxj_indexer's, byte for byte
    (whether the writer's headers are taken as they are or parsed back from their bytes)."""
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch)
        with WarcWriter(archive, fsync=False, max_size=4_000) as writer:
            for n, (url, status, reason, content_type, odd, kind, body) in enumerate(pages):
                headers = [("Content-Type", content_type)] if content_type is not None else []
                page = replace(
                    _exchange(n, body), url=url, status=status, reason=reason, response_headers=odd + headers
                )
                _, response = writer.write_exchange(page)
                writer.write_metadata(response.url, response.record_id, {"n": n})
                original = Original(response.payload_digest, response.record_id, response.url, response.date)
                if kind == "same body":
                    writer.write_exchange(page, original)
                elif kind == "not modified":
                    asked = [*page.request_headers, ("If-None-Match", '"v1"')]
                    writer.write_exchange(
                        replace(page, status=304, body=b"", request_headers=asked), original
                    )
        for warc in writer.files:
            assert index_path(warc).read_bytes() == _read_back(warc, archive / "back")


def test_surt_is_imported_without_tldextract_yet_could_still_use_it():
    """The stand-in keeps tldextract (and requests) out of a crawl, and hands over to it if ever read."""
    script = """
import sys
from zwcrawl.warc.index_lines import url_key
print(url_key("http://www.Example.com:80/a?b=2&a=1"))
print(sorted(m for m in ("tldextract", "requests", "cdxj_indexer") if m in sys.modules))
import tldextract  # the real one (nothing reads the network here)
print(sys.modules["surt.handyurl"].tldextract.TLDExtract is tldextract.TLDExtract)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.stdout.splitlines() == ["com,example)/a?a=1&b=2", "[]", "True"], run.stderr
