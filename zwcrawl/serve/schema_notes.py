"""The archive's own description of itself: the `--` comments of its DDL, read back from sqlite_master."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

# `name TYPE ... -- comment` on one line (the house style), or `name TYPE /* comment */` (the only kind of
# comment ALTER TABLE ADD COLUMN keeps: a trailing `--` would swallow the closing bracket in sqlite_master).
_LINE_NOTE = re.compile(r'^[\s,(]*"?(\w+)"?\s[^\n]*?--\s*(.+?)\s*$', re.MULTILINE)
_BLOCK_NOTE = re.compile(r'(?:^|[,(])\s*"?(\w+)"?\s[^,/]*?/\*\s*(.+?)\s*\*/', re.MULTILINE)
# The comment on the CREATE line describes the table or view itself.
_HEAD_NOTE = re.compile(r"^\s*CREATE\s[^\n]*?--\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_SOURCES = re.compile(r"\b(?:FROM|JOIN)\s+\"?(\w+)", re.IGNORECASE)


@dataclass
class TableNotes:
    """A table's or view's description and its columns' descriptions, in column order."""

    name: str
    kind: str  # table | view
    description: str | None
    columns: dict[str, str | None] = field(default_factory=dict)


def schema_notes(conn: sqlite3.Connection) -> list[TableNotes]:
    """Every table and view of the database, described by the comments in its CREATE statement."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view') AND sql IS NOT NULL"
        " ORDER BY rowid"
    ).fetchall()
    notes = {}
    for kind, name, sql in rows:
        # table_xinfo: generated columns too (articles.facets), as Datasette lists them; not a virtual table's
        # hidden ones (hidden = 1).
        columns = [row[1] for row in conn.execute(f'PRAGMA table_xinfo("{name}")') if row[6] != 1]
        head = _HEAD_NOTE.match(sql)
        found = {m[0]: m[1] for m in _BLOCK_NOTE.findall(sql)} | {m[0]: m[1] for m in _LINE_NOTE.findall(sql)}
        notes[name] = TableNotes(
            name, kind, head.group(1) if head else None, {c: found.get(c) for c in columns}
        )
    # A view's column keeps the description of the column of the same name in the tables it reads.
    for kind, name, sql in rows:
        if kind != "view":
            continue
        sources = [notes[s] for s in _SOURCES.findall(sql) if s in notes]
        for column, description in notes[name].columns.items():
            if description is None:
                notes[name].columns[column] = next(
                    (s.columns[column] for s in sources if s.columns.get(column)), None
                )
    return list(notes.values())
