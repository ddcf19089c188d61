"""Soak: a long crawl of a faulty copy killed with SIGKILL again and again; rebuild and import killed too.

The size is bounded so that CI runs it (`-m "not soak"` leaves it out); ZW_SOAK_ARTICLES and ZW_SOAK_KILLS
enlarge it for a long local run.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from conftest import site_flags, zwcrawl
from test_import import _outcome
from test_rebuild import tables
from test_reliability import _append_partial_record, archived, query, verify

from zwcrawl.warc.reader import scan_warc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_crawl import generate_site  # noqa: E402  (the benchmarks' site generator, reused)

pytestmark = pytest.mark.soak

ARTICLES = int(os.environ.get("ZW_SOAK_ARTICLES", "5000"))
KILLS = int(os.environ.get("ZW_SOAK_KILLS", "10"))
SEED = 20261130
# Retries come quickly: the faults are the mirror's, and the back-off only spaces them out.
FAST_RETRIES = ("-s", "ZW_BACKOFF_BASE=0.2")
TIMEOUT = 900  # seconds for any one run to its end: a runaway guard, not a speed check


def transient_faults(site: Path, seed: int) -> dict:
    """Seeded faults a crawl retries through: a 503, a reset connection or a slow answer on some articles.

    Each faulty path fails its first request only (`times: 1`, counted by the mirror per path), so a fault
    hangs on the URL and the attempt, never on the moment: a crawl killed and restarted meets each fault
    once, as a crawl that was never killed does, and their request counts compare fairly.
    """
    rng = random.Random(seed)
    faults: dict[str, dict] = {"en": {}, "ar": {}}
    for edition, host in (("en", "en.zamanalwsl.net"), ("ar", "www.zamanalwsl.net")):
        for page in sorted((site / host / "news/article").glob("*.html"), key=lambda p: int(p.stem)):
            roll = rng.random()
            rule = (
                {"status": 503} if roll < 0.03
                else {"reset": True} if roll < 0.05
                else {"delay": 0.3} if roll < 0.055
                else None
            )  # fmt: skip
            if rule:
                faults[edition][f"/news/article/{page.stem}"] = {**rule, "times": 1}
    return faults


@pytest.fixture(scope="module")
def soak_site(tmp_path_factory):
    """A generated copy of ARTICLES articles (three fifths English), and its seeded transient faults."""
    root = tmp_path_factory.mktemp("soak-site")
    english = ARTICLES * 3 // 5
    site = generate_site(root / "site", {"en": english, "ar": ARTICLES - english}, seed=SEED)
    expected = {(e, a.article_id) for e, articles in site.articles.items() for a in articles}
    return root / "site", transient_faults(root / "site", SEED), expected


@pytest.fixture(scope="module")
def never_killed(soak_site, tmp_path_factory):
    """The reference: the faulty copy crawled once to its end, and how many requests that took."""
    from zwcrawl.mirror import MirrorServer

    site, faults, expected = soak_site
    archive = tmp_path_factory.mktemp("never-killed") / "archive"
    with MirrorServer(site, faults=faults) as mirror:
        run = zwcrawl("crawl", "--archive", archive, *site_flags(mirror), *FAST_RETRIES, timeout=TIMEOUT)
        requests = len(mirror.requests)
    assert run.returncode == 0, run.stderr
    assert archived(archive / "zwcrawl.db") == expected
    return archive, requests


def start(archive: Path, mirror) -> subprocess.Popen:
    """A crawl in the background, its output thrown away (the archive and the mirror tell what it did)."""
    command = [sys.executable, "-m", "zwcrawl", "crawl", "--archive", str(archive), *site_flags(mirror)]
    return subprocess.Popen([*command, *FAST_RETRIES], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_at_random(process: subprocess.Popen, mirror, rng: random.Random) -> str:
    """SIGKILL at a seeded moment: soon after the start (startup, recovery) or after N more requests."""
    if rng.random() < 0.3:
        delay = rng.uniform(0.1, 2.5)
        time.sleep(delay)
        moment = f"{delay:.2f} s after the start"
    else:
        more = rng.randint(20, ARTICLES // KILLS)  # all the kills land within about half the crawl
        target = len(mirror.requests) + more
        while len(mirror.requests) < target and process.poll() is None:
            time.sleep(0.005)
        moment = f"after {more} more requests"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    return moment


def whole_gzip_members(path: Path) -> int:
    """How many gzip members a file holds; AssertionError at one that is cut short."""
    data, offset, members = memoryview(path.read_bytes()), 0, 0
    while offset < len(data):
        member, fed = zlib.decompressobj(zlib.MAX_WBITS | 16), offset
        while not member.eof and fed < len(data):
            member.decompress(data[fed : fed + (1 << 16)])
            fed = min(fed + (1 << 16), len(data))
        assert member.eof, f"{path.name}: the gzip member at offset {offset} is cut short"
        offset, members = fed - len(member.unused_data), members + 1
    return members


def quarantined_only_partial_records(archive: Path) -> list[Path]:
    """The files in quarantine/, each asserted to hold one partial record and nothing whole."""
    aside = sorted((archive / "quarantine").glob("*")) if (archive / "quarantine").exists() else []
    for path in aside:
        scanned = list(scan_warc(path, digests=False))
        assert scanned and not any(record.sound for record in scanned), f"{path.name} holds a whole record"
    return aside


def closed_files_are_whole(archive: Path, checked: set[str]) -> None:
    """Every WARC file a recovery or a crawl closed since the last call is whole, member by member."""
    for path in sorted((archive / "warc").glob("*.warc.gz")):
        if path.name not in checked:
            assert all(record.sound for record in scan_warc(path, digests=False)), path.name
            checked.add(path.name)


def test_a_crawl_killed_again_and_again_ends_as_a_crawl_never_killed(
    soak_site, never_killed, mirror_factory, tmp_path
):
    site, faults, expected = soak_site
    reference, reference_requests = never_killed
    mirror = mirror_factory(site, faults=faults, log_path=None)
    archive = tmp_path / "archive"
    db = archive / "zwcrawl.db"
    rng = random.Random(SEED)
    checked: set[str] = set()
    moments, torn = [], 0
    for kill in range(KILLS):
        crawl = start(archive, mirror)
        moments.append(kill_at_random(crawl, mirror, rng))
        assert crawl.returncode == -signal.SIGKILL, (
            f"crawl {kill} ended by itself ({crawl.returncode}): {moments}"
        )
        # The recovery of the crawl before this one closed its file whole, and set aside only partial records.
        closed_files_are_whole(archive, checked)
        quarantined_only_partial_records(archive)
        last = query(db, "select warc_file from captures order by id desc limit 1")
        if kill % 3 == 1 and last and (archive / f"{last[0][0]}.open").exists():
            # What a kill in the middle of writing a record leaves, too rare to leave to chance.
            _append_partial_record(archive)
            torn += 1
    final = zwcrawl("crawl", "--archive", archive, *site_flags(mirror), *FAST_RETRIES, timeout=TIMEOUT)
    assert final.returncode == 0, final.stderr
    closed_files_are_whole(archive, checked)

    assert archived(db) == expected
    assert query(db, "select count(*) from articles") == [(len(expected),)]
    # Observations and captures agree: each observation is of an article and names its own response.
    assert query(
        db,
        """select count(*) from observations o left join captures c on c.id = o.capture_id
           left join articles a using (edition, article_id)
           where a.article_id is null or c.record_type not in ('response', 'revisit')
              or c.url not like '%/news/article/' || o.article_id""",
    ) == [(0,)]
    assert query(
        db, "select count(*) from articles where article_id not in (select article_id from observations)"
    ) == [(0,)]
    assert query(db, "select count(distinct warc_record_id) = count(*) from captures") == [(1,)]
    for path in (archive / "warc").glob("*.warc.gz*"):
        assert whole_gzip_members(path) > 0
    aside = quarantined_only_partial_records(archive)
    assert torn and len(aside) >= torn, "each torn record was set aside"
    report = verify(archive)
    assert report.returncode == 0 and report.stdout.startswith("OK"), report.stdout
    statuses = [s for (s,) in query(db, "select status from crawls order by id")]
    assert statuses[-1] == "finished" and "running" not in statuses
    requests = len(mirror.requests)
    assert requests <= reference_requests * 1.10, (requests, reference_requests, moments)


def run_killed(command: list[object], moments: list[float]) -> None:
    """Run a command once per moment, each time killed with SIGKILL that many seconds after its start."""
    for moment in moments:
        process = subprocess.Popen(
            [sys.executable, "-m", "zwcrawl", *map(str, command)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)


def timed(*command: object) -> float:
    """Run a command to its end (it must succeed); how long it took."""
    began = time.monotonic()
    run = zwcrawl(*command, timeout=TIMEOUT)
    assert run.returncode == 0, run.stdout + run.stderr
    return time.monotonic() - began


def seeded_moments(seconds: float) -> list[float]:
    """Kill moments spread over a run that took `seconds` unkilled: its start, its middle, its end."""
    rng = random.Random(SEED)
    return sorted(rng.uniform(0.05, 0.95) * seconds for _ in range(max(3, KILLS // 3)))


def test_a_rebuild_killed_again_and_again_ends_as_one_never_killed(never_killed, tmp_path):
    reference, _ = never_killed
    crawled = tables(reference / "zwcrawl.db")
    clean = tmp_path / "clean"
    shutil.copytree(reference, clean)
    seconds = timed("rebuild", "--archive", clean)
    rebuilt = tables(clean / "zwcrawl.db")
    archive = tmp_path / "archive"
    shutil.copytree(reference, archive)
    for moment in seeded_moments(seconds):
        run_killed(["rebuild", "--archive", archive], [moment])
        # Never a database in between: the crawl's, until the rebuilt one is swapped in whole.
        assert tables(archive / "zwcrawl.db") in (crawled, rebuilt), moment
    timed("rebuild", "--archive", archive)
    assert tables(archive / "zwcrawl.db") == rebuilt
    assert not list(archive.glob("zwcrawl.db.rebuild-*")), "a killed rebuild's half database is gone"
    backups = sorted(p for p in archive.glob("zwcrawl.db.bak-*") if not p.name.endswith(("-wal", "-shm")))
    assert tables(backups[0]) == crawled, "the crawl's database is kept whole"
    report = verify(archive)
    assert report.returncode == 0 and report.stdout.startswith("OK"), report.stdout


def test_an_import_killed_again_and_again_ends_as_one_never_killed(never_killed, tmp_path):
    reference, _ = never_killed
    sources = sorted((reference / "warc").glob("*.warc.gz"))
    clean = tmp_path / "clean"
    seconds = timed("import", "--archive", clean, *sources)
    expected = _outcome(clean / "zwcrawl.db")
    archive = tmp_path / "archive"
    run_killed(["import", "--archive", archive, *sources], seeded_moments(seconds))
    timed("import", "--archive", archive, *sources)
    assert _outcome(archive / "zwcrawl.db") == expected
    report = verify(archive)
    assert report.returncode == 0 and report.stdout.startswith("OK"), report.stdout
