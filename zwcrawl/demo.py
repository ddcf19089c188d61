"""The demo: serve the copy of the site shipped with zwcrawl, and say what a crawl of it archived."""

from __future__ import annotations

from pathlib import Path

from zwcrawl.mirror import MirrorError, MirrorServer
from zwcrawl.store import DB_NAME, Store

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
    with Store(db, read_only=True) as store:
        per_edition = [
            (row["edition"], row["n"])
            for row in store.db.query(
                "select edition, count(*) n from articles group by edition order by edition"
            )
        ]
        latest = [
            (row["edition"], row["article_id"], row["published"], row["headline"])
            for row in store.db.table("articles").rows_where(
                select="edition, article_id, published, headline", order_by="published desc", limit=5
            )
        ]
        captures = [
            (row["record_type"], row["n"])
            for row in store.db.query("select record_type, count(*) n from captures group by record_type")
        ]
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
