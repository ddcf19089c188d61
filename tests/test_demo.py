"""The README's first command: `zwcrawl demo` archives the shipped copy of the site, and its hints work."""

from __future__ import annotations

import contextlib
import json
import shlex
import sqlite3
from pathlib import Path

from conftest import zwcrawl

EXPECTED = Path(__file__).resolve().parent / "fixtures" / "zwsite" / "expected"
ARTICLES = {
    (d["edition"], d["article_id"])
    for d in (json.loads(p.read_text()) for p in EXPECTED.glob("*/*.json"))
    if d.get("is_article")
}


def _query(db: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


def test_demo_archives_the_shipped_site_and_its_hints_run(tmp_path):
    archive = tmp_path / "archive"
    first = zwcrawl("demo", "--archive", archive)
    assert first.returncode == 0, first.stderr
    assert "crawl 1 finished" in first.stdout and "Try next:" in first.stdout
    db = archive / "zwcrawl.db"
    assert set(_query(db, "select edition, article_id from articles")) == ARTICLES
    hints = [
        shlex.split(line.split("   (")[0])
        for line in first.stdout.splitlines()
        if line.strip().startswith("zwcrawl ") and " demo" not in line
    ]
    assert [h[1] for h in hints] == ["search", "search", "verify"]
    for hint in hints:
        run = zwcrawl(*hint[1:])
        assert run.returncode == 0 and run.stdout.strip(), (hint, run.stderr)

    again = zwcrawl("demo", "--archive", archive)
    assert again.returncode == 0, again.stderr
    assert "crawl 2 finished" in again.stdout and " 0 new articles" in again.stdout
    assert _query(db, "select count(*) from captures where record_type = 'revisit'")[0][0] > 0
