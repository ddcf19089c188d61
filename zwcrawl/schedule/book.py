"""The archive's schedules and their runs: add, remove, list, and claim a due run exactly once."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from zwcrawl.schedule.plan import Plan
from zwcrawl.store import DB_NAME, Store, read_only_uri

_TIME = "%Y-%m-%dT%H:%M:%SZ"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def utc(moment: datetime) -> str:
    """A moment as stored: UTC ISO-8601 with a Z, to the second."""
    return moment.astimezone(UTC).strftime(_TIME)


def parse_utc(text: str) -> datetime:
    """Stored time text back to an aware datetime."""
    return datetime.strptime(text, _TIME).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """One schedule as stored."""

    name: str
    plan: Plan
    crawl_args: list[str]
    next_due: str


@dataclass(frozen=True)
class Run:
    """A due run a runner has claimed: its row in schedule_runs."""

    id: int
    schedule: Schedule
    due_at: str
    claimed_at: str


class ScheduleBook:
    """The schedules and schedule_runs tables of one archive."""

    def __init__(self, archive_dir: Path, *, create: bool = False, read_only: bool = False) -> None:
        """Open the archive's database (created only when `create`), migrated first unless read_only."""
        path = Path(archive_dir) / DB_NAME
        if not create and not path.is_file():
            raise FileNotFoundError(f"no archive at {archive_dir} (no zwcrawl.db there)")
        self._store: Store | None = None
        if read_only:
            # Not Store(read_only=True), which refuses an archive of an earlier version: a listing reads one
            # from before schedules as it is, never migrating it.
            self._conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=30, isolation_level=None)
        else:
            Path(archive_dir).mkdir(parents=True, exist_ok=True)
            self._store = Store(path)  # applies pending migrations, the schedules tables among them
            # Each write below is its own explicit IMMEDIATE transaction (_write); reads begin none.
            self._conn = self._store.db.conn
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 30000")

    def __enter__(self) -> ScheduleBook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        if self._store is not None:
            self._store.close()
        else:
            self._conn.close()

    def add(self, name: str, plan: Plan, crawl_args: list[str], now: datetime) -> None:
        """Add a schedule, due at once; ValueError if the name is taken or unfit."""
        if not name or not set(name) <= _NAME_CHARS:
            raise ValueError(f"schedule name {name!r}: use letters, digits, - _ and . only")
        with self._write():
            try:
                self._conn.execute(
                    "INSERT INTO schedules"
                    " (name, every_seconds, cron, timezone, crawl_args, created_at, next_due)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, plan.every_seconds, plan.cron, plan.timezone, json.dumps(crawl_args), utc(now),
                     utc(now)),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise ValueError(f"a schedule named {name!r} exists already (remove it first)") from None

    def remove(self, name: str) -> None:
        """Remove a schedule (its past runs stay on record); ValueError if there is none of that name."""
        with self._write():
            if self._conn.execute("DELETE FROM schedules WHERE name = ?", (name,)).rowcount != 1:
                raise ValueError(f"no schedule named {name!r} (schedule list shows them)")

    def schedules(self) -> list[tuple[Schedule, sqlite3.Row | None]]:
        """Every schedule by name, with its latest run (None before the first)."""
        if not self._conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schedules'").fetchone():
            return []  # an archive from before schedules, read without migrating it
        rows = self._conn.execute("SELECT * FROM schedules ORDER BY name").fetchall()
        return [
            (
                _schedule(row),
                self._conn.execute(
                    "SELECT * FROM schedule_runs WHERE schedule = ? ORDER BY id DESC LIMIT 1", (row["name"],)
                ).fetchone(),
            )
            for row in rows
        ]

    def next_due(self) -> str | None:
        """The earliest next_due of all schedules, None when there are none."""
        return self._conn.execute("SELECT min(next_due) FROM schedules").fetchone()[0]

    def claim_due(self, now: datetime, *, exclude: frozenset[str] | set[str] = frozenset()) -> Run | None:
        """Claim the most overdue schedule: record its run and move next_due on, in one transaction."""
        # One IMMEDIATE transaction: a second runner waits, then finds next_due already in the future.
        with self._write():
            rows = self._conn.execute(
                "SELECT * FROM schedules WHERE next_due <= ? ORDER BY next_due, name", (utc(now),)
            ).fetchall()
            row = next((row for row in rows if row["name"] not in exclude), None)
            if row is None:
                return None
            schedule = _schedule(row)
            following = schedule.plan.next_due(parse_utc(row["next_due"]), now)
            self._conn.execute(
                "UPDATE schedules SET next_due = ? WHERE name = ?", (utc(following), row["name"])
            )
            cursor = self._conn.execute(
                "INSERT INTO schedule_runs (schedule, due_at, claimed_at, runner_pid, outcome)"
                " VALUES (?, ?, ?, ?, 'running')",
                (row["name"], row["next_due"], utc(now), os.getpid()),
            )
            return Run(int(cursor.lastrowid), schedule, row["next_due"], utc(now))

    def finish(
        self, run: Run, *, outcome: str, crawl_id: int | None, exit_code: int | None, detail: str | None
    ) -> None:
        """Record how a claimed run ended, and name the schedule on its crawl's row."""
        with self._write():
            self._conn.execute(
                "UPDATE schedule_runs SET outcome = ?, crawl_id = ?, exit_code = ?, ended_at = ?, detail = ?"
                " WHERE id = ?",
                (outcome, crawl_id, exit_code, utc(datetime.now(UTC)), detail, run.id),
            )
            if crawl_id is not None:
                # The crawl names its schedule itself (crawl --schedule); this covers a crawl killed early.
                self._conn.execute(
                    "UPDATE crawls SET schedule = ? WHERE id = ? AND schedule IS NULL",
                    (run.schedule.name, crawl_id),
                )

    def crawl_of(self, pid: int, since: str) -> sqlite3.Row | None:
        """The crawl row a crawl process started at or after `since`, None if it started none."""
        return self._conn.execute(
            "SELECT id, status FROM crawls WHERE pid = ? AND started_at >= ? ORDER BY id DESC LIMIT 1",
            (pid, since),
        ).fetchone()

    @contextmanager
    def _write(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")


def _schedule(row: sqlite3.Row) -> Schedule:
    plan = Plan(every_seconds=row["every_seconds"], cron=row["cron"], timezone=row["timezone"])
    return Schedule(row["name"], plan, json.loads(row["crawl_args"]), row["next_due"])
