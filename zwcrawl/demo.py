"""The demo: serve the copy of the site shipped with zwcrawl, and say what a crawl of it archived."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from zwcrawl.mirror import MirrorError, MirrorServer
from zwcrawl.store import DB_NAME, leaving_no_sidecars, read_only_uri

DEMO_SITE = Path(__file__).resolve().parent / "demo_site"
# Fixed ports make a second demo revisit the same URLs (and so write revisit records); any free port will do.
DEMO_PORTS = {"en": 8401, "ar": 8402}


def serve_demo_site() -> MirrorServer:
    """A started mirror of the demo copy, on the demo ports when they are free."""
    try:
        return MirrorServer(DEMO_SITE, ports=DEMO_PORTS).start()
    except MirrorError:
        return MirrorServer(DEMO_SITE, ports={"en": 0, "ar": 0}).start()


def demo_report(archive: Path) -> str:
    """What the archive now holds, and what to try next."""
    db = archive / DB_NAME
    with leaving_no_sidecars(db), contextlib.closing(sqlite3.connect(read_only_uri(db), uri=True)) as conn:
        per_edition = conn.execute(
            "select edition, count(*) from articles group by edition order by edition"
        ).fetchall()
        latest = conn.execute(
            "select edition, article_id, published, headline from articles order by published desc limit 5"
        ).fetchall()
        captures = conn.execute("select record_type, count(*) from captures group by record_type").fetchall()
    lines = ["", "The archive holds:"]
    lines += [f"  {count} {edition} articles" for edition, count in per_edition]
    lines += [f"  {count} {kind} records" for kind, count in captures]
    lines += ["", "Newest articles:"]
    lines += [
        f"  {edition}/{article_id}  {published}  {headline}"
        for edition, article_id, published, headline in latest
    ]
    lines += [
        "",
        "Try next:",
        f'  sqlite-utils {db} "select edition, article_id, headline, likes, dislikes from articles"',
        f"  zwcrawl search --archive {archive} Damascus",
        f"  zwcrawl search --archive {archive} حجر",
        f"  zwcrawl verify --archive {archive}",
        f"  warcio check {archive}/warc/*.warc.gz",
        f"  zwcrawl demo --archive {archive}"
        "   (again: only what is new is fetched; unchanged listings become revisits)",
    ]
    return "\n".join(lines)
