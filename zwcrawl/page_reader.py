"""Article and listing pages read on the second core: one worker process beside the crawl, else in-process
(the readers and the worker's loop are in page_reading)."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import re
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

from zwcrawl.page_reading import LENGTH

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WorkerGone(Exception):
    """The worker process ended (killed, or it could not start): its pages are read in-process instead."""


class PageReader:
    """Reads a crawl's article and listing pages in one worker process, so extraction runs beside Scrapy
    rather than on the reactor's thread (the GIL lets one process use one core). The first `after` pages
    are read in-process (a small crawl never pays for a second interpreter); once the worker cannot start or
    dies, the rest are too. Either way a page reads the same: the same function runs."""

    def __init__(self, enabled: bool = True, after: int = 0, python: str = sys.executable):
        self.enabled = enabled
        self.after = after
        self.python = python  # the interpreter the worker runs on
        self.read_here = 0  # pages read in this process
        self.read_there = 0  # pages read by the worker
        self._worker: asyncio.Future[_Worker] | None = None

    async def read(self, function: Callable[..., T], *args) -> T:
        """function(*args) (a reader of page_reading's: read_article, read_listing), in the worker while one
        runs."""
        if self.enabled and self._worker is None and self.read_here >= self.after:
            self._worker = asyncio.ensure_future(_Worker.start(self.python))
        if self._worker is not None:
            try:
                worker = await self._worker
                read = await worker.read(function, args)
            except WorkerGone as exc:
                self._give_up(str(exc))
            else:
                self.read_there += 1
                return read
        self.read_here += 1
        return function(*args)

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id, while one runs."""
        worker = self._running()
        return worker.process.pid if worker is not None else None

    def close(self) -> None:
        """Stop the worker (it ends at the end of its socket), logging what it read and its peak memory."""
        worker, self._worker = self._running(), None
        if worker is None:
            return
        peak_kb, cpu = _peak_rss_kb(worker.process.pid), _cpu_seconds(worker.process.pid)
        worker.stop()
        logger.info(
            "extraction worker: %d article pages read there, %d here; its CPU %.1f s, peak RSS %.1f MB",
            self.read_there, self.read_here, cpu, peak_kb / 1024,
        )  # fmt: skip

    def _running(self) -> _Worker | None:
        started = self._worker
        if started is None or not started.done() or started.cancelled() or started.exception():
            return None
        return started.result()

    def _give_up(self, reason: str) -> None:
        if self.enabled:
            logger.warning("%s: article pages are read in the crawl's own process from now on", reason)
        self.enabled = False
        worker, self._worker = self._running(), None
        if worker is not None:
            worker.stop()


class _Worker:
    """A worker process and the socket to it, on the crawl's event loop: asking never blocks the reactor
    (the transport buffers what the socket cannot take yet), and answers come back in the order asked."""

    def __init__(self, process: subprocess.Popen, sock: socket.socket, reader, writer):
        self.process, self.sock = process, sock
        self.reader: asyncio.StreamReader = reader
        self.writer: asyncio.StreamWriter = writer
        self.waiting: deque[asyncio.Future[bytes]] = deque()
        self.gone: str | None = None
        self.answers = asyncio.ensure_future(self._answers())

    @classmethod
    async def start(cls, python: str) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            # Its own session: a Ctrl-C at the terminal is the crawl's to handle, never the worker's.
            process = subprocess.Popen(
                [python, "-c", f"from zwcrawl.page_reading import serve; serve({theirs.fileno()})"],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            ours.close()
            raise WorkerGone(f"the extraction worker cannot start ({exc.strerror or exc})") from None
        finally:
            theirs.close()
        try:
            reader, writer = await asyncio.open_unix_connection(sock=ours, limit=2**20)
        except OSError as exc:
            process.kill()
            process.wait()
            raise WorkerGone(f"the extraction worker cannot start ({exc.strerror or exc})") from None
        return cls(process, ours, reader, writer)

    async def read(self, function: Callable[..., T], args: tuple) -> T:
        if self.gone:
            raise WorkerGone(self.gone)
        blob = pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL)
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.waiting.append(answer)
        self.writer.write(LENGTH.pack(len(blob)) + blob)
        outcome, value = pickle.loads(await answer)
        if outcome == "error":
            raise value  # extraction raised: the same exception as in-process, for ParseErrorMiddleware
        return value

    async def _answers(self) -> None:
        try:
            while True:
                (size,) = LENGTH.unpack(await self.reader.readexactly(LENGTH.size))
                blob = await self.reader.readexactly(size)
                answer = self.waiting.popleft()
                if not answer.done():
                    answer.set_result(blob)
        except (asyncio.IncompleteReadError, OSError) as exc:
            code = self.process.poll()
            self.gone = (
                f"the extraction worker stopped ({f'exit status {code}' if code is not None else exc})"
            )
        while self.waiting:
            answer = self.waiting.popleft()
            if not answer.done():
                answer.set_exception(WorkerGone(self.gone))

    def stop(self) -> None:
        """End the worker and wait for it (killed after 10 s)."""
        # Shut at once, not when the loop next runs (the crawl may be stopping it): the worker reads the end
        # of its socket and exits.
        with suppress(OSError):  # closed already, the worker having gone
            self.sock.shutdown(socket.SHUT_RDWR)
        self.writer.transport.abort()
        self.answers.cancel()
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.process.poll() is None:  # still in a page after 10 s: not worth waiting for
            self.process.kill()
            self.process.wait()


def _peak_rss_kb(pid: int) -> int:
    """A process's peak RSS (VmHWM, reset at exec, unlike wait4's, which counts the parent's), 0 unknown."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) if found else 0


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, user and system (/proc/PID/stat), 0 unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
