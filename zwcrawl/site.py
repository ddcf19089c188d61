"""The site model: Zaman al-Wasl's editions, hosts, URL kinds and canonical URLs (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

EDITIONS = ("en", "ar")

# The origin each edition is archived under: article rows keep these canonical URLs.
ORIGINS = {"en": "https://en.zamanalwsl.net", "ar": "https://www.zamanalwsl.net"}

# Every host spelling seen for each edition; the Arabic edition answers on the bare domain too.
_HOSTS = {
    "en.zamanalwsl.net": "en",
    "www.zamanalwsl.net": "ar",
    "zamanalwsl.net": "ar",
}

# Kinds a crawler may request; every other kind (votes, forms, search, print, captcha) is never fetched.
FETCHABLE_KINDS = frozenset({"home", "robots", "article", "listing", "feed"})

_PATTERNS = [
    # Order matters: a vote link is also an article path with a suffix.
    ("vote", re.compile(r"^/news/article/(?P<id>\d+)/(?P<vote>like|dislike)/?$", re.I)),
    ("article", re.compile(r"^/news/article/(?P<id>\d+)/?$", re.I)),
    ("listing", re.compile(r"^/news/articles/(?P<section>\d+)(?:/(?P<page>\d+))?/?$", re.I)),
    ("feed", re.compile(r"^/news/rss/(?P<feed>\d+)/?$", re.I)),
    ("search", re.compile(r"^/news/search", re.I)),
    ("print", re.compile(r"^/news/print/", re.I)),
    ("comment", re.compile(r"^/news/comment/", re.I)),
    ("captcha", re.compile(r"^/captcha/", re.I)),
    ("robots", re.compile(r"^/robots\.txt$", re.I)),
    ("image", re.compile(r"^/(?:customimage|uploads)/", re.I)),
    ("home", re.compile(r"^/?(?:index\.html?)?$", re.I)),
]

# Ids the archive stores must fit SQLite's INTEGER (a signed 64-bit number); a longer "id" names nothing.
_MAX_ID = 2**63 - 1
_IDS = frozenset(("id", "section", "page", "feed"))

# The live feed writes enclosures as "https://www.zamanalwsl.netuploads//x.jpg": a slash lost after the host.
_SLASHES = re.compile(r"/{2,}")  # doubled slashes, folded to one
_GLUED_HOST = re.compile(r"^(https?:)?(//)?((?:[a-z0-9-]+\.)*zamanalwsl\.net)(?=[a-z0-9_])(?!:)", re.I)


@dataclass(frozen=True)
class SiteUrl:
    """What a URL on one of the editions is: its kind and the ids in its path."""

    kind: str
    edition: str
    path: str  # %-escapes decoded and slashes folded: what the kind was read from
    article_id: int | None = None
    section_id: int | None = None
    page: int | None = None
    feed_id: int | None = None
    # The path as the link spelled it and its query: an image's URL is these, never the decoded path.
    raw_path: str = ""
    query: str = ""

    @property
    def canonical(self) -> str:
        """The URL on the real origin that names this resource, articles without a trailing slash."""
        if self.kind == "article":
            return article_url(self.edition, self.article_id)
        if self.kind == "listing":
            return listing_url(self.edition, self.section_id, self.page or 1)
        if self.kind == "feed":
            return feed_url(self.edition, self.feed_id)
        if self.kind == "home":
            return ORIGINS[self.edition] + "/"
        path = _SLASHES.sub("/", self.raw_path) if self.raw_path else self.path
        return ORIGINS[self.edition] + path + (f"?{self.query}" if self.query else "")


def article_url(edition: str, article_id: int) -> str:
    """The canonical URL of an article."""
    return f"{ORIGINS[edition]}/news/article/{article_id}"


def listing_url(edition: str, section_id: int, page: int = 1) -> str:
    """The URL of one page of a section listing (page 1 is the newest)."""
    return f"{ORIGINS[edition]}/news/articles/{section_id}/{page}"


def feed_url(edition: str, feed_id: int) -> str:
    """The URL of a section RSS feed."""
    return f"{ORIGINS[edition]}/news/rss/{feed_id}/"


def edition_of_host(host: str | None) -> str | None:
    """The edition a host name belongs to, or None for any other host."""
    if not host:
        return None
    return _HOSTS.get(host.lower().rstrip(".").split(":")[0])


def repair_url(href: str | None, base: str | None = None) -> str | None:
    """Make a link absolute, mending the feed's glued host and protocol-relative spellings; None if no URL.

    The one place links are joined: a link urllib cannot split (`http://[photo]/x.jpg`, a bad port) or a
    base it cannot split gives None instead of the ValueError that would cost the whole page.
    """
    if not isinstance(href, str):
        return None
    href = href.strip().replace("\\", "/")
    glued = _GLUED_HOST.match(href)
    if glued:
        scheme = glued.group(1) or "https:"
        href = f"{scheme}//{glued.group(3)}/" + _SLASHES.sub("/", href[glued.end() :])
    try:
        if base:
            href = urljoin(base, href)
        elif href.startswith("//"):
            href = "https:" + href
        urlsplit(href).port  # noqa: B018 - raises ValueError on a bracketed host or port urllib refuses
    except ValueError:
        return None
    return href


def _clean_path(path: str) -> str:
    # Decode %-escapes and fold doubled slashes so "/news//article/1/%6Cike" is still seen as a vote link.
    path = unquote(unquote(path))
    if "//" in path:
        path = _SLASHES.sub("/", path)
    return path or "/"


def classify(url: str | None) -> SiteUrl | None:
    """Classify an absolute URL on a real Zaman al-Wasl host; None when it is elsewhere (or no URL at all)."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    edition = edition_of_host(parts.hostname)
    if edition is None or port not in (None, 80, 443):
        return None
    return classify_path(edition, parts.path, parts.query)


