"""zwcrawl export wacz: a WACZ 1.1.1 package of real crawls, checked entry by entry, by wacz and pywb."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import fastwarc_check, zwcrawl
from pywb_replay import warc_timestamp
from warcio.archiveiterator import ArchiveIterator

from zwcrawl.extract import extract_article
from zwcrawl.wacz_export import CaptureFilter, export_wacz
from zwcrawl.warc import index_path, scan_warc

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BIN = Path(sys.executable).parent


def rows(db: Path, sql: str, *params) -> list[dict]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


@pytest.fixture(scope="module")
def crawled(refreshed_archive, tmp_path_factory):
    """The shared two-crawl archive, and a directory of this module's own for packages."""
    return SimpleNamespace(**{**vars(refreshed_archive), "tmp": tmp_path_factory.mktemp("wacz")})


class Package:
    """A written WACZ, unpacked into a directory for the tools that read files."""

    def __init__(self, path: Path, into: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path)
        self.dir = into
        self.zip.extractall(into)
        self.warcs = sorted((into / "archive").glob("*.warc.gz"))
        self.datapackage = json.loads(self.zip.read("datapackage.json"))
        lines = self.zip.read("pages/pages.jsonl").decode("utf-8").splitlines()
        self.pages_header, self.pages = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]

    def records(self) -> list:
        """Every record of the package's WARC files: (headers, raw gzip member)."""
        found = []
        for warc in self.warcs:
            data = warc.read_bytes()
            for scanned in scan_warc(warc):
                assert scanned.sound and not scanned.digest_problems, (warc, scanned.offset)
                found.append((scanned.headers, data[scanned.offset : scanned.offset + scanned.length]))
        return found

    def captures(self) -> dict[str, object]:
        """The response and revisit records by record id."""
        return {
            h.get_header("WARC-Record-ID"): h
            for h, _ in self.records()
            if h.get_header("WARC-Type") in ("response", "revisit")
        }


def export(crawled, name: str, *options: object) -> tuple[subprocess.CompletedProcess, Path]:
    output = crawled.tmp / name
    result = zwcrawl("export", "wacz", "--archive", crawled.archive, "--output", output, *options)
    return result, output


def unpack(crawled, path: Path) -> Package:
    return Package(path, crawled.tmp / f"{path.stem}-unpacked")


@pytest.fixture(scope="module")
def full(crawled) -> Package:
    result, path = export(crawled, "all.wacz")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {path}: ")
    return unpack(crawled, path)


def _source_members(archive: Path) -> dict[str, bytes]:
    members = {}
    for warc in sorted((archive / "warc").glob("*.warc.gz")):
        data = warc.read_bytes()
        for scanned in scan_warc(warc):
            members[scanned.headers.get_header("WARC-Record-ID")] = data[
                scanned.offset : scanned.offset + scanned.length
            ]
    return members


def test_the_package_is_laid_out_as_wacz_1_1_1(full):
    names = full.zip.namelist()
    assert sorted(n for n in names if not n.startswith("archive/")) == [
        "datapackage-digest.json", "datapackage.json", "indexes/index.cdx", "pages/pages.jsonl",
    ]  # fmt: skip
    warcs = [info for info in full.zip.infolist() if info.filename.startswith("archive/")]
    assert warcs and all(info.filename.endswith(".warc.gz") for info in warcs)
    # Replay tools read WARC records by offset inside the zip: stored, never deflated.
    assert {info.compress_type for info in warcs} == {zipfile.ZIP_STORED}
    package = full.datapackage
    assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
    assert package["software"].startswith("zwcrawl ") and package["created"].endswith("Z")
    listed = {r["path"]: r for r in package["resources"]}
    assert set(listed) == set(names) - {"datapackage.json", "datapackage-digest.json"}
    for name, resource in listed.items():
        data = full.zip.read(name)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest(), name
        assert resource["bytes"] == len(data)
    digest = json.loads(full.zip.read("datapackage-digest.json"))
    assert digest["path"] == "datapackage.json"
    assert digest["hash"] == "sha256:" + hashlib.sha256(full.zip.read("datapackage.json")).hexdigest()


