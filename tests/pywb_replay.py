"""pywb as an archivist runs it: a collection made with wb-manager, served by `wayback` on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass
class Replayed:
    """One answer of pywb: status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Pywb:
    """A pywb root in `root`; each collection made by `wb-manager init` while it runs, as pywb allows."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._process: subprocess.Popen | None = None
        self.port = 0
        self._made = 0

    def add(self, *warcs: Path) -> str:
        """A new collection filled by `wb-manager add`: pywb copies the files and indexes every record."""
        name = self._new_collection()
        _run(BIN / "wb-manager", "add", name, *warcs, cwd=self.root)
        return name

    def add_wacz(self, wacz: Path) -> str:
        """A new collection from a WACZ (`wb-manager add --unpack-wacz`): its WARC files and its index."""
        name = self._new_collection()
        _run(BIN / "wb-manager", "add", "--unpack-wacz", name, wacz, cwd=self.root)
        if not any((self.root / "collections" / name / "archive").iterdir()):
            raise RuntimeError(f"pywb took nothing from {wacz}")
        return name

    def use_index(self, index: Path, warcs: list[Path]) -> str:
        """A new collection serving `warcs` through a given CDXJ index (zwcrawl's own, or a WACZ's)."""
        name = self._new_collection()
        collection = self.root / "collections" / name
        for warc in warcs:
            shutil.copy(warc, collection / "archive" / warc.name)
        shutil.copy(index, collection / "indexes" / "index.cdxj")
        return name

    def _new_collection(self) -> str:
        self._made += 1
        name = f"c{self._made}"
        _run(BIN / "wb-manager", "init", name, cwd=self.root)
        return name

    def start(self) -> Pywb:
        """Run `wayback` bound to 127.0.0.1 (its default is every interface) on a free port."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        log = open(self.root / "wayback.log", "wb")  # noqa: SIM115 - closed with the process
        self._process = subprocess.Popen(
            [BIN / "wayback", "-b", "127.0.0.1", "-p", str(self.port)],
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"wayback exited: {(self.root / 'wayback.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("wayback did not start listening within 60 s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> Pywb:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def get(self, collection: str, url: str, timestamp: str = "", mode: str = "mp_") -> Replayed:
        """Replay `url` as of `timestamp` (14 digits or fewer) in `mode`: mp_ the page, id_ its bytes."""
        address = f"http://127.0.0.1:{self.port}/{collection}/{timestamp}{mode}/{url}"
        try:
            with urllib.request.urlopen(address, timeout=30) as answer:
                return Replayed(answer.status, dict(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as error:
            return Replayed(error.code, dict(error.headers.items()), error.read())


def warc_timestamp(warc_date: str) -> str:
    """A WARC-Date (2026-11-30T04:52:22Z) as pywb's 14-digit timestamp."""
    return "".join(ch for ch in warc_date if ch.isdigit())[:14]


def _run(*args: object, cwd: Path) -> None:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")
