"""The files of a saved site copy (zwsite layout, optionally layered) and the pages generated beside them."""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Sequence
from html import escape
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.robotparser import RobotFileParser

from zwcrawl.site import ORIGINS

# The directory of each edition in a saved copy: the host name of its real origin.
HOST_DIRS = {edition: urlsplit(origin).hostname for edition, origin in ORIGINS.items()}

_CHARSET = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_CHARSET_TEXT = re.compile(r"""((?:charset|encoding)\s*=\s*["']?)[A-Za-z0-9_.:-]+""", re.I)
_MAX_LAYERS = 8


class MirrorError(Exception):
    """A mirror that cannot be set up: a missing site, a bad faults file, a port in use."""


class SiteFiles:
    """Find the file behind a URL path in one or more site roots, first root first."""

    def __init__(self, roots: Path | str | Sequence[Path | str]):
        given = [roots] if isinstance(roots, (str, Path)) else list(roots)
        if not given:
            raise MirrorError("no site directory given")
        self.roots: list[Path] = []
        for root in given:
            self._add_root(Path(root))

    def _add_root(self, root: Path) -> None:
        root = root.resolve()
        if not root.is_dir():
            raise MirrorError(f"no such site directory: {root}")
        if root in self.roots:
            return
        if len(self.roots) >= _MAX_LAYERS:
            raise MirrorError(f"{root}: more than {_MAX_LAYERS} layered site directories")
        self.roots.append(root)
        # A copy may be a small overlay on another copy: faults.json names it as "extends".
        base = self.config(root).get("extends")
        if base:
            self._add_root(root / base)

    @staticmethod
    def config(root: Path) -> dict:
        """The faults.json of one root, or {} when it has none."""
        path = root / "faults.json"
        if not path.is_file():
            return {}
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MirrorError(f"{path}: not readable JSON: {exc}") from None
        if not isinstance(config, dict):
            raise MirrorError(f"{path}: expected a JSON object keyed by edition")
        return config

    def editions(self) -> list[str]:
        """The editions that have a host directory in some root."""
        return [ed for ed, host in HOST_DIRS.items() if any((r / host).is_dir() for r in self.roots)]

    def find(self, edition: str, raw_path: str) -> Path | None:
        """The file serving a request path (query ignored), or None; never a file outside the roots."""
        segments = _segments(raw_path)
        if segments is None:
            return None
        rel = "/".join(segments)
        candidates = [rel + ".html", rel + ".xml", rel, rel + "/index.html"] if rel else ["index.html"]
        for root in self.roots:
            host_dir = root / HOST_DIRS[edition]
            for candidate in candidates:
                path = (host_dir / candidate).resolve()
                if path.is_file() and path.is_relative_to(host_dir.resolve()):
                    return path
        return None

    def robots(self, edition: str) -> RobotFileParser:
        """The edition's robots.txt rules (allow-all when there is none)."""
        parser = RobotFileParser()
        path = self.find(edition, "/robots.txt")
        parser.parse(path.read_text(encoding="utf-8", errors="replace").splitlines() if path else [])
        return parser


def _segments(raw_path: str) -> list[str] | None:
    # Only origin-form targets ("/news/..."): an absolute URL or a dot segment, encoded or not, is refused.
    path = urlsplit(raw_path).path if raw_path.startswith("/") else None
    if path is None:
        return None
    segments = [s for s in unquote(path).split("/") if s]
    if any(s in (".", "..") or "\\" in s or "\0" in s for s in segments):
        return None
    return segments


def content_type(path: Path, body: bytes) -> tuple[str, str | None]:
    """The media type of a served file and the charset it declares (None for binary files)."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        media = "text/html"
    elif suffix == ".xml":
        media = "application/rss+xml"
    elif suffix == ".txt":
        media = "text/plain"
    else:
        return mimetypes.guess_type(path.name)[0] or "application/octet-stream", None
    declared = _CHARSET.search(body[:2048])
    return media, declared.group(1).decode("ascii").lower() if declared else "utf-8"


def reencode(body: bytes, charset: str, encoding: str) -> bytes:
    """A text body re-encoded, its own charset declaration rewritten to match (old pages declare theirs)."""
    text = _CHARSET_TEXT.sub(rf"\g<1>{encoding}", body.decode(charset, errors="replace"), count=1)
    return text.encode(encoding, errors="xmlcharrefreplace")


_NOT_FOUND_TEXT = {
    "en": "Sorry, the article you requested could not be found.",
    "ar": "عذراً، الخبر الذي طلبته غير موجود.",
}
_NEXT_TEXT = {"en": ("Previous", "Next"), "ar": ("السابق", "التالي")}


def _page(edition: str, title: str, main: str) -> bytes:
    lang, direction = ("ar", "rtl") if edition == "ar" else ("en", "ltr")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n'
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        f"<title>{escape(title)}</title>\n"
        f'</head>\n<body class="{direction}">\n<div id="main"><div class="col-main">\n{main}\n</div></div>\n'
        "</body>\n</html>\n"
    ).encode()


def soft404_page(edition: str) -> bytes:
    """The site's "could not be found" page, which it serves with status 200."""
    main = f'<div class="news-details"><div class="not-found">{escape(_NOT_FOUND_TEXT[edition])}</div></div>'
    return _page(edition, "Zaman Al Wasl", main)


def empty_listing_page(edition: str, section_id: int, page: int) -> bytes:
    """A listing page past the section's end that still offers "Next" (the trap of an endless pager)."""
    prev_text, next_text = _NEXT_TEXT[edition]
    base = f"/news/articles/{section_id}"
    pager = (
        f'<a class="prev" href="{base}/{page - 1}">{prev_text}</a> <span class="current">{page}</span> '
        f'<a class="next" href="{base}/{page + 1}">{next_text}</a>'
    )
    main = f'<div class="news-list"></div>\n<div class="pager">{pager}</div>'
    return _page(edition, "Zaman Al Wasl", main)


def status_page(status: int, reason: str) -> bytes:
    """A small HTML body for an error or redirect answer."""
    text = escape(f"{status} {reason}")
    page = f"<!DOCTYPE html>\n<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>\n"
    return page.encode()