def classify_path(edition: str, path: str, query: str = "") -> SiteUrl:
    """Classify a path (and the query after it) on an edition's host."""
    raw_path, path = path, _clean_path(path)
    for kind, pattern in _PATTERNS:
        m = pattern.match(path)
        if not m:
            continue
        ids = {name: int(value) for name, value in m.groupdict().items() if name in _IDS and value}
        # A vote link stays a vote link whatever its number, so it is never fetched; a page whose number
        # the archive cannot store (20 digits) is no page of the site.
        if kind != "vote" and any(value > _MAX_ID for value in ids.values()):
            break
        return SiteUrl(
            kind=kind,
            edition=edition,
            path=path,
            article_id=ids.get("id"),
            section_id=ids.get("section"),
            page=ids.get("page", 1 if kind == "listing" else None),
            feed_id=ids.get("feed"),
            raw_path=raw_path,
            query=query,
        )
    return SiteUrl(kind="other", edition=edition, path=path, raw_path=raw_path, query=query)


def canonical_article_url(url: str | None) -> str | None:
    """The canonical URL of an article for any spelling of it, or None if the URL is not an article."""
    site_url = classify(repair_url(url))
    return site_url.canonical if site_url and site_url.kind == "article" else None


class Sites:
    """Where each edition is fetched from: its real origin, or a copy such as http://127.0.0.1:8001."""

    def __init__(self, bases: dict[str, str] | None = None):
        self.bases: dict[str, str] = {}
        for edition, base in (bases or {}).items():
            self.bases[edition] = _check_base(edition, base)

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...]) -> Sites:
        """Read `EDITION=BASE_URL` options; ValueError with a one-line reason when one is malformed."""
        bases: dict[str, str] = {}
        for spec in specs:
            edition, sep, base = spec.partition("=")
            if not sep or not base:
                raise ValueError(f"--site {spec!r}: expected EDITION=BASE_URL, e.g. en=http://127.0.0.1:8001")
            bases[edition.strip()] = base.strip()
        return cls(bases)

    def base(self, edition: str) -> str:
        """The origin this edition is fetched from."""
        return self.bases.get(edition, ORIGINS[edition])

    def to_fetch(self, real_url: str, site_url: SiteUrl | None = None) -> str:
        """The URL to request for a URL on the real origin (unchanged when no copy stands in for it);
        `site_url` is what classify() made of it, when the caller has it already."""
        site_url = site_url or classify(real_url)
        if site_url is None or site_url.edition not in self.bases:
            return real_url
        parts = urlsplit(real_url)
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.bases[site_url.edition] + tail

    def to_real(self, url: str) -> str | None:
        """The real-origin URL for a URL fetched from a copy or the real site; None outside the editions."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        for edition, base in self.bases.items():
            if origin == base.lower():
                tail = parts.path or "/"
                return ORIGINS[edition] + tail + (f"?{parts.query}" if parts.query else "")
        return url if classify(url) else None

    def classify(self, url: str) -> SiteUrl | None:
        """Classify a URL on either the real origins or the copies standing in for them."""
        real = self.to_real(url)
        return classify(real) if real else None

    def redirect_away(self, url: str, location: str) -> str | None:
        """Where an article page's redirect points when that is not the same article (real origin when the
        site's); None for another spelling of the article itself (a trailing slash, http -> https)."""
        here = self.classify(url)
        target = repair_url(location, base=url)
        real = (self.to_real(target) or target) if target else None
        there = classify(real) if real else None
        if (
            here
            and there
            and there.kind == "article"
            and (there.edition, there.article_id)
            == (
                here.edition,
                here.article_id,
            )
        ):
            return None
        return real or location


def _check_base(edition: str, base: str) -> str:
    if edition not in EDITIONS:
        raise ValueError(f"unknown edition {edition!r}: choose from {', '.join(EDITIONS)}")
    try:
        parts = urlsplit(base)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError(f"--site {edition}={base}: not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"--site {edition}={base}: expected an origin such as http://127.0.0.1:8001")
    return f"{parts.scheme}://{parts.netloc}".lower()