def test_wacz_validate_passes(full):
    result = subprocess.run(
        [BIN / "wacz", "validate", "-f", full.path], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def test_every_record_is_copied_byte_for_byte(full, crawled):
    source = _source_members(crawled.archive)
    copied = {h.get_header("WARC-Record-ID"): member for h, member in full.records()}
    # With no filter, everything: each record unchanged (its own gzip member), plus one warcinfo per file.
    assert {i: copied[i] for i in source} == source
    extra = [copied[i] for i in set(copied) - set(source)]
    assert len(extra) == len(full.warcs)
    assert all(b"WARC-Type: warcinfo" in gzip.decompress(m) for m in extra)


def test_the_packages_warc_files_pass_warcio_fastwarc_and_the_index_lists_them(full):
    check = subprocess.run([BIN / "warcio", "check", *full.warcs], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    revisits = {i for i, h in full.captures().items() if h.get_header("WARC-Type") == "revisit"}
    for warc in full.warcs:
        assert fastwarc_check(warc, revisits) == []
    index = (full.dir / "indexes" / "index.cdx").read_text().splitlines()
    assert index == sorted(index)
    indexed = {(json.loads(line.split(" ", 2)[2])["url"], line.split(" ")[1]) for line in index}
    for headers in full.captures().values():
        when = warc_timestamp(headers.get_header("WARC-Date"))
        assert (headers.get_header("WARC-Target-URI"), when) in indexed
    assert not any('"url": "urn:' in line for line in index)  # metadata is not a replay target


def test_pages_list_each_article_capture_at_its_warc_date_with_its_headline(full, crawled):
    assert full.pages_header["format"] == "json-pages-1.0" and full.pages_header["id"]
    observed = rows(
        crawled.db,
        "select c.warc_record_id, a.headline from observations o join captures c on c.id = o.capture_id "
        "join articles a on a.edition = o.edition and a.article_id = o.article_id",
    )
    assert len(full.pages) == len(observed) > 20
    headlines = {o["warc_record_id"]: o["headline"] for o in observed}
    captures = full.captures()
    for page in full.pages:
        headers = captures[f"<{page['id']}>"]
        assert page["url"] == headers.get_header("WARC-Target-URI")
        assert page["ts"] == headers.get_header("WARC-Date")
        assert page["title"] == headlines[f"<{page['id']}>"]


def test_an_article_and_a_revisit_replay_from_the_packages_own_warc_and_index(full, crawled, pywb):
    revisit = next(
        p for p in full.pages if full.captures()[f"<{p['id']}>"].get_header("WARC-Type") == "revisit"
    )
    response = full.pages[0]
    # As an archivist adds a WACZ to pywb: its WARC files and its own index, nothing indexed again.
    collection = pywb.add_wacz(full.path)
    for page in (response, revisit):
        answer = pywb.get(collection, page["url"], warc_timestamp(page["ts"]), "mp_")
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/html")
        fields = extract_article(answer.body, crawled.sites.to_real(page["url"]))
        assert fields["headline"] == page["title"]


def test_a_crawl_brings_the_originals_its_revisits_refer_to(crawled, tmp_path, pywb):
    result, path = export(crawled, "crawl2.wacz", "--crawl", "2")
    assert result.returncode == 0, result.stderr
    package = Package(path, tmp_path / "crawl2")
    second = {r["warc_record_id"] for r in rows(crawled.db, "select * from captures where crawl_id = 2")}
    captures = package.captures()
    chosen = {i for i in captures if i in second}
    originals = {captures[i].get_header("WARC-Refers-To") for i in chosen} - {None}
    assert originals and set(captures) == chosen | originals
    assert all(captures[o].get_header("WARC-Type") == "response" for o in originals)
    ours = {
        r["warc_record_id"]
        for r in rows(crawled.db, "select * from captures where record_type != 'metadata'")
    }
    assert {f"<{p['id']}>" for p in package.pages} <= second & ours
    assert len(package.pages) == len(rows(crawled.db, "select * from observations where crawl_id = 2"))
    collection = pywb.use_index(package.dir / "indexes" / "index.cdx", package.warcs)
    revisit = next(p for p in package.pages if captures[f"<{p['id']}>"].get_header("WARC-Type") == "revisit")
    answer = pywb.get(collection, revisit["url"], warc_timestamp(revisit["ts"]), "id_")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/html")


def test_an_edition_takes_its_own_captures_only(crawled, tmp_path):
    result, path = export(crawled, "ar.wacz", "--edition", "ar")
    assert result.returncode == 0, result.stderr
    package = Package(path, tmp_path / "ar")
    urls = {h.get_header("WARC-Target-URI") for h in package.captures().values()}
    assert urls and all(u.startswith(crawled.bases["ar"] + "/") for u in urls)
    assert {p["url"] for p in package.pages} == {
        r["url"]
        for r in rows(crawled.db, "select c.url from observations o join captures c on c.id = o.capture_id")
        if r["url"].startswith(crawled.bases["ar"] + "/")
    }


def test_publication_dates_choose_the_articles(crawled, tmp_path):
    published = sorted({r["published"][:10] for r in rows(crawled.db, "select published from articles")})
    day = published[len(published) // 2]
    want = {
        (r["edition"], r["article_id"])
        for r in rows(crawled.db, "select * from articles where published like ?", day + "%")
    }
    result, path = export(crawled, "day.wacz", "--since", day, "--until", day)
    assert result.returncode == 0, result.stderr
    package = Package(path, tmp_path / "day")
    got = {
        (fields["edition"], fields["article_id"])
        for fields in (
            extract_article(_body(package, page), crawled.sites.to_real(page["url"]))
            for page in package.pages
        )
    }
    assert got == want and len(package.pages) >= len(want)
    # Only article captures have a publication date: listings and feeds stay out.
    kinds = {
        crawled.sites.classify(h.get_header("WARC-Target-URI")).kind for h in package.captures().values()
    }
    assert kinds == {"article"}


def _body(package: Package, page: dict) -> bytes:
    """The HTML of a page's capture (a revisit's from its original), decoded from its Content-Encoding."""
    by_id = {h.get_header("WARC-Record-ID"): (h, m) for h, m in package.records()}
    headers, member = by_id[f"<{page['id']}>"]
    if headers.get_header("WARC-Type") == "revisit":
        headers, member = by_id[headers.get_header("WARC-Refers-To")]
    record = next(iter(ArchiveIterator(io.BytesIO(member))))
    return record.content_stream().read()


def test_an_unknown_crawl_or_an_empty_choice_is_refused(crawled):
    result, path = export(crawled, "none.wacz", "--crawl", "99")
    assert (
        result.returncode == 2
        and result.stderr.strip() == "zwcrawl: --crawl 99: no such crawl in this archive"
    )
    result, path = export(crawled, "none.wacz", "--since", "2100-01-01")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "zwcrawl: nothing to export: no capture matches (published from 2100-01-01T00:00:00Z)"
    ]
    assert not path.exists() and not list(crawled.tmp.glob(".none.wacz*"))


def test_a_failed_export_leaves_no_half_file_and_keeps_the_old_one(crawled, tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(crawled.archive, archive)
    (warc,) = [p for p in sorted((archive / "warc").glob("*.warc.gz")) if p.stat().st_size > 20_000][-1:]
    data = bytearray(warc.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = b"\x00" * 16  # a bad block inside one gzip member
    warc.write_bytes(bytes(data))
    output = tmp_path / "out" / "zaman.wacz"
    output.parent.mkdir()
    output.write_bytes(b"the package of last week")
    result = zwcrawl("export", "wacz", "--archive", archive, "--output", output)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"zwcrawl: warc/{warc.name} offset ") and "damaged record" in line
    assert output.read_bytes() == b"the package of last week"
    assert [p.name for p in output.parent.iterdir()] == ["zaman.wacz"]  # no temporary left behind


def test_beside_a_running_crawl_the_unfinished_tail_of_an_open_file_is_left_out(crawled, full, tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(crawled.archive, archive)
    warc = sorted((archive / "warc").glob("*.warc.gz"))[-1]
    index_path(warc).unlink()  # not closed yet: a crawl is writing it
    with open(warc, "ab") as fh:
        fh.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 5000\r\n\r\n<html>")[:40])
    result = zwcrawl("export", "wacz", "--archive", archive, "--output", tmp_path / "live.wacz")
    assert result.returncode == 0, result.stderr
    package = Package(tmp_path / "live.wacz", tmp_path / "live")
    assert set(package.captures()) == set(full.captures())


def test_an_interrupted_export_leaves_nothing_under_the_final_name(crawled, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C after the WARC files went into the package, before its datapackage

    monkeypatch.setattr(zipfile.ZipFile, "writestr", interrupted)
    output = tmp_path / "zaman.wacz"
    with pytest.raises(KeyboardInterrupt):
        export_wacz(crawled.archive, output, CaptureFilter())
    assert list(tmp_path.iterdir()) == []


def test_entries_past_the_zip64_limit_get_zip64_records(crawled, tmp_path, monkeypatch):
    # Archives past 4 GB are normal; here the limit is lowered so that every WARC entry passes it.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 4096)
    output = tmp_path / "zip64.wacz"
    result = export_wacz(crawled.archive, output, CaptureFilter(), max_warc_size=50_000)
    assert result.warc_files > 1
    monkeypatch.undo()
    with zipfile.ZipFile(output) as package:
        warcs = [i for i in package.infolist() if i.filename.startswith("archive/")]
        assert all(i.file_size > 4096 and _has_zip64_extra(i) for i in warcs)
        assert package.testzip() is None
    valid = subprocess.run(
        [BIN / "wacz", "validate", "-f", output], capture_output=True, text=True, timeout=300
    )
    assert valid.returncode == 0, valid.stdout + valid.stderr


def _has_zip64_extra(info: zipfile.ZipInfo) -> bool:
    extra, at = info.extra, 0
    while at + 4 <= len(extra):
        kind, size = (
            int.from_bytes(extra[at : at + 2], "little"),
            int.from_bytes(extra[at + 2 : at + 4], "little"),
        )
        if kind == 0x0001:
            return True
        at += 4 + size
    return False
