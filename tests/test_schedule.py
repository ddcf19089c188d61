"""zwcrawl schedule: plans, claiming a due run once, and runs crawling the local mirror."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import site_flags, zwcrawl

from zwcrawl.schedule import Plan, ScheduleBook
from zwcrawl.schedule.book import parse_utc, utc
from zwcrawl.schedule.plan import parse_duration

# Every article answers slowly, so a crawl is still running when the schedule's run starts.
SLOW = {edition: {"/news/article/*": {"delay": 0.25}} for edition in ("en", "ar")}
NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def rows(archive: Path, sql: str, *params) -> list[dict]:
    with sqlite3.connect(f"file:{archive / 'zwcrawl.db'}?mode=ro", uri=True, timeout=10) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, params)]


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("6h", 21600), ("1d", 86400), ("1h30m", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    assert Plan.parse(every=text, cron=None, tz=None).describe() == f"every {text}"


@pytest.mark.parametrize("text", ["", "5", "5x", "1.5h", "-1h", "0m", "30s", "h", "1 h"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="--every"):
        Plan.parse(every=text, cron=None, tz=None)


@pytest.mark.parametrize(
    ("every", "cron", "tz", "message"),
    [
        (None, "61 * * * *", None, "--cron '61 \\* \\* \\* \\*'"),
        (None, "* * *", None, "--cron"),
        (None, "every hour", None, "--cron"),
        (None, "0 * * * *", "Mars/Olympus", "not a time zone"),
        ("1h", "0 * * * *", None, "either --every"),
        (None, None, None, "either --every"),
        ("1h", None, "UTC", "--tz applies to --cron only"),
    ],
)
def test_bad_plans(every, cron, tz, message):
    with pytest.raises(ValueError, match=message):
        Plan.parse(every=every, cron=cron, tz=tz)


def test_missed_runs_collapse_into_one():
    hourly = Plan.parse(every="1h", cron=None, tz=None)
    due = NOW - timedelta(days=3, minutes=10)  # the machine was off for three days
    assert hourly.next_due(due, NOW) == NOW + timedelta(minutes=50)  # the phase kept, the gap skipped
    assert hourly.next_due(NOW, NOW) == NOW + timedelta(hours=1)
    nightly = Plan.parse(every=None, cron="0 2 * * *", tz="Europe/Berlin")
    # 2026-03-29 is the night Berlin moves to summer time: 02:00 local does not exist, cron runs at 03:00.
    assert nightly.next_due(due, NOW) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert Plan.parse(every=None, cron="@hourly", tz=None).next_due(due, NOW) == NOW + timedelta(minutes=30)


def test_a_due_run_is_claimed_once(tmp_path):
    with ScheduleBook(tmp_path / "archive", create=True) as book:
        book.add(
            "hourly", Plan.parse(every="1h", cron=None, tz=None), ["--edition", "en"], NOW - timedelta(days=3)
        )
        run = book.claim_due(NOW)
        assert (
            run is not None and run.schedule.name == "hourly" and run.due_at == utc(NOW - timedelta(days=3))
        )
        assert book.claim_due(NOW) is None  # missed runs collapsed: nothing more is due now
        assert book.claim_due(NOW + timedelta(minutes=59)) is None
        assert book.claim_due(NOW + timedelta(hours=1)) is not None
        with pytest.raises(ValueError, match="exists already"):
            book.add("hourly", Plan(every_seconds=60), [], NOW)
        with pytest.raises(ValueError, match="no schedule named 'nightly'"):
            book.remove("nightly")
        with pytest.raises(ValueError, match="schedule name"):
            book.add("a b", Plan(every_seconds=60), [], NOW)


_CLAIMER = """
import sys, time
from datetime import UTC, datetime
from zwcrawl.schedule import ScheduleBook
with ScheduleBook(sys.argv[1]) as book:
    while time.time() < float(sys.argv[2]):
        pass
    run = book.claim_due(datetime.now(UTC))
    print(run.id if run else "none")
