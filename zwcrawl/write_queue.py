"""Writes on a thread of their own, in the order given; writes waiting together are made durable together."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager

# The most writes one group takes.
GROUP_LIMIT = 32

_STOP = object()


class WriteQueue:
    """Run jobs one at a time on one thread, in the order submitted. The jobs found waiting together run
    inside one `group()` context (the archive's: one transaction, one WARC sync before its commit), and
    their futures settle only once that context has closed, so no caller hears of a write before it holds.

    A group holds at most one job of each `record` kind (a page's response, an article's metadata record):
    a crash between a group's sync and its commit leaves no more records without rows than one page, which
    is what a killed crawl may leave (`zwcrawl verify` checks it).
    """

    def __init__(self, group: Callable[[], AbstractContextManager], name: str = "zwcrawl-writes"):
        self._group = group
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable, *args, record: str | None = None) -> Future:
        """Queue a job (writing one record of kind `record`, if any); its future holds what it returned or
        raised, once its group holds."""
        future: Future = Future()
        self._jobs.put((job, args, record, future))
        return future

    def on_thread(self) -> bool:
        """Whether the caller is this queue's thread (a job running)."""
        return threading.current_thread() is self._thread

    def close(self) -> None:
        """Run every job submitted so far, then stop the thread."""
        self._jobs.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        held = None  # the job that did not fit the last group: it starts the next
        while True:
            entry = held if held is not None else self._jobs.get()
            held, group, kinds = None, [], set()
            while entry is not _STOP:
                record = entry[2]
                if record is not None and record in kinds:
                    held = entry
                    break
                group.append(entry)
                kinds.add(record)
                if len(group) >= GROUP_LIMIT:
                    break
                try:
                    entry = self._jobs.get_nowait()
                except queue.Empty:
                    break
            if group:
                self._run_group(group)
            if entry is _STOP:
                return

    def _run_group(self, group: list[tuple[Callable, tuple, str | None, Future]]) -> None:
        outcomes: list[tuple[Future, object, BaseException | None]] = []
        try:
            with self._group():
                for job, args, _record, future in group:
                    try:
                        outcomes.append((future, job(*args), None))
                    except Exception as exc:  # noqa: BLE001 - the job's caller gets it, the group goes on
                        outcomes.append((future, None, exc))
        except BaseException as exc:  # noqa: BLE001 - the group did not hold (sync or commit failed): none did
            for *_job, future in group:
                future.set_exception(exc)
            return
        for future, result, error in outcomes:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
