"""CDXJ indexes for replay tools (pywb): one per WARC file beside it, and a merged, sorted `index.cdxj`."""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import IO

MERGED_INDEX = "index.cdxj"
# Request and metadata records are left out: a replay tool looks a URL up and must find its response
# (or revisit), not the JSON of what was extracted from it at the same second.
INDEXED_RECORDS = "response,revisit,resource"
# A server-not-modified revisit holds the 304's headers, and pywb replays those as they are: an empty 304 at
# that time. Left out of the index (as the Internet Archive's CDX writer leaves 304s out), a replay asking for
# that time gets the nearest full capture, the page the 304 confirmed. The WARC record itself stays.
_NOT_MODIFIED = '"mime": "warc/revisit", "status": "304"'


def index_path(warc_path: Path) -> Path:
    """The per-file index of a WARC file: `name.cdxj` beside `name.warc.gz`."""
    name = warc_path.name
    for suffix in (".warc.gz", ".warc"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return warc_path.with_name(name + ".cdxj")


def index_warc(warc_path: Path, lines: Iterable[str] | None = None) -> Path:
    """Write the sorted CDXJ index of one WARC file beside it (replacing any older one); returns its path.

    `lines`: the file's lines made as it was written (`IndexLines`), if known; else the file is read back.
    """
    warc_path = Path(warc_path)
    with _replacing(index_path(warc_path)) as out:
        kept = _Lines(out)
        if lines is None:
            _read_back(warc_path, kept)
        else:
            # As cdxj_indexer's sorting writer hands its lines on: sorted, a line repeated written once.
            last = None
            for line in sorted(lines):
                if line != last:
                    kept.write(line)
                last = line
        kept.flush()
    return index_path(warc_path)


def _read_back(warc_path: Path, out: _Lines) -> None:
    """Index a WARC file by reading it back with cdxj_indexer."""
    # Imported here, only when a file's lines are not in hand (recovery, imports, copies): cdxj_indexer brings
    # surt, tldextract, requests and pyamf (with pkg_resources), 9 MB and 0.3 s a crawl need not carry.
    from cdxj_indexer.main import CDXJIndexer

    # filename= pins the field to the bare file name, whatever path we were given.
    CDXJIndexer(
        output=out,
        inputs=[str(warc_path)],
        sort=True,
        records=INDEXED_RECORDS,
        filename=warc_path.name,
    ).process_all()


class _Lines:
    """The index file as the indexer writes it, less the lines of server-not-modified revisits."""

    def __init__(self, out):
        self._out, self._partial = out, ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        self._out.writelines(line + "\n" for line in lines if _NOT_MODIFIED not in line)
        return len(text)

    def flush(self) -> None:
        if self._partial and _NOT_MODIFIED not in self._partial:
            self._out.write(self._partial)
        self._partial = ""
        self._out.flush()


def merge_indexes(warc_dir: Path) -> Path:
    """Merge every per-file index in a WARC directory into one sorted `index.cdxj`; returns its path."""
    warc_dir = Path(warc_dir)
    # is_file(): a pipe named *.cdxj would block the merge for ever.
    sources = sorted(p for p in warc_dir.glob("*.cdxj") if p.name != MERGED_INDEX and p.is_file())
    with ExitStack() as stack, _replacing(warc_dir / MERGED_INDEX) as out:
        inputs = [stack.enter_context(open(p, encoding="utf-8")) for p in sources]
        last = None
        for line in heapq.merge(*inputs):
            if not line.endswith("\n"):
                line += "\n"
            if line != last:
                out.write(line)
            last = line
    return warc_dir / MERGED_INDEX


@contextmanager
def _replacing(target: Path) -> Iterator[IO[str]]:
    """A text file written under a temporary name, synced, then renamed onto `target`; removed if it fails."""
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        # A half index (the disk filled, say) must not keep the space, nor be taken for one.
        with suppress(OSError):
            temporary.unlink()
        raise