"""


def test_two_runners_never_claim_the_same_run(tmp_path):
    archive = tmp_path / "archive"
    with ScheduleBook(archive, create=True) as book:
        for name in ("a", "b", "c"):
            book.add(name, Plan(every_seconds=3600), [], datetime.now(UTC))
    start = time.time() + 1.5
    claimers = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, archive, str(start)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    answers = [claimer.communicate(timeout=60)[0].strip() for claimer in claimers]
    claimed = [answer for answer in answers if answer != "none"]
    assert len(claimed) == 3 and len(set(claimed)) == 3, answers
    assert sorted(r["schedule"] for r in rows(archive, "select schedule from schedule_runs")) == [
        "a",
        "b",
        "c",
    ]


def test_schedule_commands_run_crawls_of_the_mirror(mirror, tmp_path):
    archive = tmp_path / "archive"
    added = zwcrawl("schedule", "add", "--archive", archive, "latest", "--every", "1h", "--edition", "en",
                    *site_flags(mirror))  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "schedule latest added: every 1h, due now; zwcrawl schedule run starts it"
    listed = zwcrawl("schedule", "list", "--archive", archive)
    assert listed.stdout.splitlines()[1].split()[:4] == ["latest", "every", "1h", "-"]
    first = zwcrawl("schedule", "run", "--once", "--archive", archive)
    assert first.returncode == 0, first.stderr
    (crawl,) = rows(archive, "select id, status, schedule, stats from crawls")
    assert crawl.pop("stats") and crawl == {"id": 1, "status": "finished", "schedule": "latest"}, (
        first.stdout + first.stderr + str(rows(archive, "select stats from crawls"))
    )
    assert "schedule latest: crawl 1 finished (exit 0)" in first.stdout
    (run,) = rows(archive, "select * from schedule_runs")
    assert (run["schedule"], run["outcome"], run["crawl_id"], run["exit_code"]) == (
        "latest",
        "finished",
        1,
        0,
    )
    assert rows(archive, "select count(*) n from articles where edition = 'en'")[0]["n"] > 0
    # Right after, nothing is due: a second run starts nothing.
    second = zwcrawl("schedule", "run", "--once", "--archive", archive)
    assert second.returncode == 0, second.stderr
    (next_due,) = rows(archive, "select next_due from schedules")
    assert second.stdout.strip() == f"nothing due; next: latest at {next_due['next_due']}"
    assert parse_utc(next_due["next_due"]) - parse_utc(run["due_at"]) == timedelta(hours=1)
    assert len(rows(archive, "select id from crawls")) == 1
    listed = zwcrawl("schedule", "list", "--archive", archive)
    line = listed.stdout.splitlines()[1]
    assert "finished (crawl 1)" in line and next_due["next_due"] in line and run["claimed_at"] in line
    removed = zwcrawl("schedule", "remove", "--archive", archive, "latest")
    assert removed.returncode == 0 and removed.stdout.strip() == "schedule latest removed"
    assert zwcrawl("schedule", "list", "--archive", archive).stdout.strip().startswith("no schedules")
    assert len(rows(archive, "select id from schedule_runs")) == 1  # its runs stay on record


# Holds the archive's crawl lock as a crawl does, until told to let go: a busy archive on cue, however
# slowly a loaded machine starts a crawl.
_HOLDER = """
import sys
from zwcrawl.lock import ArchiveLock
lock = ArchiveLock(sys.argv[1]).acquire()
print("held", flush=True)
sys.stdin.readline()
lock.release()
"""


def test_a_run_that_finds_the_archive_busy_is_recorded_as_skipped(mirror, tmp_path):
    archive = tmp_path / "archive"
    added = zwcrawl("schedule", "add", "--archive", archive, "refresh", "--every", "1d", "--refresh",
                    *site_flags(mirror))  # fmt: skip
    assert added.returncode == 0, added.stderr
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, archive], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline() == "held\n"
    scheduled = zwcrawl("schedule", "run", "--once", "--archive", archive)
    holder.communicate("go\n", timeout=30)
    assert scheduled.returncode == 0, scheduled.stderr
    assert "schedule refresh: skipped: another zwcrawl crawl" in scheduled.stdout
    (run,) = rows(archive, "select * from schedule_runs")
    assert (run["outcome"], run["crawl_id"]) == ("skipped", None)
    assert run["detail"].startswith(f"another zwcrawl crawl (pid {holder.pid}) is writing to")
    assert rows(archive, "select id from crawls") == []
    assert "skipped" in zwcrawl("schedule", "list", "--archive", archive).stdout
    # Skipped, not lost: the next run is the plan's next time, and the archive is free for it.
    assert zwcrawl("schedule", "run", "--once", "--archive", archive).stdout.startswith(
        "nothing due; next: refresh"
    )


def test_a_running_runner_stops_gracefully_on_sigterm(mirror, tmp_path):
    archive = tmp_path / "archive"
    added = zwcrawl("schedule", "add", "--archive", archive, "hourly", "--cron", "0 * * * *",
                    "--edition", "ar", *site_flags(mirror))  # fmt: skip
    assert added.returncode == 0, added.stderr
    runner = subprocess.Popen(
        [sys.executable, "-m", "zwcrawl", "schedule", "run", "--archive", archive],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not rows(archive, "select id from schedule_runs where outcome != 'running'"):
        assert time.monotonic() < deadline and runner.poll() is None
        time.sleep(0.1)
    time.sleep(0.5)  # asleep now, until the next hour
    runner.send_signal(signal.SIGTERM)
    stdout, stderr = runner.communicate(timeout=30)
    assert runner.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "schedule hourly: crawl 1 finished (exit 0)" in stdout
    (run,) = rows(archive, "select outcome, crawl_id from schedule_runs")
    assert run == {"outcome": "finished", "crawl_id": 1}
    assert rows(archive, "select schedule from crawls") == [{"schedule": "hourly"}]


def test_sigterm_during_a_run_stops_its_crawl_and_records_it(mirror_factory, tmp_path):
    mirror = mirror_factory(faults=SLOW)
    archive = tmp_path / "archive"
    added = zwcrawl("schedule", "add", "--archive", archive, "latest", "--every", "1h", *site_flags(mirror))
    assert added.returncode == 0, added.stderr
    runner = subprocess.Popen(
        [sys.executable, "-m", "zwcrawl", "schedule", "run", "--archive", archive],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not rows(archive, "select id from captures limit 1"):  # the crawl is under way
        assert time.monotonic() < deadline and runner.poll() is None
        time.sleep(0.05)
    runner.send_signal(signal.SIGTERM)
    stdout, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert rows(archive, "select status, schedule from crawls") == [
        {"status": "interrupted", "schedule": "latest"}
    ]
    (run,) = rows(archive, "select outcome, exit_code from schedule_runs")
    assert run == {"outcome": "interrupted", "exit_code": 130}
    assert "schedule latest: crawl 1 interrupted (exit 130)" in stdout


def test_a_crawl_that_reaches_nothing_is_a_failed_run(tmp_path):
    archive = tmp_path / "archive"
    # Quick retries (ZW_BACKOFF_BASE): the run's outcome is what counts here, not the back-off's pace.
    added = zwcrawl("schedule", "add", "--archive", archive, "latest", "--every", "1h", "--edition", "en",
                    "--site", "en=http://127.0.0.1:9", "-s", "ZW_BACKOFF_BASE=0.05")  # fmt: skip
    assert added.returncode == 0, added.stderr
    ran = zwcrawl("schedule", "run", "--once", "--archive", archive)
    assert ran.returncode == 1  # for cron's mail or systemd's failed state
    assert "schedule latest: crawl 1 failed (exit 1)" in ran.stdout
    (run,) = rows(archive, "select outcome, crawl_id, exit_code, detail from schedule_runs")
    assert run == {
        "outcome": "failed", "crawl_id": 1, "exit_code": 1,
        "detail": "the site answered nothing: every fetch failed (listed above)",
    }  # fmt: skip
