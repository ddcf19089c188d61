"""The mirror's request log: every request received, in memory and as JSON lines in a file."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class LoggedRequest:
    """One request as the mirror received and answered it (status None: closed without an answer)."""

    edition: str
    method: str
    path: str
    headers: dict[str, str]
    status: int | None
    bytes_sent: int
    time: str
    origin: str
    robots_allowed: bool
    faults: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> LoggedRequest:
        """A logged request read back from its JSON form."""
        return cls(**data)


class RequestLog:
    """Append-only, thread-safe; each entry is flushed to the file at once so another process can read it."""

    def __init__(self, path: Path | None = None):
        self.entries: list[LoggedRequest] = []
        self.path = Path(path) if path else None
        self._lock = threading.Lock()

    def add(self, entry: LoggedRequest) -> None:
        """Record one request."""
        with self._lock:
            self.entries.append(entry)
            if self.path:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")


def read_request_log(path: Path | str) -> list[LoggedRequest]:
    """The requests a mirror logged to a file (a half-written last line, from a killed run, is skipped)."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            entries.append(LoggedRequest.from_dict(json.loads(line)))
        except (ValueError, TypeError):
            continue
    return entries
