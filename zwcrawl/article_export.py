"""Articles out of the archive as JSON Lines or CSV, streamed, written under a temporary name first."""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO, Literal

from zwcrawl.store import DB_NAME, ArticleFilter, Store

Format = Literal["jsonl", "csv"]

_COUNTERS = ("likes", "dislikes", "comments_count")
_LISTS = ("authors", "translators", "images", "comments")


class ExportError(Exception):
    """The export cannot be written where asked; the message is one line for the user."""


def export_articles(archive_dir: Path, output: str, fmt: Format, filters: ArticleFilter) -> int:
    """Write the articles the filter admits to `output` (a path, or - for stdout); return how many."""
    with (
        Store(archive_dir / DB_NAME, read_only=True) as store,
        _opened(output, newline="" if fmt == "csv" else None) as stream,
        closing(store.iter_articles(filters)) as articles,  # its cursor goes before the store closes
    ):
        if fmt == "jsonl":
            return _write_jsonl(articles, stream)
        return _write_csv(articles, list(store.db["articles"].columns_dict), stream)


def _write_jsonl(articles: Iterator[dict], stream: IO[str]) -> int:
    count = 0
    for article in articles:
        stream.write(json.dumps(_nested(article), ensure_ascii=False) + "\n")
        count += 1
    return count


def _nested(article: dict) -> dict:
    """One JSONL record: the article's columns, its lists as lists, its latest counters as one object."""
    record = {name: value for name, value in article.items() if name not in _COUNTERS}
    if record.get("with_agencies") is not None:
        record["with_agencies"] = bool(record["with_agencies"])
    record["counters"] = {name: article[name] for name in _COUNTERS} | {"observed_at": article["last_seen"]}
    return record


def _write_csv(articles: Iterator[dict], columns: list[str], stream: IO[str]) -> int:
    writer = csv.writer(stream)
    writer.writerow([*columns, *_LISTS])
    count = 0
    for article in articles:
        writer.writerow([*(article[name] for name in columns), *_flat_lists(article)])
        count += 1
    return count


def _flat_lists(article: dict) -> list[str]:
    """The lists as CSV cells, their items joined with "; ": names, image URLs, comment texts."""
    return [
        "; ".join(article["authors"]),
        "; ".join(article["translators"]),
        "; ".join(image["url"] for image in article["images"]),
        "; ".join(" ".join((comment["text"] or "").split()) for comment in article["comments"]),
    ]


def check_output(output: str) -> None:
    """ExportError unless `output` is - or a file name in a directory that exists."""
    if output == "-":
        return
    path = Path(output)
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a directory")
    if not path.parent.is_dir():
        raise ExportError(f"cannot write {path}: the directory {path.parent} does not exist")


@contextmanager
def _opened(output: str, newline: str | None) -> Iterator[IO[str]]:
    """stdout for -, else a temporary file beside `output` renamed into place once whole."""
    if output == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    check_output(output)
    path = Path(output)
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would hide the export from its readers
        os.replace(temporary, path)
    except BaseException:
        # An interrupted export leaves nothing under the final name, and no half file beside it.
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
