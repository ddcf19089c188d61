"""Writes on a thread of their own, in the order given; writes waiting together are made durable together."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager

# The most writes one group takes: enough to share a sync among a burst of pages, few enough that a
# crash loses little more than the pages in hand.
GROUP_LIMIT = 32

_STOP = object()


class WriteQueue:
    """Run jobs one at a time on one thread, in the order submitted. The jobs found waiting together run
    inside one `group()` context (the archive's: one transaction, one WARC sync before its commit), and
    their futures settle only once that context has closed, so no caller hears of a write before it holds.
    """

    def __init__(self, group: Callable[[], AbstractContextManager], name: str = "zwcrawl-writes"):
        self._group = group
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable, *args) -> Future:
        """Queue a job; its future holds what it returned or raised, once its group holds."""
        future: Future = Future()
        self._jobs.put((job, args, future))
        return future

    def on_thread(self) -> bool:
        """Whether the caller is this queue's thread (a job running)."""
        return threading.current_thread() is self._thread

    def close(self) -> None:
        """Run every job submitted so far, then stop the thread."""
        self._jobs.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            group, stop = [self._jobs.get()], False
            while group[-1] is not _STOP and len(group) < GROUP_LIMIT:
                try:
                    group.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            if group[-1] is _STOP:
                group.pop()
                stop = True
            if group:
                self._run_group(group)
            if stop:
                return

    def _run_group(self, group: list[tuple[Callable, tuple, Future]]) -> None:
        outcomes: list[tuple[Future, object, BaseException | None]] = []
        try:
            with self._group():
                for job, args, future in group:
                    try:
                        outcomes.append((future, job(*args), None))
                    except Exception as exc:  # noqa: BLE001 - the job's caller gets it, the group goes on
                        outcomes.append((future, None, exc))
        except BaseException as exc:  # noqa: BLE001 - the group did not hold (sync or commit failed): none did
            for _job, _args, future in group:
                future.set_exception(exc)
            return
        for future, result, error in outcomes:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
