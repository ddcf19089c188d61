"""`zwcrawl schedule run`: start each due crawl as its own process, one at a time, and record the outcome."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from zwcrawl.schedule.book import Run, ScheduleBook, parse_utc

# How lock.ArchiveBusy's message begins: the crawl found another one on the archive.
_BUSY = "another zwcrawl crawl"
# A sleeping runner looks again at least this often, so schedules added or removed meanwhile count.
_LONGEST_SLEEP = 60.0
_END_STATUSES = ("finished", "interrupted", "failed")


class ScheduleRunner:
    """Claims due runs in the archive and runs each as a `zwcrawl crawl` subprocess."""

    def __init__(self, archive_dir: Path, *, say: Callable[[str], None] = print) -> None:
        self.archive_dir = Path(archive_dir)
        self.say = say
        self.stopping = threading.Event()
        self._child: subprocess.Popen | None = None

    def stop(self, *_signal: object) -> None:
        """Stop after the crawl under way (which is asked to stop too), or at once while sleeping."""
        self.stopping.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)  # the crawl stops gracefully and records itself interrupted

    def run(self, *, once: bool) -> int:
        """Start what is due (and, unless once, keep going until stopped); 1 if a run failed, else 0."""
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        failed = False
        try:
            with ScheduleBook(self.archive_dir) as book:
                ran: set[str] = set()
                while not self.stopping.is_set():
                    # --once runs each schedule at most once, even one whose crawl outlasted its interval.
                    run = book.claim_due(datetime.now(UTC), exclude=ran if once else set())
                    if run is not None:
                        ran.add(run.schedule.name)
                        failed |= self._start(book, run) == "failed"
                    elif once:
                        if not ran:
                            self.say(self._nothing_due(book))
                        break
                    else:
                        self.stopping.wait(self._sleep(book))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if failed else 0

    def _start(self, book: ScheduleBook, run: Run) -> str:
        """Run one claimed crawl to its end and record its outcome."""
        args = ["crawl", "--archive", str(self.archive_dir), "--schedule", run.schedule.name]
        args += run.schedule.crawl_args
        self.say(f"schedule {run.schedule.name}: due {run.due_at}, starting zwcrawl {shlex.join(args)}")
        self._child = subprocess.Popen(
            [sys.executable, "-m", "zwcrawl", *args],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _, stderr = self._child.communicate()
        finally:
            child, self._child = self._child, None
        sys.stderr.write(stderr)
        crawl = book.crawl_of(child.pid, run.claimed_at)
        last_line = next((line for line in reversed(stderr.splitlines()) if line.strip()), "")
        detail = last_line.removeprefix("zwcrawl: ").strip() or None
        if crawl is not None:
            outcome = crawl["status"] if crawl["status"] in _END_STATUSES else "failed"
            if outcome == "finished" and child.returncode == 1:
                outcome = "failed"  # it ran to its end but reached nothing: every fetch failed
            self.say(f"schedule {run.schedule.name}: crawl {crawl['id']} {outcome} (exit {child.returncode})")
        elif _BUSY in stderr:
            outcome = "skipped"  # recorded, so `schedule list` and the table show the run that did not happen
            self.say(f"schedule {run.schedule.name}: skipped: {detail}")
        else:
            outcome = "failed"
            detail = detail or f"the crawl exited {child.returncode} without starting"
            self.say(f"schedule {run.schedule.name}: failed: {detail}")
        book.finish(
            run,
            outcome=outcome,
            crawl_id=crawl["id"] if crawl is not None else None,
            exit_code=child.returncode,
            detail=None if outcome in ("finished", "interrupted") else detail,
        )
        return outcome

    def _sleep(self, book: ScheduleBook) -> float:
        """Seconds until the next schedule is due, looking again at least once a minute."""
        due = book.next_due()
        if due is None:
            return _LONGEST_SLEEP
        return max(0.0, min(_LONGEST_SLEEP, (parse_utc(due) - datetime.now(UTC)).total_seconds()))

    @staticmethod
    def _nothing_due(book: ScheduleBook) -> str:
        schedules = book.schedules()
        if not schedules:
            return "no schedules (add one with zwcrawl schedule add)"
        first = min((schedule for schedule, _ in schedules), key=lambda schedule: schedule.next_due)
        return f"nothing due; next: {first.name} at {first.next_due}"
