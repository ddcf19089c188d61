"""Reliability end to end: faults from the site, traps, SIGKILL and resume, SIGTERM, two crawls at once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import forbidden_requests, site_flags, zwcrawl

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED = {
    (d["edition"], d["article_id"]): d
    for d in (json.loads(p.read_text()) for p in sorted((FIXTURES / "zwsite/expected").glob("*/*.json")))
    if d.get("is_article")
}
# Every article answers slowly, so a test can stop the crawl part-way.
SLOW = {edition: {"/news/article/*": {"delay": 0.25}} for edition in ("en", "ar")}


def start_crawl(archive: Path, mirror, *extra) -> subprocess.Popen:
    """Start a crawl in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "zwcrawl", "crawl", "--archive", str(archive), *site_flags(mirror), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def query(db: Path, sql: str, *params) -> list[tuple]:
    """Read the archive while a crawl may be writing it."""
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []  # not yet created by the crawl


def wait_for(predicate, timeout: float = 60.0) -> None:
    """Poll until predicate() holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def captures(db: Path) -> int:
    """How many capture rows the archive holds."""
    rows = query(db, "select count(*) from captures")
    return rows[0][0] if rows else 0


def archived(db: Path) -> set[tuple[str, int]]:
    """The (edition, id) of every archived article."""
    return {(e, a) for e, a in query(db, "select edition, article_id from articles")}


def article_paths(requests) -> set[str]:
    """The article pages among logged requests."""
    return {r.path.rstrip("/") for r in requests if r.path.startswith("/news/article/")}


def verify(archive: Path) -> subprocess.CompletedProcess[str]:
    """`zwcrawl verify` on the archive."""
    return zwcrawl("verify", "--archive", archive)


def test_a_faulty_site_is_archived_completely(mirror_factory, faultsite, tmp_path):
    mirror = mirror_factory(faultsite)
    archive = tmp_path / "archive"
    run = zwcrawl("crawl", "--archive", archive, *site_flags(mirror),
                  "-s", "ZW_BACKOFF_BASE=0.2")  # fmt: skip
    assert run.returncode == 0, run.stderr
    db = archive / "zwcrawl.db"
    assert archived(db) == set(EXPECTED)
    (legacy,) = query(db, "select headline, body, published from articles where article_id = 44954")
    legacy = dict(zip(("headline", "body", "published"), legacy, strict=True))
    assert legacy == {k: EXPECTED["ar", 44954][k] for k in legacy}  # served as windows-1256
    missing = {a: (s, r) for a, s, r in query(db, "select article_id, status, reason from missing")}
    assert missing == {34399: (404, "not found"), 34491: (200, "soft 404")}
    failures = query(db, "select url, reason from failures")
    assert len(failures) == 1 and "redirect loop" in failures[0][1]
    assert f"  {failures[0][0]}: {failures[0][1]}" in run.stdout.splitlines()  # told at once, not only stored
    paths = [r.path for r in mirror.requests]
    assert "/news/articles/89/3" in paths and "/news/articles/89/4" not in paths  # the endless "Next"
    assert paths.count("/news/article/34489") == 2  # a 503 with Retry-After, then the page
    # Cut short with no Content-Length: seen by the missing </html>, fetched again, archived whole.
    assert paths.count("/news/article/87631") == 2 and paths.count("/news/article/87640") == 2
    (comments,) = query(db, "select comments_count from articles where edition = 'ar' and article_id = 87640")
    assert comments == (EXPECTED["ar", 87640]["comments_count"],)
    assert paths.count("/news/articles/1/1") == 2 and "/news/articles/1/2" in paths  # en has no section 1
    assert forbidden_requests(mirror.requests) == []
    statuses = {
        s
        for (s,) in query(
            db,
            "select status from captures where url like '%/news/article/34489' and record_type = 'response'",
        )
    }
    assert statuses == {503, 200}  # the refused answer is captured too
    assert verify(archive).returncode == 0


def test_a_site_full_of_traps_gets_no_forbidden_request(mirror_factory, trapsite, tmp_path):
    mirror = mirror_factory(trapsite)
    archive = tmp_path / "archive"
    run = zwcrawl("crawl", "--archive", archive, *site_flags(mirror))
    assert run.returncode == 0, run.stderr
    assert mirror.requests
    assert forbidden_requests(mirror.requests) == []
    assert verify(archive).returncode == 0


def _append_partial_record(archive: Path) -> None:
    """What a power loss mid-write leaves: the first half of one record's gzip member at a file's tail."""
    name, offset, length = query(
        archive / "zwcrawl.db",
        "select warc_file, warc_offset, warc_length from captures order by id desc limit 1",
    )[0]
    # The killed crawl's file is still named NAME.warc.gz.open: it was never closed.
    killed = archive / f"{name}.open"
    with open(killed, "rb") as fh:
        fh.seek(offset)
        member = fh.read(length)
    with open(killed, "ab") as fh:
        fh.write(member[: length // 2])


@pytest.mark.parametrize("kill_points", [(1, 9, 25)], ids=["early-middle-late"])
def test_sigkill_at_several_points_then_resume(mirror_factory, tmp_path, kill_points):
    mirror = mirror_factory(faults=SLOW)
    archive = tmp_path / "archive"
    db = archive / "zwcrawl.db"
    for point in kill_points:
        crawl = start_crawl(archive, mirror)
        wait_for(lambda point=point: captures(db) >= point)
        crawl.send_signal(signal.SIGKILL)
        crawl.wait(timeout=30)
        safe = archived(db)
        _append_partial_record(archive)
        seen_before = len(mirror.requests)
        resumed = start_crawl(archive, mirror)
        wait_for(lambda r=resumed, p=point: r.poll() is not None or captures(db) >= p + 3)
        resumed.send_signal(signal.SIGKILL)
        resumed.wait(timeout=30)
        refetched = article_paths(mirror.requests[seen_before:]) & {
            f"/news/article/{aid}" for (_, aid) in safe
        }
        assert not refetched, "articles archived before the kill were fetched again"
    final = zwcrawl("crawl", "--archive", archive, *site_flags(mirror))
    assert final.returncode == 0, final.stderr
    assert archived(db) == set(EXPECTED)
    assert query(db, "select count(*) from articles")[0][0] == len(EXPECTED)
    assert list((archive / "quarantine").iterdir()), "the partial records were set aside"
    report = verify(archive)
    assert report.returncode == 0, report.stdout
    statuses = [s for (s,) in query(db, "select status from crawls order by id")]
    assert statuses[-1] == "finished" and "running" not in statuses


def test_sigterm_stops_gracefully_and_the_next_crawl_finishes(mirror_factory, tmp_path):
    mirror = mirror_factory(faults=SLOW)
    archive = tmp_path / "archive"
    db = archive / "zwcrawl.db"
    crawl = start_crawl(archive, mirror)
    wait_for(lambda: captures(db) >= 5)
    crawl.send_signal(signal.SIGTERM)
    _, stderr = crawl.communicate(timeout=60)
    assert crawl.returncode == 130
    assert "Traceback" not in stderr
    assert query(db, "select status from crawls") == [("interrupted",)]
    assert verify(archive).returncode == 0
    final = zwcrawl("crawl", "--archive", archive, *site_flags(mirror))
    assert final.returncode == 0
    assert archived(db) == set(EXPECTED)


def test_a_second_crawl_on_the_same_archive_is_refused(mirror_factory, tmp_path):
    # One article answers after 8 s, so the first crawl is surely still running when the second starts.
    held = {"en": {**SLOW["en"], "/news/article/34489": {"delay": 8}}, "ar": SLOW["ar"]}
    mirror = mirror_factory(faults=held)
    archive = tmp_path / "archive"
    first = start_crawl(archive, mirror)
    wait_for(lambda: captures(archive / "zwcrawl.db") >= 1)
    second = zwcrawl("crawl", "--archive", archive, *site_flags(mirror))
    assert second.returncode != 0
    assert second.stderr.strip().splitlines() == [
        f"zwcrawl: another zwcrawl crawl (pid {first.pid}) is writing to {archive}; wait for it to finish"
    ]
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert verify(archive).returncode == 0


@pytest.fixture
def blocked_path(tmp_path) -> Path:
    """A path under a regular file, which no directory can be created at."""
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / "archive"


BAD_INPUTS = [
    (["crawl", "--edition", "fr"], "Invalid value for '--edition'", 2),
    (["crawl", "--site", "en"], "expected EDITION=BASE_URL", 2),
    (["crawl", "--site", "fr=http://127.0.0.1:1"], "unknown edition 'fr'", 2),
    (["crawl", "--site", "en=ftp://127.0.0.1:1"], "expected an origin", 2),
    (["crawl", "--ids", "9-1", "--edition", "en"], "expected FROM-TO", 2),
    (["crawl", "--ids", "abc", "--edition", "en"], "expected FROM-TO", 2),
    (["crawl", "--ids", "1-5"], "give exactly one --edition", 2),
    (["crawl", "-s", "NOEQUALS", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "expected NAME=VALUE", 2),
    (["crawl", "-s", "ZW_HEALTH_MIN_PAGES=abc", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "expected a whole number of pages", 2),
    (["crawl", "-s", "ZW_HEALTH_MAX_LOST=5", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "ZW_HEALTH_MAX_LOST=5: expected a share from 0 to 1", 2),
    (["crawl", "--archive", "{blocked}", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "cannot create the archive", 1),
    (["extract", "{missing}", "--url", "https://en.zamanalwsl.net/news/article/1"], "cannot read", 2),
    (["extract", "{page}", "--url", "https://evil.example/news/article/1"],
     "not a Zaman al-Wasl article URL", 2),
    (["extract", "{page}"], "Missing option '--url'", 2),
    (["verify", "--archive", "{missing}"], "no archive at", 2),
    (["search", "--archive", "{missing}", "Daraa"], "no archive at", 2),
    (["crawl", "--archive", "{damaged}", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "cannot open the archive: file is not a database", 1),
    (["search", "--archive", "{damaged}", "Daraa"], "file is not a database", 1),
    (["verify", "--archive", "{damaged}"], None, 1),  # verify reports on stdout: see test_verify
    (["search", "--archive", "{missing}", "Daraa", "--limit", "0"], "Invalid value for '--limit'", 2),
    (["mirror", "{missing}"], "no such site directory", 1),
    (["crawl", "-s", "CONCURRENT_REQUESTS=abc", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "-s CONCURRENT_REQUESTS='abc': expected a whole number", 2),
    (["crawl", "-s", "DOWNLOAD_DELAY=x", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "-s DOWNLOAD_DELAY='x': expected a number", 2),
    (["crawl", "-s", "ZW_WARC_MAX_SIZE=abc", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "-s ZW_WARC_MAX_SIZE='abc': expected a whole number", 2),
    (["crawl", "-s", "ROBOTSTXT_OBEY=maybe", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "expected True or False", 2),
    (["crawl", "-s", "ZW_EXTRACT_WORKER_AFTER=some", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "-s ZW_EXTRACT_WORKER_AFTER='some': expected a whole number", 2),
    (["crawl", "--archive", "{symlock}", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "is a symbolic link, not a zwcrawl lock file; remove it", 1),
    (["crawl", "--archive", "{foreignlock}", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "holds something other than a pid, not a zwcrawl lock file", 1),
    (["serve", "--archive", "{missing}"], "no archive at", 2),
    (["serve", "--archive", "{damaged}"], "file is not a database", 1),
    (["serve", "--archive", "{damaged}", "--port", "70000"], "Invalid value for '--port'", 2),
    (["serve", "--archive", "{planted}"], "holds a trigger planted that zwcrawl did not make", 1),
    (["report", "--archive", "{missing}", "--output", "report.html"], "no archive at", 2),
    (["report", "--archive", "{damaged}"], "Missing option '--output'", 2),
    (["report", "--archive", "{damaged}", "--output", "{missing}/report.html"], "no directory", 2),
    (["report", "--archive", "{damaged}", "--output", "report.html"], "file is not a database", 1),
    (["rebuild", "--archive", "{missing}"], "no WARC files in", 2),
    (["rebuild", "--archive", "{damaged}"], "nothing to rebuild from", 2),
    (["rebuild", "--site", "en"], "expected EDITION=BASE_URL", 2),
    (["rebuild", "--workers", "0"], "Invalid value for '--workers'", 2),
    (["import", "{missing}"], "no such file", 2),
    (["import"], "Missing argument 'FILES...'", 2),
    (["import", "--site", "en", "{page}"], "expected EDITION=BASE_URL", 2),
    (["nosuch"], "No such command 'nosuch'", 2),
    # An archive someone else prepared, with a trigger of their own: refused before any write could fire it.
    (["crawl", "--archive", "{planted}", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "holds a trigger planted that zwcrawl did not make", 1),
    (["search", "--archive", "{planted}", "Daraa"], "holds a trigger planted that zwcrawl did not make", 1),
    (["verify", "--archive", "{planted}"], None, 1),  # on stdout: "holds a trigger planted ..."
    # A WARC "file" that is a symbolic link out of the archive: never read, written or cut back.
    (["crawl", "--archive", "{linked}", "--site", "en=http://127.0.0.1:9", "--edition", "en"],
     "outside the archive: refused", 1),
    (["rebuild", "--archive", "{linked}"], "outside the archive: refused", 2),
    (["import", "--archive", "{linked}", "{page}"], "outside the archive: refused", 2),
    (["verify", "--archive", "{linked}"], None, 1),  # on stdout: "a symbolic link out of the archive"
    (["export", "wacz", "--archive", "{linked}", "--output", "out.wacz"], "outside the archive: refused", 1),
    (["export", "wacz", "--archive", "{piped}", "--output", "out.wacz"],
     "named by the captures table, but not a regular file", 1),
    (["export", "wacz", "--archive", "{planted}", "--output", "out.wacz"],
     "holds a trigger planted that zwcrawl did not make", 1),
    (["export", "wacz", "--archive", "{missing}", "--output", "out.wacz"], "no archive at", 2),
    (["export", "wacz", "--archive", "{missing}", "--output", "nodir/out.wacz"],
     "directory nodir does not exist", 2),
    (["export", "wacz", "--archive", "{missing}", "--output", "out.wacz", "--since", "2018-13-01"],
     "--since '2018-13-01' is not a date", 2),
    (["export", "wacz", "--archive", "{missing}", "--output", "out.wacz", "--until", "last week"],
     "--until 'last week' is not a date", 2),
    (["export", "wacz", "--archive", "{missing}", "--output", "out.wacz", "--crawl", "0"],
     "Invalid value for '--crawl'", 2),
    (["export", "wacz", "--archive", "{missing}"], "Missing option '--output'", 2),
    (["export", "wacz", "--archive", "{damaged}", "--output", "out.wacz"], "file is not a database", 1),
    (["search", "--archive", "{missing}", "Daraa", "--since", "2018-13-01"], "is not a date", 2),
    (["search", "--archive", "{missing}", "Daraa", "--order", "random"], "Invalid value for '--order'", 2),
    (["export", "jsonl", "--archive", "{missing}", "-o", "x.jsonl"], "no archive at", 2),
    (["export", "csv", "--archive", "{missing}", "-o", "{missing}/x.csv"], "does not exist", 2),
    (["export", "csv", "-o", "x.csv", "--until", "soon"], "is not a date", 2),
    (["export", "jsonl"], "Missing option '--output'", 2),
    (["schedule", "add", "x", "--every", "5x"], "give a duration such as 30m", 2),
    (["schedule", "add", "x", "--every", "0m"], "at most once a minute", 2),
    (["schedule", "add", "x", "--cron", "61 * * * *"], "--cron '61 * * * *'", 2),
    (["schedule", "add", "x", "--every", "1h", "--cron", "0 * * * *"], "give either --every", 2),
    (["schedule", "add", "x"], "give either --every", 2),
    (["schedule", "add", "x", "--cron", "0 * * * *", "--tz", "Mars/Olympus"], "not a time zone", 2),
    (["schedule", "add", "x", "--every", "1h", "--edition", "fr"], "Invalid value for '--edition'", 2),
    (["schedule", "add", "x", "--every", "1h", "--ids", "1-5"], "give exactly one --edition", 2),
    (["schedule", "add", "x", "--every", "1h", "--site", "en"], "expected EDITION=BASE_URL", 2),
    (["schedule", "list", "--archive", "{missing}"], "no archive at", 2),
    (["schedule", "remove", "--archive", "{missing}", "x"], "no archive at", 2),
    (["schedule", "run", "--once", "--archive", "{missing}"], "no archive at", 2),
]  # fmt: skip

OUTSIDE = b"a file of the user's, outside any archive\n" * 50


def linked_archive(directory: Path) -> Path:
    """An archive whose warc/ holds a symbolic link to a file outside it."""
    (directory / "warc").mkdir(parents=True)
    (directory.parent / "outside.warc.gz").write_bytes(OUTSIDE)
    (directory / "warc" / "zwcrawl-1.warc.gz").symlink_to(directory.parent / "outside.warc.gz")
    from zwcrawl.store import Store

    Store(directory / "zwcrawl.db").close()
    return directory


def piped_archive(directory: Path) -> Path:
    """An archive whose capture row names a WARC file that is a pipe (reading it would wait for ever)."""
    from zwcrawl.store import Store

    (directory / "warc").mkdir(parents=True)
    os.mkfifo(directory / "warc" / "zwcrawl-1.warc.gz")
    with Store(directory / "zwcrawl.db") as store:
        crawl_id = store.start_crawl({}, "2026-11-30T00:00:00Z")
        store.add_capture({
            "crawl_id": crawl_id, "url": "http://127.0.0.1:9/news/article/1",
            "fetched_at": "2026-11-30T00:00:00Z", "record_type": "response",
            "warc_file": "warc/zwcrawl-1.warc.gz", "warc_offset": 0, "warc_length": 100,
            "warc_record_id": "<urn:uuid:1>", "status": 200,
        })  # fmt: skip
    return directory


def planted_archive(directory: Path) -> Path:
    """An archive whose database carries a trigger zwcrawl never made, writing to a canary table."""
    from zwcrawl.store import Store

    directory.mkdir()
    Store(directory / "zwcrawl.db").close()
    with sqlite3.connect(directory / "zwcrawl.db") as conn:
        conn.execute("CREATE TABLE canary (fired TEXT)")
        conn.execute(
            "CREATE TRIGGER planted AFTER INSERT ON crawls BEGIN INSERT INTO canary VALUES ('x'); END"
        )
    conn.close()
    return directory


@pytest.mark.parametrize(
    ("args", "message", "code"), BAD_INPUTS, ids=[" ".join(a[:3]) for a, _, _ in BAD_INPUTS]
)
def test_bad_input_gets_one_clear_line_and_a_nonzero_exit(args, message, code, tmp_path, blocked_path):
    page = FIXTURES / "zwsite/en.zamanalwsl.net/news/article/34489.html"
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "zwcrawl.db").write_bytes(b"not SQLite: a disk gone bad\n" * 100)
    symlock, foreignlock = tmp_path / "symlock", tmp_path / "foreignlock"
    symlock.mkdir()
    foreignlock.mkdir()
    (tmp_path / "precious").write_text("a user's file\n")
    (symlock / ".lock").symlink_to(tmp_path / "precious")
    (foreignlock / ".lock").write_text("a user's file\n")
    fill = {
        "{blocked}": str(blocked_path), "{missing}": str(tmp_path / "missing"), "{page}": str(page),
        "{damaged}": str(damaged), "{symlock}": str(symlock), "{foreignlock}": str(foreignlock),
        "{planted}": str(planted_archive(tmp_path / "planted")),
        "{linked}": str(linked_archive(tmp_path / "linked")),
        "{piped}": str(piped_archive(tmp_path / "piped")),
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "zwcrawl", *[fill.get(a, a) for a in args]],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    if message is None:
        assert lines == [], result.stderr
    else:
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("zwcrawl: ") and message in lines[0]
    assert not (tmp_path / "archive").exists()  # a refused crawl leaves nothing behind
    assert (damaged / "zwcrawl.db").read_bytes() == b"not SQLite: a disk gone bad\n" * 100  # never "repaired"
    assert query(tmp_path / "planted" / "zwcrawl.db", "select count(*) from canary") == [(0,)]  # never fired
    assert (tmp_path / "outside.warc.gz").read_bytes() == OUTSIDE  # never cut back, never appended to
    assert not [p.name for p in tmp_path.iterdir() if "wacz" in p.name]  # no package, not even a partial one
    assert (tmp_path / "precious").read_text() == (foreignlock / ".lock").read_text() == "a user's file\n"


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\xff\x89PNG\r\n" * 100, b"<html><body><h1 class='news-title'>Half", b"<p>x</p>" * 400_000],
    ids=["empty", "binary", "truncated", "huge"],
)
def test_odd_pages_extract_without_crashing(content, tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "zwcrawl", "extract", page, "--url", "https://en.zamanalwsl.net/news/article/9"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "url": "https://en.zamanalwsl.net/news/article/9",
        "is_article": False,
    }


def test_a_reader_that_goes_away_stops_the_output_quietly():
    # `zwcrawl extract ... | head -1`: the pipe closes before the JSON is written.
    page = FIXTURES / "zwsite" / "en.zamanalwsl.net" / "news" / "article" / "34489.html"
    url = "https://en.zamanalwsl.net/news/article/34489"
    child = subprocess.Popen(
        [sys.executable, "-m", "zwcrawl", "extract", page, "--url", url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    child.stdout.close()  # long before the child has imported anything, let alone written
    assert child.wait(timeout=60) == 141  # as a tool killed by SIGPIPE
    assert child.stderr.read() == b""


def test_the_lock_dies_with_its_process(tmp_path):
    # A crawl killed with SIGKILL must not leave the archive locked for ever.
    code = (
        "import sys, time; from pathlib import Path; from zwcrawl.lock import ArchiveLock;"
        "ArchiveLock(Path(sys.argv[1])).acquire(); print('locked', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    from zwcrawl.lock import ArchiveBusy, ArchiveLock

    with pytest.raises(ArchiveBusy, match=f"pid {holder.pid}"):
        ArchiveLock(tmp_path).acquire()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    ArchiveLock(tmp_path).acquire().release()
