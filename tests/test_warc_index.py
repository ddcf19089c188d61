"""CDXJ indexes: one per WARC file and a merged one, listing every response and revisit where it lies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from zwcrawl.warc import Exchange, Original, WarcWriter, index_path, index_warc, merge_indexes


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
